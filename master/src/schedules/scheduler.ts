import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { MasterConfig } from '../infra/config/master-config.js';
import type { SqlExecutor } from '../infra/db/sql.js';
import {
  checkSchedule,
  effectivePolicy,
  latestFiring,
  type Firing,
  type ScopedPolicy,
} from './backup-policy.js';
import {
  STORE_TARGET_ID,
  type FiringRow,
  type FiringsRepository,
  type NewFiring,
  type OpenFiring,
} from './firings.repository.js';

/** How often the master looks at its schedules (node-cron, six fields: every 15 seconds). */
const TICK_EXPRESSION = '*/15 * * * * *';
/** Open firings looked at per tick; the rest wait for the next one. */
const OPEN_BATCH = 500;

export interface SchedulerDependencies {
  firings: Pick<
    FiringsRepository,
    'siteSchedules' | 'record' | 'expire' | 'open' | 'scheduledLoad' | 'start'
  >;
  policies: { rules(): Promise<ScopedPolicy[]> };
  /**
   * Queues what a firing starts, inside the firing's transaction (the task's INSERT and the claim
   * commit together); null when there is nothing to start (the site is no longer enabled).
   */
  backups: { start(siteId: string, executor: SqlExecutor): Promise<{ id: string } | null> };
  /** The store's collector, on a cron expression of its own in UTC (absent: not scheduled here). */
  storeGc?: { schedule: string; start(executor: SqlExecutor): Promise<{ id: string } | null> };
  /** Wakes the task engine once tasks were queued. */
  wake(): void;
  /** Told of each firing missed (its window closed before it could start). */
  missed?(firing: FiringRow): void;
  config: Pick<MasterConfig, 'scheduledPerServer'>;
  logger: Logger;
}

/** What one pass did (the bench and the tests read it). */
export interface TickReport {
  sites: number;
  recorded: number;
  missed: number;
  started: number;
  /** Open firings left waiting because their servers had their share of scheduled tasks. */
  deferred: number;
}

/**
 * Starts scheduled work when it is due: each pass records the latest due time of every enabled
 * site's backup schedule (and of the store's collector) as a firing row, marks missed those whose
 * window closed, and starts the open ones, at most `scheduledPerServer` scheduled tasks per server
 * at a time. The database decides everything, so a master that was down catches up when it is
 * back and several masters start each firing once; what this process keeps is only a cache.
 */
export class Scheduler {
  /** The due time already recorded per target: a pass skips what the database has. */
  private readonly recorded = new Map<string, number>();
  private task: ScheduledTask | undefined;
  private running: Promise<TickReport> | undefined;
  /** The collector catches up on nothing from before this process: it is housekeeping, not a promise. */
  private readonly since = new Date();

  constructor(private readonly deps: SchedulerDependencies) {
    if (deps.storeGc) {
      const gc = checkSchedule(deps.storeGc.schedule);
      if (!gc.ok) throw new Error(`BERTH_STORE_GC_SCHEDULE: ${gc.message}`);
    }
  }

  start(): void {
    this.task = cron.schedule(TICK_EXPRESSION, () => this.tickNow(), { noOverlap: true });
    void this.tickNow();
  }

  async stop(): Promise<void> {
    await this.task?.stop();
    await this.task?.destroy();
    await this.running?.catch(() => undefined);
  }

  /** One pass now (a pass already running is waited for instead of overlapping). */
  async tickNow(now = new Date()): Promise<TickReport | undefined> {
    if (this.running) return this.running.catch(() => undefined);
    this.running = this.tick(now);
    try {
      return await this.running;
    } catch (error) {
      this.deps.logger.error({ err: error }, 'a scheduler pass failed; the next one tries again');
      return undefined;
    } finally {
      this.running = undefined;
    }
  }

  private async tick(now: Date): Promise<TickReport> {
    const { firings, logger } = this.deps;
    const [sites, policies] = await Promise.all([firings.siteSchedules(), this.deps.policies.rules()]);
    const due: NewFiring[] = [];
    // Sites on one server under one policy share their due time: computed once per pair.
    const byRule = new Map<string, Firing | null>();
    for (const site of sites) {
      const policy = effectivePolicy(policies, { id: site.siteId, clientId: site.clientId });
      if (!policy?.schedule) continue;
      const key = `${policy.id}|${site.timeZone}`;
      let firing = byRule.get(key);
      if (firing === undefined) {
        firing = latestFiring(policy, site.timeZone, now);
        byRule.set(key, firing);
      }
      // A due time from before the site existed is not its own.
      if (!firing || firing.dueAt < site.createdAt) continue;
      if (this.recorded.get(`backup:${site.siteId}`) === firing.dueAt.getTime()) continue;
      due.push({ kind: 'backup', targetId: site.siteId, policyId: policy.id, ...firing });
    }
    const gc = this.deps.storeGc
      ? latestFiring({ schedule: this.deps.storeGc.schedule, window: null, keep: NO_KEEP }, 'UTC', now)
      : null;
    if (
      gc &&
      gc.dueAt >= this.since &&
      this.recorded.get(`store-gc:${STORE_TARGET_ID}`) !== gc.dueAt.getTime()
    ) {
      due.push({ kind: 'store-gc', targetId: STORE_TARGET_ID, policyId: null, ...gc });
    }
    const recorded = await firings.record(due, now);
    for (const firing of due) this.recorded.set(`${firing.kind}:${firing.targetId}`, firing.dueAt.getTime());

    const missed = [...recorded.missed, ...(await firings.expire(now))];
    for (const firing of missed) {
      logger.warn(
        { kind: firing.kind, targetId: firing.targetId, dueAt: firing.dueAt },
        'a scheduled job was missed: its window closed before it could start',
      );
      this.deps.missed?.(firing);
    }

    const { started, deferred } = await this.startOpen(now);
    if (started > 0) this.deps.wake();
    const report = {
      sites: sites.length,
      recorded: recorded.waiting,
      missed: missed.length,
      started,
      deferred,
    };
    if (started > 0 || missed.length > 0) logger.info(report, 'scheduler pass');
    return report;
  }

  /** Starts open firings while their servers have room for scheduled work. */
  private async startOpen(now: Date): Promise<{ started: number; deferred: number }> {
    const { firings, config } = this.deps;
    const open = await firings.open(now, OPEN_BATCH);
    if (open.length === 0) return { started: 0, deferred: 0 };
    const load = await firings.scheduledLoad();
    let started = 0;
    let deferred = 0;
    for (const firing of open) {
      const servers = [...new Set(firing.serverIds)];
      if (servers.some((server) => (load.get(server) ?? 0) >= config.scheduledPerServer)) {
        deferred++;
        continue;
      }
      const taskId = await firings.start(firing.id, (executor) => this.startTask(firing, executor));
      if (taskId === null) continue;
      started++;
      for (const server of servers) load.set(server, (load.get(server) ?? 0) + 1);
    }
    return { started, deferred };
  }

  private startTask(firing: OpenFiring, executor: SqlExecutor): Promise<{ id: string } | null> {
    switch (firing.kind) {
      case 'backup':
        return this.deps.backups.start(firing.targetId, executor);
      case 'store-gc':
        return this.deps.storeGc?.start(executor) ?? Promise.resolve(null);
    }
  }
}

const NO_KEEP = { last: 0, daily: 0, weekly: 0, monthly: 0 };
