import type { StepFailure } from '../../../shared/src/errors.js';
import type { StepName, StepOutput, StepParams } from '../../../shared/src/steps.js';
import type { TaskType } from '../../../shared/src/tasks.js';
import type { TaskEntity } from './task.entity.js';

/**
 * What a task's workflow may do. A workflow is plain code over this context, and it must be
 * deterministic: given the same recorded step outputs it asks for the same steps in the same order.
 * That is what lets a restarted master replay it: steps already done return their recorded output
 * instead of running again, and the step in flight is picked up where the agent left it.
 */
export interface TaskContext {
  readonly task: Readonly<TaskEntity>;
  /** Runs one step on a server's agent and returns its output; throws StepFailedError. */
  step<S extends StepName>(
    serverId: string,
    name: S,
    params: StepParams<S>,
    options?: { timeoutMs?: number },
  ): Promise<StepOutput<S>>;
  /** A line in the task's log, from the master. */
  log(text: string): Promise<void>;
  /** Runs part of the task as a named phase whose start and end are recorded on the task. */
  phase<T>(name: string, run: () => Promise<T>): Promise<T>;
  /**
   * How far the task itself is, for a task whose work is not its own steps (a platform upgrade's
   * sites); followers see it as the task's progress until a step reports its own. Not recorded.
   */
  progress(progress: { phase: string; done: number; total: number; unit: string }): void;
  /**
   * Runs `run` holding a step slot on each of the servers for the whole time (taken in a fixed
   * order, all or nothing, waiting until they are free): an offline window never waits behind
   * another task's step.
   */
  withServers<T>(serverIds: string[], run: () => Promise<T>): Promise<T>;
  /** Registers an undo action; on failure they run newest first, and the task records whether all did. */
  onRollback(name: string, undo: () => Promise<void>): void;
}

export type Workflow = (context: TaskContext) => Promise<Record<string, unknown> | undefined>;
export type WorkflowRegistry = Readonly<Record<TaskType, Workflow>>;

/** A step failed on its agent (or its agent was lost): the task fails with this message. */
export class StepFailedError extends Error {
  constructor(
    readonly stepName: string,
    readonly failure: StepFailure,
    /** The recorded step, for logs; absent when the failure is not a step's of this run. */
    readonly stepId?: string,
  ) {
    super(failure.message);
    this.name = 'StepFailedError';
  }
}

export class TaskCancelledError extends Error {
  constructor(message = 'the task was cancelled') {
    super(message);
    this.name = 'TaskCancelledError';
  }
}

/** The workflow asked for other steps than the ones recorded: a bug, never retried. */
export class NonDeterministicWorkflowError extends Error {
  constructor(seq: number, recorded: string, requested: string) {
    super(`step ${seq} was recorded as ${recorded} but the workflow now asks for ${requested}`);
    this.name = 'NonDeterministicWorkflowError';
  }
}

/**
 * A failure a workflow already rolled back itself (an offline window restores its rollback point
 * while it still holds its servers): the task fails with the cause's message and this rollback's
 * outcome, combined with that of the undo actions registered before.
 */
export class RolledBackError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly completed: boolean,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'RolledBackError';
  }
}
