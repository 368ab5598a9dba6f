import type { StepFailure } from '../../../shared/src/errors.js';
import type { StepName, StepOutput, StepParams } from '../../../shared/src/steps.js';
import type { TaskParams, TaskResult, TaskType } from '../../../shared/src/tasks.js';

/** The task a workflow runs for, as it was when it started; its params typed by TaskDefinitions. */
export interface TaskInfo<T extends TaskType = TaskType> {
  readonly id: string;
  readonly type: T;
  readonly targetId: string;
  readonly targetName: string;
  readonly params: Readonly<TaskParams<T>>;
  readonly workflowVersion: number;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
}

/**
 * A value as it comes back from the step log: JSON, so dates are ISO strings. A recorded effect
 * returns this shape on its first run too, so the run and any replay see the same value.
 */
export type Recorded<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Recorded<U>[]
    : T extends object
      ? { [K in keyof T]: Recorded<T[K]> }
      : T;

/**
 * What a task's workflow may do. A workflow is plain code over this context, and it must be
 * deterministic: given the same recorded steps and records it asks for the same ones in the same
 * order. That is what lets a restarted master replay it: what is already recorded returns its
 * recorded outcome instead of running again, and the step in flight is picked up where the agent
 * left it. Every effect goes through the context: agent work through `step`, registry writes (and
 * reads whose answer the rest of the run depends on) through `record`.
 */
export interface TaskContext<T extends TaskType = TaskType> {
  readonly task: TaskInfo<T>;
  /** Runs one step on a server's agent and returns its output; throws StepFailedError. */
  step<S extends StepName>(
    serverId: string,
    name: S,
    params: StepParams<S>,
    options?: { timeoutMs?: number },
  ): Promise<StepOutput<S>>;
  /**
   * Runs a master-side effect (a registry write, or a read the workflow decides on) once and stores
   * its JSON result in the task's log under `name`; a replay returns the stored result without
   * running it (Temporal's local activity). At least once: a master that stops between the effect
   * and its record runs it again on replay, so an effect keeps its own key (a backup's archive id).
   */
  record<R>(name: string, effect: () => Promise<R>): Promise<Recorded<R>>;
  /** A line in the task's log, from the master. */
  log(text: string): Promise<void>;
  /** Runs part of the task as a named phase whose start and end are recorded on the task. */
  phase<R>(name: string, run: () => Promise<R>): Promise<R>;
  /**
   * How far the task itself is, for a task whose work is not its own steps (a platform upgrade's
   * sites); followers see it as the task's progress until a step reports its own. Not recorded.
   */
  progress(progress: { phase: string; done: number; total: number; unit: string }): void;
  /**
   * Runs part of the task as a unit that is either done or undone: when `run` fails, the rollback
   * actions registered inside it run (newest first) before the failure goes on to the enclosing
   * scope, and its clean-ups run whatever happened. With `servers`, the scope holds a step slot on
   * each for its whole time, undo included (taken in a fixed order, all or nothing, waiting until
   * they are free): an offline window never waits behind another task's step, nor does its undo.
   * With `phase`, the scope is also a phase of the same name, undo included, from when its servers
   * are held. The task itself is the outermost scope.
   */
  scope<R>(
    name: string,
    run: () => Promise<R>,
    options?: { servers?: readonly string[]; phase?: boolean },
  ): Promise<R>;
  /**
   * Registers an undo action on the innermost scope: it runs if that scope fails, and whether every
   * one of them succeeded is the task's `rollbackCompleted`. Register it before the step whose
   * effect it undoes (a step can fail half-way), and make it safe to run when that step never ran.
   */
  onRollback(name: string, undo: () => Promise<void>): void;
  /** Registers an action that runs when the innermost scope ends, whether it failed or not. */
  cleanup(name: string, action: () => Promise<void>): void;
}

export type Workflow<T extends TaskType> = (context: TaskContext<T>) => Promise<TaskResult<T>>;

/**
 * A workflow as a feature gives it to the engine (made by `registerWorkflow`). A change to a
 * workflow that changes which steps or records it asks for, or their order, is a new version: tasks
 * replay with the version they started with, new tasks start with the highest one. An old version
 * stays registered until no queued or running task uses it (the engine fails a task it cannot
 * replay, and says why).
 */
export interface WorkflowRegistration {
  readonly type: TaskType;
  readonly version: number;
  readonly run: (context: TaskContext) => Promise<TaskResult<TaskType>>;
}

/** Registers version `version` of the workflow of task type `type`. */
export function registerWorkflow<T extends TaskType>(
  type: T,
  version: number,
  workflow: Workflow<T>,
): WorkflowRegistration {
  // The engine runs a registration only for tasks of its own type, so the context is a TaskContext<T>.
  return { type, version, run: (context) => workflow(context as TaskContext<T>) };
}

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

/**
 * The workflow found the task cannot go on (no site could be moved, the heads' code differs): its
 * message is the task's error as it is, for people, not an "internal error".
 */
export class TaskRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskRefusedError';
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
    super(`entry ${seq} was recorded as ${recorded} but the workflow now asks for ${requested}`);
    this.name = 'NonDeterministicWorkflowError';
  }
}
