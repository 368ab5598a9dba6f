/** Task and attempt states, and the task types the master knows. */

export const TASK_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const FINISHED_TASK_STATES: readonly TaskState[] = ['succeeded', 'failed', 'cancelled'];

export const STEP_STATES = ['pending', 'running', 'done', 'failed'] as const;
export type StepState = (typeof STEP_STATES)[number];

/**
 * pending: waiting for a slot on its server or for the agent to connect; assigned: sent, not yet
 * accepted; running: accepted by the agent; done / failed: finished; lost: the agent stopped
 * answering or came back without it.
 */
export const ATTEMPT_STATES = ['pending', 'assigned', 'running', 'done', 'failed', 'lost'] as const;
export type AttemptState = (typeof ATTEMPT_STATES)[number];
export const ACTIVE_ATTEMPT_STATES: readonly AttemptState[] = ['assigned', 'running'];

export const TASK_TYPES = [
  'server.verify',
  'server.transfer-check',
  'platform.verify',
  'site.install',
  'site.verify',
  'site.backup',
  'site.restore',
  'site.disable',
  'site.enable',
  'site.delete',
  'site.login-reset',
  'site.backup-delete',
  'site.migrate',
  'site.clone',
  'site.rename',
  'platform.migrate-sites',
  'debug.sleep',
  'debug.noop',
] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** The task types that `POST /api/tasks` creates on a server; the others come from their feature's API. */
export const SERVER_TASK_TYPES = [
  'server.verify',
  'server.transfer-check',
  'debug.sleep',
  'debug.noop',
] as const;
export type ServerTaskType = (typeof SERVER_TASK_TYPES)[number];

export function isServerTaskType(value: string): value is ServerTaskType {
  return (SERVER_TASK_TYPES as readonly string[]).includes(value);
}

/** Task types that exist for tests and benchmarks; the master accepts them only when told to. */
export const DEBUG_TASK_TYPES: readonly TaskType[] = ['debug.sleep', 'debug.noop'];

export function isTaskType(value: string): value is TaskType {
  return (TASK_TYPES as readonly string[]).includes(value);
}
