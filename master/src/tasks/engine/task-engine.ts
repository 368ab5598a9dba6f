import type { Logger } from 'pino';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import { AGENT_RECONNECT_MAX_DELAY_MS } from '../../../../shared/src/protocol.js';
import type {
  AgentDirectory,
  AgentEvents,
  AgentHello,
  AgentLogLine,
  AgentProgress,
  AgentSession,
  AttemptRef,
  AttemptResult,
} from '../../agents/agent-events.js';
import type { MasterConfig } from '../../infra/config/master-config.js';
import { LocalSignalChannel, type SignalChannel } from '../../infra/db/signal-channel.js';
import type { AttemptsRepository, SettledAttempt } from '../attempts.repository.js';
import type { StepLogRepository } from '../step-log.repository.js';
import type { TaskLogBus } from '../task-log-bus.js';
import { OwnershipLostError, type TaskFence } from '../task-fence.js';
import type { TaskLogsRepository } from '../task-logs.repository.js';
import { NO_TASK_METRICS, type AttemptOutcome, type TaskMetrics } from '../task-metrics.js';
import type { TaskEntity } from '../task.entity.js';
import type { TasksRepository } from '../tasks.repository.js';
import { AttemptOwners } from './attempt-owners.js';
import { Dispatcher, type StepSecretResolver } from './dispatcher.js';
import { HeartbeatBatch } from './heartbeat-batch.js';
import { LeaseReaper } from './lease-reaper.js';
import { RegistryWorkflowStore } from './registry-workflow-store.js';
import type { WorkflowRegistry } from './workflow-registry.js';
import { WorkflowRun } from './workflow-run.js';

export type { StepSecretResolver } from './dispatcher.js';

/** The gateway as the engine needs it: who is connected, and a way to receive agents' events. */
export interface AgentLink extends AgentDirectory {
  attach(events: AgentEvents): void;
}

export interface TaskEngineDependencies {
  tasks: TasksRepository;
  stepLog: StepLogRepository;
  attempts: AttemptsRepository;
  logs: TaskLogsRepository;
  link: AgentLink;
  bus: TaskLogBus;
  /** Every task type's workflows; features register theirs before the engine starts. */
  workflows: WorkflowRegistry;
  config: Pick<MasterConfig, 'leaseMs' | 'agentWaitMs'>;
  logger: Logger;
  /** This master process, as the runner recorded on the tasks it starts. */
  runnerId: string;
  secrets?: StepSecretResolver;
  metrics?: TaskMetrics;
  /** How long this master's hold on a task lasts unless renewed (BERTH_MASTER_LEASE_MS). */
  holdMs?: number;
  /** The other masters of the registry, when there are any (several masters on one PostgreSQL). */
  peers?: EnginePeers;
}

/** What the engine needs to know of the other masters, and how it reaches them. */
export interface EnginePeers {
  signals: SignalChannel;
  /** True when no other master is alive (a start may then extend every attempt's lease). */
  alone(): Promise<boolean>;
  /** Whether this master holds the periodic work now (the lease sweep runs on one master). */
  leads(): boolean;
  /** Servers whose agent is connected to some master alive. */
  connectedServerIds(): Promise<string[]>;
}

/** Signals the engines of several masters send each other (see SignalChannel). */
const SIGNAL = {
  /** Steps were queued or slots freed: a master holding their agent dispatches now. */
  wake: 'engine.wake',
  /** A step has its outcome in the registry: its task's run, wherever it runs, reads it. */
  settled: 'engine.settled',
  /** An attempt to stop on its agent, wherever that agent is connected. */
  cancelAttempt: 'engine.cancel-attempt',
  /** A task to cancel, wherever it runs. */
  cancelTask: 'engine.cancel-task',
} as const;

type StepWaiter = (settled: true) => void;

const TICK_MS = 250;
const DEFAULT_HOLD_MS = 10_000;
/** Running tasks adopted per sweep. */
const ADOPT_BATCH = 100;
/** How long heartbeats are gathered before their leases are renewed together. */
const HEARTBEAT_BATCH_MS = 100;

/**
 * The task engine: starts queued tasks and runs their workflows, hands their steps to agents
 * (Dispatcher), settles results, and declares attempts lost when their agent goes silent past its
 * lease (LeaseReaper). The database holds every decision, so a restarted master carries on from it.
 */
export class TaskEngine implements AgentEvents {
  private readonly runs = new Map<string, { run: WorkflowRun; fence: TaskFence }>();
  private readonly stepWaiters = new Map<string, Set<StepWaiter>>();
  private readonly tasks: TasksRepository;
  private readonly attempts: AttemptsRepository;
  private readonly logs: TaskLogsRepository;
  private readonly link: AgentLink;
  private readonly bus: TaskLogBus;
  private readonly workflows: WorkflowRegistry;
  private readonly config: Pick<MasterConfig, 'leaseMs' | 'agentWaitMs'>;
  private readonly logger: Logger;
  private readonly metrics: TaskMetrics;
  private readonly store: RegistryWorkflowStore;
  private readonly owners: AttemptOwners;
  private readonly dispatcher: Dispatcher;
  private readonly reaper: LeaseReaper;
  private readonly heartbeats: HeartbeatBatch;
  private readonly holdMs: number;
  private readonly peers: EnginePeers;
  private timer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private holding: Promise<void> | undefined;
  private wakePeersQueued = false;
  private ticking: Promise<void> | undefined;
  private tickAgain = false;
  private stopped = false;
  readonly runnerId: string;

  constructor(deps: TaskEngineDependencies) {
    this.tasks = deps.tasks;
    this.attempts = deps.attempts;
    this.logs = deps.logs;
    this.link = deps.link;
    this.bus = deps.bus;
    this.workflows = deps.workflows;
    this.config = deps.config;
    this.logger = deps.logger;
    this.runnerId = deps.runnerId;
    this.metrics = deps.metrics ?? NO_TASK_METRICS;
    this.holdMs = deps.holdMs ?? DEFAULT_HOLD_MS;
    this.peers = deps.peers ?? {
      signals: new LocalSignalChannel(),
      alone: () => Promise.resolve(true),
      leads: () => true,
      connectedServerIds: () => Promise.resolve(deps.link.connectedServerIds()),
    };
    this.store = new RegistryWorkflowStore(deps.tasks, deps.stepLog, deps.attempts, deps.logs);
    this.owners = new AttemptOwners(deps.attempts);
    this.dispatcher = new Dispatcher(
      deps.attempts,
      deps.link,
      this.owners,
      deps.secrets ?? (() => Promise.resolve({})),
      deps.config.leaseMs,
      deps.logger,
    );
    this.reaper = new LeaseReaper(
      deps.attempts,
      {
        connectedServerIds: () => this.peers.connectedServerIds(),
        cancel: (serverId, ref, reason) => this.cancelOnAgent(serverId, ref, reason),
      },
      deps.config,
      deps.logger,
      (attempt, outcome) => {
        this.observeAttempt(attempt, outcome);
        this.noteRetry(attempt, attempt.failure.message);
        this.stepSettled(attempt.stepId);
      },
    );
    this.heartbeats = new HeartbeatBatch(
      (batch) => this.attempts.renewLeases(batch, this.config.leaseMs),
      // Well inside the shortest lease the tests use.
      Math.min(HEARTBEAT_BATCH_MS, Math.floor(deps.config.leaseMs / 10)),
      deps.logger,
    );
  }

  async start(): Promise<void> {
    const missing = this.workflows.missingTypes();
    if (missing.length > 0) {
      throw new Error(`no workflow is registered for the task types ${missing.join(', ')}`);
    }
    this.link.attach(this);
    this.listenToPeers();
    // After a restart of the only master, agents get a lease plus their longest reconnect delay to
    // come back and report what they still run. With other masters alive, their agents are served.
    if (await this.peers.alone()) {
      await this.attempts.extendActiveLeases(this.config.leaseMs + AGENT_RECONNECT_MAX_DELAY_MS);
    }
    // Its own tasks (a restart) at once, and any another master let go of.
    await this.adopt(true);
    this.timer = setInterval(() => this.wake(), TICK_MS);
    this.timer.unref();
    this.holdTimer = setInterval(() => void this.keepHolds(), Math.max(100, Math.floor(this.holdMs / 3)));
    this.holdTimer.unref();
    this.wake();
  }

  /**
   * Stops taking work; the runs in flight stop where they are and their tasks are let go of at
   * once, so another master (or this one, started again) adopts and replays them.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.holdTimer) clearInterval(this.holdTimer);
    await this.ticking;
    await this.holding;
    const held = [...this.runs.values()].map((entry) => entry.fence);
    for (const { run, fence } of this.runs.values()) {
      run.abandon(new OwnershipLostError(fence.taskId, fence.epoch, null, true));
    }
    await this.tasks
      .releaseHolds(held)
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not let go of the tasks it ran'));
    await this.heartbeats.flush();
  }

  /** Takes running tasks whose master let go of them or went silent past its hold. */
  private async adopt(own: boolean): Promise<void> {
    const adopted = await this.tasks.adoptTasks(this.runnerId, this.holdMs, { own, limit: ADOPT_BATCH });
    for (const task of adopted) {
      this.logger.info(
        { taskId: task.id, type: task.type, workflowVersion: task.workflowVersion, epoch: task.ownerEpoch },
        own
          ? 'resuming a task that was running before the restart'
          : 'adopted a task another master let go of',
      );
      this.launch(task);
    }
  }

  /**
   * Renews the hold on every task this master runs (a run whose task was adopted elsewhere stops),
   * passes on cancels asked for on other masters, and adopts what others let go of.
   */
  private keepHolds(): Promise<void> {
    this.holding ??= (async () => {
      try {
        const entries = [...this.runs.values()];
        const held = await this.tasks.renewHolds(
          entries.map((entry) => entry.fence),
          this.holdMs,
        );
        const still = new Map(held.map((row) => [row.taskId, row]));
        for (const { run, fence } of entries) {
          const row = still.get(fence.taskId);
          if (!row) run.abandon(new OwnershipLostError(fence.taskId, fence.epoch, null));
          else if (row.cancelRequested) void run.cancel();
        }
        if (!this.stopped) await this.adopt(false);
      } catch (error) {
        this.logger.error({ err: error }, 'could not renew the hold on its tasks; trying again');
      } finally {
        this.holding = undefined;
      }
    })();
    return this.holding;
  }

  /** What the engines of the other masters tell this one. */
  private listenToPeers(): void {
    const { signals } = this.peers;
    signals.on(SIGNAL.wake, () => this.wake());
    signals.on(SIGNAL.settled, (body) => {
      const { stepId } = body as { stepId?: unknown };
      if (typeof stepId === 'string') this.stepSettledHere(stepId);
    });
    signals.on(SIGNAL.cancelAttempt, (body) => {
      const { serverId, ref, reason } = body as { serverId: string; ref: AttemptRef; reason: string };
      this.link.session(serverId)?.send({ cancel: { ref, reason } });
    });
    signals.on(SIGNAL.cancelTask, (body) => {
      const { taskId } = body as { taskId?: unknown };
      if (typeof taskId === 'string') void this.runs.get(taskId)?.run.cancel();
    });
    // Signals may have been missed: every waiting run reads its step again, and work is looked for.
    signals.onResync(() => {
      for (const stepId of [...this.stepWaiters.keys()]) this.stepSettledHere(stepId);
      this.wake();
    });
  }

  /** Wakes this engine and, soon after, the other masters' (a step queued, slots freed). */
  private wakeEverywhere(): void {
    this.wake();
    if (this.wakePeersQueued) return;
    this.wakePeersQueued = true;
    setImmediate(() => {
      this.wakePeersQueued = false;
      this.peers.signals.send(SIGNAL.wake, {});
    });
  }

  /** Sends a cancel to an attempt's agent: on this master's stream, or through the one holding it. */
  private cancelOnAgent(serverId: string, ref: AttemptRef, reason: string): void {
    const session = this.link.session(serverId);
    if (session) session.send({ cancel: { ref, reason } });
    else this.peers.signals.send(SIGNAL.cancelAttempt, { serverId, ref, reason });
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
    const started = await this.tasks.startQueuedTasks(
      this.runnerId,
      50,
      this.workflows.currentVersions(),
      this.holdMs,
    );
    for (const task of started) {
      this.bus.publish(task.id, { kind: 'state', state: 'running' });
      this.launch(task);
    }
    await this.dispatcher.dispatch();
    if (this.peers.leads()) await this.reaper.reap();
  }

  private launch(task: TaskEntity): void {
    const fence = { taskId: task.id, epoch: String(task.ownerEpoch) };
    const existing = this.runs.get(task.id);
    if (existing) {
      if (existing.fence.epoch === fence.epoch) return;
      // Its own hold lapsed and it took the task again: the older run stops, the new one replays.
      existing.run.abandon(new OwnershipLostError(task.id, existing.fence.epoch, null));
      this.runs.delete(task.id);
    }
    const version = task.workflowVersion ?? this.workflows.currentVersion(task.type);
    const registration = version === undefined ? undefined : this.workflows.resolve(task.type, version);
    if (!registration) {
      void this.failUnknownVersion(task, version);
      return;
    }
    const coordinator = {
      waitForStep: (stepId: string) => this.waitForStep(stepId),
      cancelAttemptsOf: (taskId: string, reason: string) => this.cancelAttemptsOf(taskId, reason),
      wake: () => this.wakeEverywhere(),
    };
    const run = new WorkflowRun(
      task,
      registration,
      this.store.forTask(fence),
      coordinator,
      this.bus,
      this.logger,
      this.metrics,
    );
    const entry = { run, fence };
    this.runs.set(task.id, entry);
    void run
      .execute()
      .catch((error: unknown) => this.logger.error({ err: error, taskId: task.id }, 'a task run failed'))
      .finally(() => {
        if (this.runs.get(task.id) === entry) this.runs.delete(task.id);
        this.wake();
      });
  }

  /** A task started by a build with a workflow version this one does not have: it cannot be replayed. */
  private async failUnknownVersion(task: TaskEntity, version: number | undefined): Promise<void> {
    const known = this.workflows.versionsOf(task.type);
    const message =
      `this master has no version ${version ?? '?'} of the ${task.type} workflow the task started with ` +
      `(it has ${known.length > 0 ? known.join(', ') : 'none'}): run it on the Berth version that started it`;
    this.logger.error({ taskId: task.id, type: task.type, workflowVersion: version }, message);
    const fence = { taskId: task.id, epoch: String(task.ownerEpoch) };
    try {
      await this.logs.appendMaster(task.id, `failed: ${message}`, fence);
      await this.tasks.finishTask(
        task.id,
        'failed',
        { error: message, errorCode: 'WORKFLOW_VERSION_UNKNOWN', rollbackCompleted: null },
        fence,
      );
      this.bus.publish(task.id, { kind: 'state', state: 'failed' });
      this.metrics.taskFinished(task.type, 'failed');
    } catch (error) {
      this.logger.error({ err: error, taskId: task.id }, 'could not fail a task it cannot run');
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
    const cancelled = await this.attempts.cancelPendingAttemptsOf(taskId, () => ({
      code: StepErrorCode.Cancelled,
      retryable: false,
      message: reason,
    }));
    for (const attempt of cancelled) this.stepSettled(attempt.stepId);
    for (const attempt of await this.attempts.attemptsOfTask(taskId)) {
      if (attempt.state !== 'assigned' && attempt.state !== 'running') continue;
      this.cancelOnAgent(
        attempt.serverId,
        { stepId: attempt.stepId, attemptId: attempt.id, epoch: attempt.epoch },
        reason,
      );
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
    const entry = this.runs.get(taskId);
    if (entry) await entry.run.cancel();
    else this.peers.signals.send(SIGNAL.cancelTask, { taskId });
  }

  /** A step has its outcome: its run is told, here or on the master running its task. */
  private stepSettled(stepId: string): void {
    this.stepSettledHere(stepId);
    this.peers.signals.send(SIGNAL.settled, { stepId });
  }

  private stepSettledHere(stepId: string): void {
    const waiters = this.stepWaiters.get(stepId);
    if (!waiters) return;
    this.stepWaiters.delete(stepId);
    for (const resolve of waiters) resolve(true);
  }

  // ---- AgentEvents ---------------------------------------------------------------------------

  async agentConnected(session: AgentSession, hello: AgentHello): Promise<void> {
    // Results that finished while the stream was down come first, so they are not taken as lost.
    const finished = new Set<string>();
    for (const result of hello.finished) {
      finished.add(result.ref.attemptId);
      await this.stepResult(session, result);
    }
    const reported = new Map(hello.running.map((ref) => [ref.attemptId, ref]));
    for (const ref of reported.values()) {
      await this.markRunning(session, ref, 'the master no longer expects this step');
    }
    const active = await this.attempts.activeAttemptsOnServer(session.serverId);
    // The gateway takes steps for a connection before its hello is handled here: an attempt sent
    // on this same connection meanwhile is not in the hello, and is not lost.
    const missing = active
      .filter(
        (attempt) =>
          !reported.has(attempt.attemptId) &&
          !finished.has(attempt.attemptId) &&
          !this.owners.sentOn(attempt.attemptId, session.connectionId),
      )
      .map((attempt) => attempt.attemptId);
    const lost = await this.attempts.settleForgottenAttempts(missing, (attempt) => ({
      code: StepErrorCode.AgentLost,
      retryable: false,
      message:
        `the agent on server ${session.serverName} came back without step ${attempt.name} ` +
        `(it was restarted while the step ran); whether the step finished there is unknown`,
    }));
    for (const attempt of lost) {
      this.logger.warn(
        { taskId: attempt.taskId, stepId: attempt.stepId, step: attempt.name },
        attempt.failure.message,
      );
      this.observeAttempt(attempt, 'lost');
      this.noteRetry(attempt, attempt.failure.message);
      this.stepSettled(attempt.stepId);
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

  /** Queues the lease renewal: see HeartbeatBatch. */
  heartbeat(session: AgentSession, running: AttemptRef[]): Promise<void> {
    this.heartbeats.add({ serverId: session.serverId, running: running.map((ref) => ref.attemptId) });
    return Promise.resolve();
  }

  async stepAccepted(session: AgentSession, ref: AttemptRef): Promise<void> {
    await this.markRunning(session, ref, 'this assignment is stale');
  }

  /** The attempt runs on its agent, with a fresh lease; an attempt the master no longer has is stopped. */
  private async markRunning(session: AgentSession, ref: AttemptRef, reason: string): Promise<void> {
    const current = await this.attempts.markAttemptRunning(
      session.serverId,
      ref.attemptId,
      ref.epoch,
      this.config.leaseMs,
    );
    if (!current) session.send({ cancel: { ref, reason } });
  }

  async stepLog(session: AgentSession, ref: AttemptRef, lines: AgentLogLine[]): Promise<void> {
    const owner = await this.owners.lookup(session.serverId, ref);
    if (!owner) return;
    const stored = await this.logs.append(
      owner.taskId,
      lines.map((line) => ({ ...line, stepId: owner.stepId, attemptId: ref.attemptId })),
    );
    if (stored.length > 0) this.bus.publish(owner.taskId, { kind: 'log', lines: stored });
  }

  async stepProgress(session: AgentSession, ref: AttemptRef, progress: AgentProgress): Promise<void> {
    const owner = await this.owners.lookup(session.serverId, ref);
    if (!owner) return;
    this.bus.publish(owner.taskId, { kind: 'progress', progress: { stepName: owner.stepName, ...progress } });
  }

  async stepResult(session: AgentSession, { ref, outcome }: AttemptResult): Promise<void> {
    const settled = await this.attempts.completeAttempt(session.serverId, ref.attemptId, ref.epoch, outcome);
    // Acknowledge even a stale result: the agent may forget it either way.
    session.send({ resultAck: { ref } });
    const owner = this.owners.forget(ref.attemptId);
    if (!settled) {
      this.logger.warn(
        { taskId: owner?.taskId, stepId: ref.stepId, attemptId: ref.attemptId, serverId: session.serverId },
        'dropped a stale step result',
      );
      return;
    }
    this.observeAttempt(settled, outcome.ok ? 'done' : 'failed');
    if (!outcome.ok) this.noteRetry(settled, outcome.failure.message);
    this.stepSettled(settled.stepId);
    this.wake();
  }

  /** Says in the task's log that a step got another attempt instead of failing the task. */
  private noteRetry(attempt: SettledAttempt, why: string): void {
    if (!attempt.retried) return;
    this.logger.warn({ taskId: attempt.taskId, stepId: attempt.stepId, step: attempt.name }, 'step retried');
    void this.logs
      .appendMaster(attempt.taskId, `step ${attempt.name} is tried again after a short wait: ${why}`)
      .then((line) => {
        if (line) this.bus.publish(attempt.taskId, { kind: 'log', lines: [line] });
      })
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not log a retry'));
  }
}
