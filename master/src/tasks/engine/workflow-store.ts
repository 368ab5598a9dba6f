import type { LogLine, TaskPhase } from '../../../../shared/src/api.js';
import type { StepFailure } from '../../../../shared/src/errors.js';
import type { StepState } from '../../../../shared/src/tasks.js';

/** A step in a task's step log, as a run reads it back. */
export interface LoggedStep {
  id: string;
  name: string;
  state: StepState;
  output: unknown;
  failure: StepFailure | null;
}

export interface NewStep {
  taskId: string;
  seq: number;
  serverId: string;
  name: string;
  params: Record<string, unknown>;
  timeoutMs: number;
}

export interface TaskOutcome {
  result?: Record<string, unknown> | null;
  error?: string | null;
  errorCode?: string | null;
  rollbackCompleted?: boolean | null;
}

/**
 * What a workflow run reads and writes in the registry: its task's step log (agent steps and the
 * master's own records, each numbered in the order the workflow asked for them), its phases, its
 * log, the slots it holds for a window, and its end. The registry implements it over PostgreSQL
 * (RegistryWorkflowStore); unit tests, in memory (tasks/testing).
 */
export interface WorkflowStore {
  findStep(taskId: string, seq: number): Promise<LoggedStep | null>;
  /** Records a new step with its first attempt, pending. */
  createStep(step: NewStep): Promise<LoggedStep>;
  findRecord(taskId: string, seq: number): Promise<{ name: string; output: unknown } | null>;
  saveRecord(taskId: string, seq: number, name: string, output: unknown): Promise<void>;
  setPhases(taskId: string, phases: TaskPhase[]): Promise<void>;
  /** A line from the master in the task's log, as the API shows it. */
  appendMasterLog(taskId: string, text: string): Promise<LogLine | undefined>;
  /** One slot on each server for the task, all or nothing; false when one is not free yet. */
  holdSlots(taskId: string, serverIds: readonly string[]): Promise<boolean>;
  releaseSlots(taskId: string): Promise<void>;
  finishTask(
    taskId: string,
    state: 'succeeded' | 'failed' | 'cancelled',
    outcome: TaskOutcome,
  ): Promise<void>;
}
