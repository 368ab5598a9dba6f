import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { NotificationEvent } from '../../../shared/src/api.js';
import { PeriodicPass } from '../infra/timers/periodic-pass.js';
import type { FiringRow } from '../schedules/firings.repository.js';
import type { ClaimedDelivery, FailedTaskRow, NotificationsRepository } from './notifications.repository.js';
import { sendWebhook, type Mail } from './senders.js';

/** What the notifier needs of the master's settings. */
export interface NotifierOptions {
  /** How often it looks for failed tasks and due deliveries. */
  pollMs: number;
  /** The wait before each retry; its length + 1 is how many attempts a delivery gets. */
  backoffMs: readonly number[];
  /** How long a failed task is looked back for when the master starts (one that was down catches up). */
  lookbackMs: number;
  /** An agent silent this long is an agent.disconnected (counted from this master's start at most). */
  agentDownMs: number;
}

/** Deliveries claimed per pass; the rest are the next pass's. */
const CLAIM_BATCH = 20;
/**
 * How long a claim holds a delivery: past the webhook's 10 s timeout and an SMTP exchange, so that
 * only a master that died mid-send lets another one try it again.
 */
const CLAIM_LEASE_MS = 60_000;
/**
 * Each look at failed tasks starts this far before the newest one it saw: a task whose finish was
 * committed after a later one's (two masters, a slow transaction) is not skipped; the unique index
 * makes the second look at the others a no-op.
 */
const RESCAN_OVERLAP_MS = 30_000;
const FAILED_BATCH = 500;

export interface NotifierDependencies {
  repository: NotificationsRepository;
  /** Opens a webhook target's sealed secret (SecretBox). */
  decrypt(sealed: string): string;
  /** Absent: BERTH_SMTP_URL is not set, and email deliveries fail with that reason. */
  mailer?: { send(mail: Mail): Promise<void> };
  options: NotifierOptions;
  logger: Logger;
  now?: () => Date;
}

/**
 * Turns failed tasks and missed schedules into deliveries, and sends them.
 *
 * Failed tasks are found by polling `tasks` rather than by a callback from the engine: a task fails
 * in many places (a workflow, an unknown workflow version, a master adopting another's run), the
 * registry is the one record of all of them, and a master that stops between a task's failure and
 * its notification finds it again when it comes back. With several masters each sees every failure;
 * the unique (target, event, subject) row makes the delivery once, and a claim sends it once.
 */
export class Notifier {
  private readonly passes: PeriodicPass;
  private cursor: Date;
  private readonly now: () => Date;
  /**
   * Agents reconnect when a master comes back: silence is counted from here at most, or every agent
   * would be reported after a master's own downtime.
   */
  private readonly startedAt: Date;

  constructor(private readonly deps: NotifierDependencies) {
    this.now = deps.now ?? (() => new Date());
    this.startedAt = this.now();
    this.cursor = new Date(this.now().getTime() - deps.options.lookbackMs);
    this.passes = new PeriodicPass(deps.options.pollMs, () => this.pass());
  }

  start(): void {
    this.passes.start();
  }

  stop(): Promise<void> {
    return this.passes.stop();
  }

  /** One pass: new failures become deliveries, then what is due is sent. Never runs twice at once. */
  tick(): Promise<void> {
    return this.passes.tick();
  }

  private async pass(): Promise<void> {
    try {
      await this.scanFailedTasks();
    } catch (error) {
      this.deps.logger.error({ err: error }, 'looking for failed tasks to notify of failed');
    }
    try {
      await this.scanSilentAgents();
    } catch (error) {
      this.deps.logger.error({ err: error }, 'looking for disconnected agents to notify of failed');
    }
    try {
      await this.deliverDue();
    } catch (error) {
      this.deps.logger.error({ err: error }, 'sending notifications failed');
    }
  }

  /** The Scheduler's `missed` callback: a scheduled job whose window closed before it could start. */
  missed(firing: FiringRow): void {
    void this.scheduleMissed(firing).catch((error: unknown) =>
      this.deps.logger.error(
        { err: error, firingId: firing.id },
        'could not record a missed-schedule notification',
      ),
    );
  }

  async scheduleMissed(firing: FiringRow): Promise<number> {
    const site = firing.kind === 'store-gc' ? undefined : await this.deps.repository.siteOf(firing.targetId);
    return this.deps.repository.enqueue({
      event: 'schedule.missed',
      subjectId: firing.id,
      clientId: site?.clientId ?? null,
      occurredAt: this.now(),
      payload: {
        event: 'schedule.missed',
        at: this.now().toISOString(),
        firing: {
          id: firing.id,
          kind: firing.kind,
          targetId: firing.targetId,
          domain: site?.domain ?? null,
          dueAt: new Date(firing.dueAt).toISOString(),
          expiresAt: new Date(firing.expiresAt).toISOString(),
        },
      },
    });
  }

  /**
   * Servers whose agent has been silent longer than `agentDownMs` (since this master started, at
   * most). One notification per outage: its subject is derived from the server and when it was last
   * seen, so every master makes the same row, and the next outage (after the agent was back) another.
   */
  async scanSilentAgents(): Promise<number> {
    const now = this.now();
    if (now.getTime() - this.startedAt.getTime() < this.deps.options.agentDownMs) return 0;
    const silent = await this.deps.repository.silentServers(
      new Date(now.getTime() - this.deps.options.agentDownMs),
    );
    let made = 0;
    for (const server of silent) {
      made += await this.deps.repository.enqueue({
        event: 'agent.disconnected',
        subjectId: outageId(server.id, server.lastSeenAt),
        clientId: null,
        occurredAt: now,
        payload: {
          event: 'agent.disconnected',
          at: now.toISOString(),
          server: {
            id: server.id,
            name: server.name,
            lastSeenAt: server.lastSeenAt.toISOString(),
            silentForMs: now.getTime() - server.lastSeenAt.getTime(),
          },
        },
      });
    }
    return made;
  }

  async scanFailedTasks(): Promise<number> {
    let made = 0;
    for (;;) {
      const tasks = await this.deps.repository.failedTasksSince(this.cursor, FAILED_BATCH);
      for (const task of tasks) {
        for (const event of eventsOf(task)) {
          made += await this.deps.repository.enqueue({
            event,
            subjectId: task.id,
            clientId: task.clientId,
            occurredAt: task.finishedAt,
            payload: {
              event,
              at: task.finishedAt.toISOString(),
              task: {
                id: task.id,
                type: task.type,
                targetKind: task.targetKind,
                targetName: task.targetName,
                error: task.error,
                errorCode: task.errorCode,
              },
            },
          });
        }
      }
      const newest = tasks.at(-1)?.finishedAt;
      if (newest) {
        const next = new Date(newest.getTime() - RESCAN_OVERLAP_MS);
        if (next > this.cursor) this.cursor = next;
      }
      if (tasks.length < FAILED_BATCH || !newest || newest <= this.cursor) return made;
      this.cursor = newest;
    }
  }

  /** Sends the due deliveries this master claimed; each attempt's outcome is in its row. */
  async deliverDue(): Promise<number> {
    const claimed = await this.deps.repository.claimDue(CLAIM_BATCH, CLAIM_LEASE_MS);
    await Promise.all(claimed.map((delivery) => this.send(delivery)));
    return claimed.length;
  }

  private async send(delivery: ClaimedDelivery): Promise<void> {
    const { repository, logger, options } = this.deps;
    const fields = { deliveryId: delivery.id, targetId: delivery.targetId, event: delivery.event };
    try {
      if (delivery.kind === 'webhook') {
        if (!delivery.url || !delivery.secretEncrypted)
          throw new Error('the webhook target has no URL or secret');
        const body = JSON.stringify(delivery.payload);
        await sendWebhook(delivery.url, this.deps.decrypt(delivery.secretEncrypted), delivery.event, body);
      } else {
        if (!this.deps.mailer) throw new Error('the master has no BERTH_SMTP_URL to send email through');
        if (!delivery.address) throw new Error('the email target has no address');
        await this.deps.mailer.send({
          to: delivery.address,
          event: delivery.event,
          ...mailOf(delivery.payload),
        });
      }
      await repository.delivered(delivery.id, delivery.attempts);
      logger.info({ ...fields, attempts: delivery.attempts }, 'notification delivered');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const retryInMs = options.backoffMs[delivery.attempts - 1] ?? null;
      await repository.attemptFailed(delivery.id, delivery.attempts, message, retryInMs);
      // The target's URL may carry a token of its own: the log names the target by id only.
      logger.warn(
        { ...fields, attempts: delivery.attempts, error: message, retryInMs },
        retryInMs === null ? 'notification given up on' : 'notification attempt failed; will retry',
      );
    }
  }
}

/**
 * A failed task is a task.failed; a failed scheduled backup is a backup.failed too, and a failed
 * restore test (asked for or scheduled) a backup.verify-failed.
 */
function eventsOf(task: FailedTaskRow): NotificationEvent[] {
  const events: NotificationEvent[] = ['task.failed'];
  if (task.type === 'site.backup' && task.params.reason === 'scheduled') events.push('backup.failed');
  if (task.type === 'site.backup-verify') events.push('backup.verify-failed');
  return events;
}

const TASK_EVENT_TITLES: Partial<Record<NotificationEvent, string>> = {
  'backup.failed': 'Scheduled backup failed',
  'backup.verify-failed': 'Backup restore test failed',
};

/** The mail of an event: its subject says what failed, its text what the task said. */
export function mailOf(payload: Record<string, unknown>): { subject: string; text: string } {
  const event = String(payload.event);
  const task = payload.task as Record<string, string | null> | undefined;
  const firing = payload.firing as Record<string, string | null> | undefined;
  const copy = payload.copy as Record<string, string | null> | undefined;
  const server = payload.server as Record<string, string | number | null> | undefined;
  if (server) {
    return {
      subject: `[Berth] Agent disconnected: ${String(server.name)}`,
      text: [
        `The agent of server ${String(server.name)} has not been heard from since ${String(server.lastSeenAt)}.`,
        'Tasks with steps on it wait for it (BERTH_AGENT_WAIT_MS), then fail; its sites keep being served by their web server if that is up.',
        '',
        `Check it with: berth server show ${String(server.name)}`,
        `At: ${String(payload.at)}`,
      ].join('\n'),
    };
  }
  if (copy) {
    return {
      subject: `[Berth] Off-site copy failed${copy.domain ? `: ${copy.domain}` : ''} to ${copy.target ?? '?'}`,
      text: [
        `A backup archive${copy.domain ? ` of ${copy.domain}` : ''} could not be copied to off-site target ${copy.target ?? '?'}; Berth gave up after its attempts.`,
        "The backup itself is in the master's store.",
        '',
        `Error: ${copy.error ?? '(none recorded)'}`,
        `Archive: ${copy.archiveId ?? '-'}`,
        `At: ${String(payload.at)}`,
      ].join('\n'),
    };
  }
  if (task) {
    const what = TASK_EVENT_TITLES[event as NotificationEvent] ?? 'Task failed';
    return {
      subject: `[Berth] ${what}: ${task.type} ${task.targetName}`,
      text: [
        `${what}: ${task.type} on ${task.targetKind} ${task.targetName}.`,
        '',
        `Error: ${task.error ?? '(none recorded)'}`,
        `Error code: ${task.errorCode ?? '-'}`,
        `Task: ${task.id} (berth task show ${task.id})`,
        `At: ${String(payload.at)}`,
      ].join('\n'),
    };
  }
  return {
    subject: `[Berth] Scheduled ${firing?.kind ?? 'job'} missed${firing?.domain ? `: ${firing.domain}` : ''}`,
    text: [
      `A scheduled ${firing?.kind ?? 'job'}${firing?.domain ? ` of ${firing.domain}` : ''} was missed: its window closed before it could start.`,
      '',
      `Due at: ${firing?.dueAt ?? '-'}`,
      `Window closed at: ${firing?.expiresAt ?? '-'}`,
      `At: ${String(payload.at)}`,
    ].join('\n'),
  };
}

/** A uuid of one outage of a server (sha256 of its id and when it was last seen), the same on every master. */
function outageId(serverId: string, lastSeenAt: Date): string {
  const hex = createHash('sha256').update(`${serverId}|${lastSeenAt.toISOString()}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
