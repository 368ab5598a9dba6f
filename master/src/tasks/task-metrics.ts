import type { TaskState, TaskType } from '../../../shared/src/tasks.js';
import type { TaskPhase } from './task.entity.js';

/** How a step attempt that ran on an agent ended. */
export type AttemptOutcome = 'done' | 'failed' | 'lost';

/**
 * What the task engine reports as it goes, for monitoring (MasterMetrics implements it). Every call
 * is made once per event in this process, from what the registry recorded: a replay after a master
 * restart does not report again what was recorded before it.
 */
export interface TaskMetrics {
  /** An attempt that was sent to an agent ended after `seconds` (from its start to its end). */
  attemptSettled(step: string, outcome: AttemptOutcome, seconds: number): void;
  /** A phase of a task ended; its start and end are the recorded ones. */
  phaseEnded(taskType: TaskType, phase: TaskPhase & { endedAt: string }): void;
  taskFinished(taskType: TaskType, state: Extract<TaskState, 'succeeded' | 'failed' | 'cancelled'>): void;
}

export const NO_TASK_METRICS: TaskMetrics = {
  attemptSettled: () => undefined,
  phaseEnded: () => undefined,
  taskFinished: () => undefined,
};
