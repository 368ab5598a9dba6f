import type { Logger } from 'pino';
import type { TaskPhase } from '../../../../shared/src/api.js';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import type { StepName, StepOutput, StepParams } from '../../../../shared/src/steps.js';
import type { TaskParams, TaskType } from '../../../../shared/src/tasks.js';
import { OwnershipLostError } from '../task-fence.js';
import type { TaskLogBus } from '../task-log-bus.js';
import { NO_TASK_METRICS, type TaskMetrics } from '../task-metrics.js';
import type { TaskEntity } from '../task.entity.js';
import {
  NonDeterministicWorkflowError,
  StepFailedError,
  TaskCancelledError,
  TaskRefusedError,
  type Recorded,
  type TaskContext,
  type TaskInfo,
  type WorkflowRegistration,
} from '../workflow.js';
import type { WorkflowStore } from './workflow-store.js';

/** What a run needs from the engine. */
export interface StepCoordinator {
  waitForStep(stepId: string): Promise<true>;
  cancelAttemptsOf(taskId: string, reason: string): Promise<void>;
  wake(): void;
}

const DEFAULT_STEP_TIMEOUT_MS = 60 * 60_000;
/** How often a task waiting to reserve its servers' slots tries again. */
const SLOT_POLL_MS = 100;

interface UndoAction {
  kind: 'rollback' | 'cleanup';
  name: string;
  run: () => Promise<void>;
}

interface Scope {
  name: string;
  actions: UndoAction[];
}

/**
 * One execution (or, after a master restart, one replay) of a task's workflow. Steps and records
 * are each numbered in the order the workflow asks for them; one already in the step log under its
 * number is not run again: its recorded outcome is returned.
 *
 * Undo is one mechanism: scopes (the task is the outermost) collect rollback actions and clean-ups;
 * a scope that fails runs both, newest first, before its failure leaves it (so a window's undo runs
 * while the window still holds its servers); a scope that ends well runs its clean-ups only. The
 * task's `rollbackCompleted` is whether every rollback action that ran succeeded (null: none ran).
 */
export class WorkflowRun implements TaskContext {
  readonly task: TaskInfo;
  private stepSeq = 0;
  private recordSeq = 0;
  private cancelled = false;
  /** > 0 while undo actions run: they run even for a cancelled task. */
  private unwinding = 0;
  private readonly scopes: Scope[] = [{ name: 'the task', actions: [] }];
  private rollbackCompleted: boolean | null = null;
  private phases: TaskPhase[];
  /** The process log's lines about this task carry its id and type. */
  private readonly taskLogger: Logger;
  /** Set when another master took the task: this run stops where it is, writing nothing more. */
  private lost: OwnershipLostError | undefined;
  private lossLogged = false;
  private readonly lostSignal: Promise<'lost'>;
  private signalLost!: () => void;

  constructor(
    entity: TaskEntity,
    private readonly registration: WorkflowRegistration,
    private readonly store: WorkflowStore,
    private readonly engine: StepCoordinator,
    private readonly bus: Pick<TaskLogBus, 'publish'>,
    logger: Logger,
    private readonly metrics: TaskMetrics = NO_TASK_METRICS,
  ) {
    this.task = {
      id: entity.id,
      type: entity.type,
      targetId: entity.targetId,
      targetName: entity.targetName,
      // The params were written by the feature that queued the task, with the type's shape.
      params: entity.params as TaskParams<TaskType>,
      workflowVersion: registration.version,
      createdAt: entity.createdAt,
      startedAt: entity.startedAt,
    };
    this.phases = [...entity.phases];
    this.cancelled = entity.cancelRequestedAt !== null;
    this.taskLogger = logger.child({ taskId: entity.id, type: entity.type });
    this.lostSignal = new Promise((resolve) => {
      this.signalLost = () => resolve('lost');
    });
  }

  async execute(): Promise<void> {
    try {
      await this.runToEnd();
    } catch (error) {
      if (!this.stopsForLoss(error)) throw error;
    }
  }

  private async runToEnd(): Promise<void> {
    const taskScope = this.scopes[0]!;
    let result: Record<string, unknown>;
    try {
      result = await this.registration.run(this);
    } catch (error) {
      if (this.stopsForLoss(error)) return;
      await this.unwind(taskScope, true);
      await this.fail(error);
      return;
    }
    await this.unwind(taskScope, false);
    await this.store.finishTask(this.task.id, 'succeeded', { result });
    this.bus.publish(this.task.id, { kind: 'state', state: 'succeeded' });
    this.metrics.taskFinished(this.task.type, 'succeeded');
    this.taskLogger.info('task succeeded');
  }

  /**
   * Another master adopted the task (this one was cut off or paused past its hold, and the engine
   * or a refused write says so): the run stops here, without undoing or finishing anything — the
   * new owner replays the workflow from the step log and carries on.
   */
  abandon(error: OwnershipLostError): void {
    if (this.lost) return;
    this.lost = error;
    this.signalLost();
  }

  /** True (and logged once) when the run must stop because the task is no longer this master's. */
  private stopsForLoss(error: unknown): boolean {
    if (error instanceof OwnershipLostError) this.abandon(error);
    if (!this.lost) return false;
    if (!this.lossLogged) {
      this.lossLogged = true;
      if (this.lost.stopping) this.taskLogger.info('left the task for another master to adopt (stopping)');
      else
        this.taskLogger.warn(
          { reason: this.lost.message, writeRefused: this.lost.writeRefused },
          'stopped running a task another master adopted',
        );
    }
    return true;
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    await this.engine.cancelAttemptsOf(this.task.id, 'the task was cancelled');
  }

  async step<S extends StepName>(
    serverId: string,
    name: S,
    params: StepParams<S>,
    options: { timeoutMs?: number } = {},
  ): Promise<StepOutput<S>> {
    const seq = ++this.stepSeq;
    this.refuseIfCancelled();
    let step = await this.store.findStep(this.task.id, seq);
    if (step && step.name !== name) throw new NonDeterministicWorkflowError(seq, step.name, name);
    if (!step) {
      step = await this.store.createStep({
        taskId: this.task.id,
        seq,
        serverId,
        name,
        params,
        timeoutMs: options.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
      });
      this.engine.wake();
    }
    // Wait until the step is settled; the waiter is registered before each check, so a result that
    // lands in between is not missed.
    for (;;) {
      this.refuseIfLost();
      const settled = this.engine.waitForStep(step.id);
      const current = await this.store.findStep(this.task.id, seq);
      if (current?.state === 'done') return current.output as StepOutput<S>;
      if (current?.state === 'failed') {
        this.refuseIfCancelled();
        throw new StepFailedError(
          name,
          current.failure ?? { code: StepErrorCode.Internal, message: 'step failed', retryable: false },
          current.id,
        );
      }
      await Promise.race([settled, this.lostSignal]);
    }
  }

  async record<R>(name: string, effect: () => Promise<R>): Promise<Recorded<R>> {
    const seq = ++this.recordSeq;
    const recorded = await this.store.findRecord(this.task.id, seq);
    if (recorded) {
      if (recorded.name !== name) throw new NonDeterministicWorkflowError(seq, recorded.name, name);
      return recorded.output as Recorded<R>;
    }
    this.refuseIfCancelled();
    this.refuseIfLost();
    const value = await effect();
    // Stored as JSON and returned as stored, so this run and a replay see the same value.
    const output = value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
    await this.store.saveRecord(this.task.id, seq, name, output);
    return output as Recorded<R>;
  }

  progress(progress: { phase: string; done: number; total: number; unit: string }): void {
    // No step name: the progress is the task's own, not one step's.
    this.bus.publish(this.task.id, { kind: 'progress', progress: { stepName: '', ...progress } });
  }

  async log(text: string): Promise<void> {
    const line = await this.store.appendMasterLog(this.task.id, text);
    if (line) this.bus.publish(this.task.id, { kind: 'log', lines: [line] });
  }

  async phase<R>(name: string, run: () => Promise<R>): Promise<R> {
    // On a replay the phase may already be recorded: keep its original start.
    let phase = this.phases.find((recorded) => recorded.name === name);
    if (!phase) {
      phase = { name, startedAt: new Date().toISOString(), endedAt: null };
      this.phases = [...this.phases, phase];
      await this.store.setPhases(this.task.id, this.phases);
    }
    try {
      return await run();
    } finally {
      // Reported once, when this run records the end: a replay of a phase that had ended before a
      // restart finds its end recorded and reports nothing.
      if (phase.endedAt === null) {
        const ended = { ...phase, endedAt: new Date().toISOString() };
        phase.endedAt = ended.endedAt;
        await this.store.setPhases(this.task.id, this.phases);
        this.metrics.phaseEnded(this.task.type, ended);
      }
    }
  }

  async scope<R>(
    name: string,
    run: () => Promise<R>,
    options: { servers?: readonly string[]; phase?: boolean } = {},
  ): Promise<R> {
    const servers = options.servers ?? [];
    if (servers.length > 0) await this.holdServers(servers);
    try {
      const body = () => this.runScope(name, run);
      return options.phase ? await this.phase(name, body) : await body();
    } finally {
      if (servers.length > 0) {
        await this.store.releaseSlots(this.task.id);
        this.engine.wake();
      }
    }
  }

  onRollback(name: string, undo: () => Promise<void>): void {
    this.scopes.at(-1)!.actions.push({ kind: 'rollback', name, run: undo });
  }

  cleanup(name: string, action: () => Promise<void>): void {
    this.scopes.at(-1)!.actions.push({ kind: 'cleanup', name, run: action });
  }

  private async runScope<R>(name: string, run: () => Promise<R>): Promise<R> {
    const scope: Scope = { name, actions: [] };
    this.scopes.push(scope);
    let result: R;
    try {
      result = await run();
    } catch (error) {
      this.scopes.pop();
      if (this.stopsForLoss(error)) throw error;
      if (scope.actions.some((action) => action.kind === 'rollback')) {
        await this.log(`${name} failed (${describe(error)}); undoing it`).catch(() => undefined);
      }
      await this.unwind(scope, true);
      throw error;
    }
    this.scopes.pop();
    await this.unwind(scope, false);
    return result;
  }

  private async holdServers(serverIds: readonly string[]): Promise<void> {
    let waited = false;
    while (!(await this.store.holdSlots(this.task.id, serverIds))) {
      this.refuseIfCancelled();
      this.refuseIfLost();
      if (!waited) await this.log('waiting for a free slot on its servers before the window');
      waited = true;
      await new Promise((resolve) => setTimeout(resolve, SLOT_POLL_MS));
    }
  }

  /**
   * Runs a scope's undo actions, newest first: all of them when it failed, its clean-ups only when
   * it did not. Every action runs even if one before it failed.
   */
  private async unwind(scope: Scope, failed: boolean): Promise<void> {
    const actions = scope.actions.filter((action) => failed || action.kind === 'cleanup').reverse();
    if (actions.length === 0) return;
    let complete = true;
    this.unwinding++;
    try {
      for (const action of actions) {
        // Another master owns the task now: it replays and undoes from the step log.
        if (this.lost) return;
        try {
          if (action.kind === 'rollback') await this.log(`rolling back: ${action.name}`);
          await action.run();
        } catch (error) {
          if (this.stopsForLoss(error)) return;
          complete = false;
          this.taskLogger.error(
            { err: error, [action.kind]: action.name, scope: scope.name, ...stepOf(error) },
            `a ${action.kind === 'rollback' ? 'rollback' : 'clean-up'} action failed`,
          );
          await this.log(
            `${action.kind === 'rollback' ? 'rollback' : 'clean-up'} "${action.name}" failed: ${describe(error)}`,
          ).catch(() => undefined);
        }
      }
    } finally {
      this.unwinding--;
    }
    if (failed) this.rollbackCompleted = (this.rollbackCompleted ?? true) && complete;
  }

  private async fail(thrown: unknown): Promise<void> {
    const cancelled = this.cancelled || thrown instanceof TaskCancelledError;
    const message = describeFailure(thrown, cancelled);
    const errorCode =
      thrown instanceof StepFailedError ? thrown.failure.code : cancelled ? StepErrorCode.Cancelled : null;
    const rollbackCompleted = this.rollbackCompleted;
    await this.log(
      `${cancelled ? 'cancelled' : 'failed'}: ${message}` +
        (rollbackCompleted === null ? '' : rollbackCompleted ? ' (rolled back)' : ' (ROLLBACK INCOMPLETE)'),
    ).catch(() => undefined);
    const state = cancelled ? 'cancelled' : 'failed';
    await this.store.finishTask(this.task.id, state, { error: message, errorCode, rollbackCompleted });
    this.bus.publish(this.task.id, { kind: 'state', state });
    this.metrics.taskFinished(this.task.type, state);
    if (!(thrown instanceof StepFailedError) && !cancelled)
      this.taskLogger.error({ err: thrown }, 'task failed');
    else
      this.taskLogger.warn(
        { reason: message, ...stepOf(thrown) },
        cancelled ? 'task cancelled' : 'task failed',
      );
  }

  private refuseIfLost(): void {
    if (this.lost) throw this.lost;
  }

  private refuseIfCancelled(): void {
    if (this.cancelled && this.unwinding === 0) throw new TaskCancelledError();
  }
}

/** The failed step of an error, as log fields (the task's logger already carries its id). */
function stepOf(error: unknown): { stepId?: string; step?: string } {
  if (!(error instanceof StepFailedError)) return {};
  return { step: error.stepName, ...(error.stepId ? { stepId: error.stepId } : {}) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeFailure(error: unknown, cancelled: boolean): string {
  if (error instanceof StepFailedError) {
    if (cancelled && error.failure.code === StepErrorCode.Cancelled)
      return `cancelled during step ${error.stepName}`;
    return `step ${error.stepName} failed: ${error.message}`;
  }
  if (error instanceof TaskCancelledError || error instanceof TaskRefusedError) return error.message;
  if (cancelled) return 'the task was cancelled';
  return `internal error: ${describe(error)}`;
}
