import type { Logger } from 'pino';
import { StepErrorCode } from '../../../shared/src/errors.js';
import type { StepName, StepOutput, StepParams } from '../../../shared/src/steps.js';
import type { TaskLogBus } from './task-log-bus.js';
import { NO_TASK_METRICS, type TaskMetrics } from './task-metrics.js';
import type { TasksRepository } from './tasks.repository.js';
import type { TaskEntity, TaskPhase } from './task.entity.js';
import {
  NonDeterministicWorkflowError,
  RolledBackError,
  StepFailedError,
  TaskCancelledError,
  type TaskContext,
  type Workflow,
} from './workflow.js';

/** What a run needs from the engine. */
export interface StepCoordinator {
  waitForStep(stepId: string): Promise<true>;
  cancelAttemptsOf(taskId: string, reason: string): Promise<void>;
  wake(): void;
}

const DEFAULT_STEP_TIMEOUT_MS = 60 * 60_000;
/** How often a task waiting to reserve its servers' slots tries again. */
const SLOT_POLL_MS = 100;

/**
 * One execution (or, after a master restart, one replay) of a task's workflow. Steps are numbered
 * in the order the workflow asks for them; a step already recorded under its number is not run
 * again: its recorded outcome is returned.
 */
export class WorkflowRun implements TaskContext {
  private seq = 0;
  private cancelled = false;
  private rollingBack = false;
  private readonly rollbacks: Array<{ name: string; undo: () => Promise<void> }> = [];
  private phases: TaskPhase[];

  constructor(
    readonly task: TaskEntity,
    private readonly workflow: Workflow,
    private readonly tasks: TasksRepository,
    private readonly engine: StepCoordinator,
    private readonly bus: TaskLogBus,
    private readonly logger: Logger,
    private readonly metrics: TaskMetrics = NO_TASK_METRICS,
  ) {
    this.phases = [...task.phases];
    this.cancelled = task.cancelRequestedAt !== null;
  }

  async execute(): Promise<void> {
    const log = this.logger.child({ taskId: this.task.id, type: this.task.type });
    try {
      const result = await this.workflow(this);
      await this.tasks.finishTask(this.task.id, 'succeeded', { result: result ?? null });
      this.bus.publish(this.task.id, { kind: 'state', state: 'succeeded' });
      this.metrics.taskFinished(this.task.type, 'succeeded');
      log.info('task succeeded');
    } catch (thrown) {
      const error = thrown instanceof RolledBackError ? thrown.cause : thrown;
      const registered = await this.rollBack(log);
      const rollbackCompleted =
        thrown instanceof RolledBackError ? thrown.completed && registered !== false : registered;
      const cancelled = this.cancelled || error instanceof TaskCancelledError;
      const message = describeFailure(error, cancelled);
      const errorCode =
        error instanceof StepFailedError ? error.failure.code : cancelled ? StepErrorCode.Cancelled : null;
      await this.log(
        `${cancelled ? 'cancelled' : 'failed'}: ${message}` +
          (rollbackCompleted === null ? '' : rollbackCompleted ? ' (rolled back)' : ' (ROLLBACK INCOMPLETE)'),
      ).catch(() => undefined);
      await this.tasks.finishTask(this.task.id, cancelled ? 'cancelled' : 'failed', {
        error: message,
        errorCode,
        rollbackCompleted,
      });
      this.bus.publish(this.task.id, { kind: 'state', state: cancelled ? 'cancelled' : 'failed' });
      this.metrics.taskFinished(this.task.type, cancelled ? 'cancelled' : 'failed');
      if (!(error instanceof StepFailedError) && !cancelled) log.error({ err: error }, 'task failed');
      else log.warn({ reason: message, ...stepOf(error) }, cancelled ? 'task cancelled' : 'task failed');
    }
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
    const seq = ++this.seq;
    if (this.cancelled && !this.rollingBack) throw new TaskCancelledError();
    let step = await this.tasks.findStep(this.task.id, seq);
    if (step && step.name !== name) throw new NonDeterministicWorkflowError(seq, step.name, name);
    if (!step) {
      step = await this.tasks.createStep({
        taskId: this.task.id,
        seq,
        serverId,
        name,
        params: params,
        timeoutMs: options.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
      });
      this.engine.wake();
    }
    // Wait until the step is settled; the waiter is registered before each check, so a result that
    // lands in between is not missed.
    for (;;) {
      const settled = this.engine.waitForStep(step.id);
      const current = await this.tasks.findStep(this.task.id, seq);
      if (current?.state === 'done') return current.output as StepOutput<S>;
      if (current?.state === 'failed') {
        if (this.cancelled && !this.rollingBack) throw new TaskCancelledError();
        throw new StepFailedError(
          name,
          current.failure ?? { code: StepErrorCode.Internal, message: 'step failed', retryable: false },
          current.id,
        );
      }
      await settled;
    }
  }

  progress(progress: { phase: string; done: number; total: number; unit: string }): void {
    // No step name: the progress is the task's own, not one step's.
    this.bus.publish(this.task.id, { kind: 'progress', progress: { stepName: '', ...progress } });
  }

  async log(text: string): Promise<void> {
    const [line] = await this.tasks.appendLogs(this.task.id, [
      { stepId: null, attemptId: null, seq: null, stream: 'master', text, at: new Date() },
    ]);
    if (line) {
      this.bus.publish(this.task.id, {
        kind: 'log',
        lines: [
          {
            id: line.id,
            at: new Date(line.at).toISOString(),
            stream: line.stream,
            text: line.text,
            stepId: null,
          },
        ],
      });
    }
  }

  async phase<T>(name: string, run: () => Promise<T>): Promise<T> {
    // On a replay the phase may already be recorded: keep its original start.
    let phase = this.phases.find((recorded) => recorded.name === name);
    if (!phase) {
      phase = { name, startedAt: new Date().toISOString(), endedAt: null };
      this.phases = [...this.phases, phase];
      await this.tasks.setPhases(this.task.id, this.phases);
    }
    try {
      return await run();
    } finally {
      // Reported once, when this run records the end: a replay of a phase that had ended before a
      // restart finds its end recorded and reports nothing.
      if (phase.endedAt === null) {
        const ended = { ...phase, endedAt: new Date().toISOString() };
        phase.endedAt = ended.endedAt;
        await this.tasks.setPhases(this.task.id, this.phases);
        this.metrics.phaseEnded(this.task.type, ended);
      }
    }
  }

  async withServers<T>(serverIds: string[], run: () => Promise<T>): Promise<T> {
    let waited = 0;
    while (!(await this.tasks.holdSlots(this.task.id, serverIds))) {
      if (this.cancelled && !this.rollingBack) throw new TaskCancelledError();
      if (waited === 0) await this.log('waiting for a free slot on its servers before the window');
      waited += SLOT_POLL_MS;
      await new Promise((resolve) => setTimeout(resolve, SLOT_POLL_MS));
    }
    try {
      return await run();
    } finally {
      await this.tasks.releaseSlots(this.task.id);
      this.engine.wake();
    }
  }

  onRollback(name: string, undo: () => Promise<void>): void {
    this.rollbacks.push({ name, undo });
  }

  /** Runs the registered undo actions newest first; null when there were none. */
  private async rollBack(log: Logger): Promise<boolean | null> {
    if (this.rollbacks.length === 0) return null;
    this.rollingBack = true;
    let complete = true;
    for (const { name, undo } of [...this.rollbacks].reverse()) {
      try {
        await this.log(`rolling back: ${name}`);
        await undo();
      } catch (error) {
        complete = false;
        log.error({ err: error, rollback: name, ...stepOf(error) }, 'a rollback action failed');
        await this.log(`rollback action "${name}" failed: ${(error as Error).message}`).catch(
          () => undefined,
        );
      }
    }
    return complete;
  }
}

/** The failed step of an error, as log fields (the task's logger already carries its id). */
function stepOf(error: unknown): { stepId?: string; step?: string } {
  if (!(error instanceof StepFailedError)) return {};
  return { step: error.stepName, ...(error.stepId ? { stepId: error.stepId } : {}) };
}

function describeFailure(error: unknown, cancelled: boolean): string {
  if (error instanceof StepFailedError) {
    if (cancelled && error.failure.code === StepErrorCode.Cancelled)
      return `cancelled during step ${error.stepName}`;
    return `step ${error.stepName} failed: ${error.message}`;
  }
  if (error instanceof TaskCancelledError) return error.message;
  if (cancelled) return 'the task was cancelled';
  return `internal error: ${(error as Error).message ?? String(error)}`;
}
