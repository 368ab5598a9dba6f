import type { Logger } from 'pino';
import type { Heartbeat__Output } from '../../../generated/proto/berth/agent/v1/Heartbeat.js';
import type { StepLog__Output } from '../../../generated/proto/berth/agent/v1/StepLog.js';
import type { StepProgress__Output } from '../../../generated/proto/berth/agent/v1/StepProgress.js';
import { mapWithConcurrency } from '../../../shared/src/concurrency.js';
import { StepErrorCode, type StepFailure } from '../../../shared/src/errors.js';
import {
  AGENT_RECONNECT_MAX_DELAY_MS,
  type AttemptRef__Output,
  type Hello__Output,
  type StepResult__Output,
} from '../../../shared/src/protocol.js';
import type { ServiceInfo } from '../../../shared/src/steps.js';
import { isUuid } from '../../../shared/src/validation.js';
import type { AgentDirectory, AgentEvents, AgentSession } from '../agents/agent-events.js';
import type { MasterConfig } from '../infra/config/master-config.js';
import type { ServersRepository } from '../servers/servers.repository.js';
import { HeartbeatBatch, type HeartbeatWrite } from './heartbeat-batch.js';
import type { TaskLogBus } from './task-log-bus.js';
import { NO_TASK_METRICS, type AttemptOutcome, type TaskMetrics } from './task-metrics.js';
import type { DispatchableAttempt, SettledAttempt, TasksRepository } from './tasks.repository.js';
import type { TaskEntity } from './task.entity.js';
import { WorkflowRun } from './workflow-run.js';
import type { WorkflowRegistry } from './workflow.js';

/** The gateway as the engine needs it: who is connected, and a way to receive agents' events. */
export interface AgentLink extends AgentDirectory {
  attach(events: AgentEvents): void;
}

/**
 * Supplies the secrets a step needs at the moment it is sent (e.g. a site's database password from
 * the registry, decrypted), so that they are never stored with the step.
 */
export type StepSecretResolver = (attempt: DispatchableAttempt) => Promise<Record<string, string>>;

type StepWaiter = (settled: true) => void;

const TICK_MS = 250;
const DISPATCH_BATCH = 200;
/** Servers whose pending attempts are assigned at once (the registry pool has 10 connections). */
const DISPATCH_CONCURRENCY = 6;
const LAST_SEEN_WRITE_MS = 30_000;
/** How long heartbeats are gathered before their leases are renewed together. */
const HEARTBEAT_BATCH_MS = 100;

/**
 * The task engine: starts queued tasks, runs their workflows, hands steps to agents when a slot of
 * their server is free, settles results, and declares attempts lost when their agent goes silent
 * past its lease. The database holds every decision, so a restarted master carries on from it.
 */
export class TaskEngine implements AgentEvents {
  private readonly runs = new Map<string, WorkflowRun>();
  private readonly stepWaiters = new Map<string, Set<StepWaiter>>();
  /** attempt id -> where its logs and progress belong; filled at dispatch, looked up otherwise. */
  private readonly attemptOwners = new Map<string, { taskId: string; stepId: string; stepName: string }>();
  private readonly lastSeenWrites = new Map<string, number>();
  private readonly heartbeats = new HeartbeatBatch(
    (batch) => this.writeHeartbeats(batch),
    // Well inside the shortest lease the tests use.
    Math.min(HEARTBEAT_BATCH_MS, Math.floor(this.config.leaseMs / 10)),
    this.logger,
  );
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private tickAgain = false;
  private stopped = false;

  constructor(
    private readonly tasks: TasksRepository,
    private readonly servers: ServersRepository,
    private readonly link: AgentLink,
    private readonly bus: TaskLogBus,
    private readonly workflows: WorkflowRegistry,
    private readonly config: Pick<MasterConfig, 'leaseMs' | 'agentWaitMs'>,
    private readonly logger: Logger,
    readonly runnerId: string,
    private readonly secrets: StepSecretResolver = () => Promise.resolve({}),
    private readonly metrics: TaskMetrics = NO_TASK_METRICS,
  ) {}

  async start(): Promise<void> {
    this.link.attach(this);
    // After a master restart, agents get a lease plus their longest reconnect delay to come back
    // and report what they still run.
    await this.tasks.extendActiveLeases(this.config.leaseMs + AGENT_RECONNECT_MAX_DELAY_MS);
    for (const task of await this.tasks.runningTasks()) {
      this.logger.info(
        { taskId: task.id, type: task.type },
        'resuming a task that was running before the restart',
      );
      this.launch(task);
    }
    this.timer = setInterval(() => this.wake(), TICK_MS);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    await this.heartbeats.flush();
  }

  /** Runs the engine loop soon; calls made while it runs fold into one more pass. */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = this.tickLoop().finally(() => {
      this.ticking = undefined;
    });
  }

  private async tickLoop(): Promise<void> {
    do {
      this.tickAgain = false;
      try {
        await this.tick();
      } catch (error) {
        this.logger.error({ err: error }, 'task engine pass failed; retrying on the next tick');
      }
    } while (this.tickAgain && !this.stopped);
  }

  private async tick(): Promise<void> {
    for (const task of await this.tasks.startQueuedTasks(this.runnerId, 50)) {
      this.bus.publish(task.id, { kind: 'state', state: 'running' });
      this.launch(task);
    }
    await this.dispatch();
    await this.reapExpiredLeases();
    await this.failStepsWithoutAgent();
  }

  private launch(task: TaskEntity): void {
    if (this.runs.has(task.id)) return;
    const workflow = this.workflows[task.type];
    const run = new WorkflowRun(task, workflow, this.tasks, this, this.bus, this.logger, this.metrics);
    this.runs.set(task.id, run);
    void run.execute().finally(() => {
      this.runs.delete(task.id);
      this.wake();
    });
  }

  /**
   * Hands pending attempts to their agents. Servers are independent (each has its own slots), so
   * several are served at once: one after the other, a burst of steps for hundreds of agents
   * waited on one transaction per attempt. Within a server, oldest first, as before.
   */
  private async dispatch(): Promise<void> {
    const connected = this.link.connectedServerIds();
    const byServer = new Map<string, DispatchableAttempt[]>();
    for (const attempt of await this.tasks.pendingAttempts(connected, DISPATCH_BATCH)) {
      const queue = byServer.get(attempt.serverId);
      if (queue) queue.push(attempt);
      else byServer.set(attempt.serverId, [attempt]);
    }
    await mapWithConcurrency([...byServer.values()], DISPATCH_CONCURRENCY, async (attempts) => {
      for (const attempt of attempts) await this.dispatchAttempt(attempt);
    });
  }

  private async dispatchAttempt(attempt: DispatchableAttempt): Promise<void> {
    const session = this.link.session(attempt.serverId);
    if (!session) return;
    if (!(await this.tasks.assignAttempt(attempt, this.config.leaseMs))) return;
    this.attemptOwners.set(attempt.attemptId, {
      taskId: attempt.taskId,
      stepId: attempt.stepId,
      stepName: attempt.name,
    });
    const sent = session.send({
      assign: {
        ref: { stepId: attempt.stepId, attemptId: attempt.attemptId, epoch: attempt.epoch },
        taskId: attempt.taskId,
        step: attempt.name,
        paramsJson: JSON.stringify(attempt.params),
        timeoutMs: attempt.timeoutMs,
        secrets: await this.secrets(attempt),
      },
    });
    if (!sent) {
      await this.tasks.unassignAttempt(attempt.attemptId);
      return;
    }
    this.logger.debug(
      { taskId: attempt.taskId, stepId: attempt.stepId, step: attempt.name },
      'step assigned',
    );
  }

  private async reapExpiredLeases(): Promise<void> {
    const lost = await this.tasks.settleWithoutAgent(
      `a.state IN ('assigned','running') AND a.lease_expires_at < now()`,
      [],
      'lost',
      (attempt) => ({
        code: StepErrorCode.AgentLost,
        retryable: false,
        message:
          `the agent on server ${attempt.serverName} stopped answering during step ${attempt.name} ` +
          `(no heartbeat for ${Math.round(this.config.leaseMs / 1000)} s); whether the step finished there is unknown`,
      }),
    );
    for (const attempt of lost) {
      this.logger.warn(
        { taskId: attempt.taskId, stepId: attempt.stepId, step: attempt.name },
        attempt.failure.message,
      );
      this.observeAttempt(attempt, 'lost');
      // If the agent is back on another connection it must not go on with the lost attempt.
      this.link.session(attempt.serverId)?.send({
        cancel: {
          ref: { stepId: attempt.stepId, attemptId: attempt.attemptId, epoch: attempt.epoch },
          reason: 'the master declared this attempt lost (lease expired)',
        },
      });
      this.stepSettled(attempt.stepId);
    }
  }

  private async failStepsWithoutAgent(): Promise<void> {
    const connected = this.link.connectedServerIds();
    const failed = await this.tasks.settleWithoutAgent(
      `a.state = 'pending' AND NOT (a.server_id = ANY($1::uuid[]))
         AND a.created_at < now() - ($2 || ' milliseconds')::interval`,
      [connected, String(this.config.agentWaitMs)],
      'failed',
      (attempt) => ({
        code: StepErrorCode.AgentUnavailable,
        retryable: true,
        message:
          `the agent on server ${attempt.serverName} did not connect within ` +
          `${Math.round(this.config.agentWaitMs / 1000)} s to run step ${attempt.name}; start it ` +
          `(systemctl start berth-agent) and run the task again`,
      }),
    );
    for (const attempt of failed) {
      this.logger.warn(
        { taskId: attempt.taskId, stepId: attempt.stepId, step: attempt.name },
        attempt.failure.message,
      );
      this.stepSettled(attempt.stepId);
    }
  }

  /** Step durations count attempts that ran on an agent; one that was never sent has none. */
  private observeAttempt(attempt: SettledAttempt, outcome: AttemptOutcome): void {
    if (attempt.durationSeconds !== null) {
      this.metrics.attemptSettled(attempt.name, outcome, attempt.durationSeconds);
    }
  }

  // ---- what WorkflowRun needs ---------------------------------------------------------------

  /** Resolves once the step has an outcome in the database (done, failed or lost). */
  waitForStep(stepId: string): Promise<true> {
    return new Promise((resolve) => {
      let waiters = this.stepWaiters.get(stepId);
      if (!waiters) {
        waiters = new Set();
        this.stepWaiters.set(stepId, waiters);
      }
      waiters.add(resolve);
    });
  }

  /** Cancels the attempts of a task: pending ones at once, running ones through their agent. */
  async cancelAttemptsOf(taskId: string, reason: string): Promise<void> {
    const cancelled = await this.tasks.settleWithoutAgent(
      `a.task_id = $1 AND a.state = 'pending'`,
      [taskId],
      'failed',
      () => ({ code: StepErrorCode.Cancelled, retryable: false, message: reason }),
    );
    for (const attempt of cancelled) this.stepSettled(attempt.stepId);
    for (const attempt of await this.tasks.attemptsOfTask(taskId)) {
      if (attempt.state !== 'assigned' && attempt.state !== 'running') continue;
      this.link.session(attempt.serverId)?.send({
        cancel: { ref: { stepId: attempt.stepId, attemptId: attempt.id, epoch: attempt.epoch }, reason },
      });
    }
  }

  /** Cancels a task: a queued one ends at once; a running one is stopped and rolled back. */
  async cancelTask(taskId: string): Promise<void> {
    const state = await this.tasks.requestCancel(taskId);
    if (state === 'cancelled') {
      this.bus.publish(taskId, { kind: 'state', state: 'cancelled' });
      const task = await this.tasks.findTask(taskId);
      if (task) this.metrics.taskFinished(task.type, 'cancelled');
      this.logger.info({ taskId, type: task?.type }, 'task cancelled before it started');
      return;
    }
    const run = this.runs.get(taskId);
    if (run) await run.cancel();
  }

  private stepSettled(stepId: string): void {
    const waiters = this.stepWaiters.get(stepId);
    if (!waiters) return;
    this.stepWaiters.delete(stepId);
    for (const resolve of waiters) resolve(true);
  }

  // ---- AgentEvents ---------------------------------------------------------------------------

  async agentConnected(session: AgentSession, hello: Hello__Output): Promise<void> {
    await this.servers.recordHello(session.serverId, {
      services: hello.services.map((service): ServiceInfo => ({
        kind: service.kind as ServiceInfo['kind'],
        name: service.name,
        version: service.version,
        running: service.running,
        path: service.path,
      })),
      agentVersion: hello.agentVersion,
      hostname: hello.hostname || null,
    });
    this.lastSeenWrites.set(session.serverId, Date.now());

    // Results that finished while the stream was down come first, so they are not taken as lost.
    const finished = new Set<string>();
    for (const result of hello.finished) {
      if (result.ref) finished.add(result.ref.attemptId);
      await this.stepResult(session, result);
    }
    const reported = new Map(hello.running.map((ref) => [ref.attemptId, ref]));
    for (const ref of reported.values()) {
      if (
        !(await this.tasks.markAttemptRunning(
          session.serverId,
          ref.attemptId,
          ref.epoch,
          this.config.leaseMs,
        ))
      ) {
        session.send({ cancel: { ref, reason: 'the master no longer expects this step' } });
      }
    }
    const active = await this.tasks.activeAttemptsOnServer(session.serverId);
    const missing = active.filter(
      (attempt) => !reported.has(attempt.attemptId) && !finished.has(attempt.attemptId),
    );
    if (missing.length > 0) {
      const lost = await this.tasks.settleWithoutAgent(
        `a.id = ANY($1::uuid[]) AND a.state IN ('assigned','running')`,
        [missing.map((attempt) => attempt.attemptId)],
        'lost',
        (attempt) => ({
          code: StepErrorCode.AgentLost,
          retryable: false,
          message:
            `the agent on server ${session.serverName} came back without step ${attempt.name} ` +
            `(it was restarted while the step ran); whether the step finished there is unknown`,
        }),
      );
      for (const attempt of lost) {
        this.logger.warn(
          { taskId: attempt.taskId, stepId: attempt.stepId, step: attempt.name },
          attempt.failure.message,
        );
        this.observeAttempt(attempt, 'lost');
        this.stepSettled(attempt.stepId);
      }
    }
    this.logger.info({ serverId: session.serverId, server: session.serverName }, 'agent connected');
    this.wake();
  }

  agentDisconnected(session: AgentSession): void {
    this.logger.info(
      { serverId: session.serverId, server: session.serverName },
      'agent disconnected; its running steps keep their lease until it expires',
    );
  }

  /** Queues the lease renewal (and, now and then, the last-seen write): see HeartbeatBatch. */
  heartbeat(session: AgentSession, heartbeat: Heartbeat__Output): Promise<void> {
    const lastWrite = this.lastSeenWrites.get(session.serverId) ?? 0;
    const touch = Date.now() - lastWrite > LAST_SEEN_WRITE_MS;
    if (touch) this.lastSeenWrites.set(session.serverId, Date.now());
    this.heartbeats.add({
      serverId: session.serverId,
      // One agent's malformed id must not fail the statement that renews every agent's leases.
      running: heartbeat.running.map((ref) => ref.attemptId).filter((id) => isUuid(id)),
      touch,
    });
    return Promise.resolve();
  }

  private async writeHeartbeats(batch: HeartbeatWrite[]): Promise<void> {
    await this.tasks.renewLeases(batch, this.config.leaseMs);
    await this.servers.touchMany(batch.filter((write) => write.touch).map((write) => write.serverId));
  }

  async stepAccepted(session: AgentSession, ref: AttemptRef__Output): Promise<void> {
    if (
      !(await this.tasks.markAttemptRunning(session.serverId, ref.attemptId, ref.epoch, this.config.leaseMs))
    ) {
      session.send({ cancel: { ref, reason: 'this assignment is stale' } });
    }
  }

  async stepLog(session: AgentSession, log: StepLog__Output): Promise<void> {
    if (!log.ref) return;
    const owner = await this.ownerOf(session.serverId, log.ref);
    if (!owner) return;
    const stored = await this.tasks.appendLogs(
      owner.taskId,
      log.lines.map((line) => ({
        stepId: owner.stepId,
        attemptId: log.ref!.attemptId,
        seq: line.seq,
        stream: line.stream === 'stdout' || line.stream === 'stderr' ? line.stream : 'agent',
        text: line.text,
        at: new Date(Number(line.atMs) || Date.now()),
      })),
    );
    if (stored.length > 0) {
      this.bus.publish(owner.taskId, {
        kind: 'log',
        lines: stored.map((line) => ({
          id: line.id,
          at: new Date(line.at).toISOString(),
          stream: line.stream,
          text: line.text,
          stepId: line.stepId,
        })),
      });
    }
  }

  async stepProgress(session: AgentSession, progress: StepProgress__Output): Promise<void> {
    if (!progress.ref) return;
    const owner = await this.ownerOf(session.serverId, progress.ref);
    if (!owner) return;
    this.bus.publish(owner.taskId, {
      kind: 'progress',
      progress: {
        stepName: owner.stepName,
        phase: progress.phase,
        done: Number(progress.done),
        total: Number(progress.total),
        unit: progress.unit,
      },
    });
  }

  async stepResult(session: AgentSession, result: StepResult__Output): Promise<void> {
    const ref = result.ref;
    if (!ref) return;
    let outcome: { ok: true; output: unknown } | { ok: false; failure: StepFailure };
    if (result.ok) {
      let output: unknown = null;
      try {
        output = result.outputJson ? JSON.parse(result.outputJson) : null;
      } catch {
        outcome = {
          ok: false,
          failure: {
            code: StepErrorCode.Internal,
            retryable: false,
            message: 'the agent sent output that is not JSON',
          },
        };
      }
      outcome ??= { ok: true, output };
    } else {
      const error = result.error;
      outcome = {
        ok: false,
        failure: {
          code: (error?.code as StepFailure['code'] | undefined) ?? StepErrorCode.Internal,
          message: error?.message || 'the step failed without a message',
          retryable: error?.retryable ?? false,
          exitCode: error?.exitCode || undefined,
          stderrTail: error?.stderrTail || undefined,
        },
      };
    }
    const settled = await this.tasks.completeAttempt(session.serverId, ref.attemptId, ref.epoch, outcome);
    // Acknowledge even a stale result: the agent may forget it either way.
    session.send({ resultAck: { ref } });
    const owner = this.attemptOwners.get(ref.attemptId);
    this.attemptOwners.delete(ref.attemptId);
    if (!settled) {
      this.logger.warn(
        { taskId: owner?.taskId, stepId: ref.stepId, attemptId: ref.attemptId, serverId: session.serverId },
        'dropped a stale step result',
      );
      return;
    }
    this.observeAttempt(settled, outcome.ok ? 'done' : 'failed');
    this.stepSettled(settled.stepId);
    this.wake();
  }

  private async ownerOf(
    serverId: string,
    ref: AttemptRef__Output,
  ): Promise<{ taskId: string; stepId: string; stepName: string } | undefined> {
    const cached = this.attemptOwners.get(ref.attemptId);
    if (cached) return cached;
    for (const attempt of await this.attemptLookup(serverId, ref)) {
      const owner = { taskId: attempt.taskId, stepId: attempt.stepId, stepName: attempt.name };
      this.attemptOwners.set(ref.attemptId, owner);
      return owner;
    }
    return undefined;
  }

  private attemptLookup(serverId: string, ref: AttemptRef__Output) {
    return this.tasks.attemptOwner(serverId, ref.attemptId, ref.epoch);
  }
}
