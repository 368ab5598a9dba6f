import type * as api from '../../../shared/src/api.js';
import type { StepAttemptEntity } from './step-attempt.entity.js';
import type { TaskStepEntity } from './task-step.entity.js';
import type { TaskEntity } from './task.entity.js';

/** A task as the REST API sends it (shared/src/api.ts); `progress` only while it runs. */
export function taskView(task: TaskEntity, progress: api.TaskProgress | null): api.Task {
  return {
    id: task.id,
    type: task.type,
    state: task.state,
    targetKind: task.targetKind,
    targetId: task.targetId,
    targetName: task.targetName,
    params: task.params,
    retryOf: task.retryOf,
    result: task.result,
    error: task.error,
    errorCode: task.errorCode,
    rollbackCompleted: task.rollbackCompleted,
    phases: task.phases,
    createdAt: task.createdAt.toISOString(),
    startedAt: task.startedAt?.toISOString() ?? null,
    finishedAt: task.finishedAt?.toISOString() ?? null,
    cancelRequestedAt: task.cancelRequestedAt?.toISOString() ?? null,
    progress: task.state === 'running' ? progress : null,
  };
}

/** A step with its attempts, as GET /api/tasks/{id} lists them. */
export function stepView(
  step: TaskStepEntity,
  attempts: readonly StepAttemptEntity[],
  serverName: string,
): api.TaskStep {
  return {
    id: step.id,
    seq: step.seq,
    name: step.name,
    serverId: step.serverId,
    serverName,
    state: step.state,
    output: step.output,
    failure: step.failure,
    createdAt: step.createdAt.toISOString(),
    finishedAt: step.finishedAt?.toISOString() ?? null,
    attempts: attempts.map((attempt) => ({
      id: attempt.id,
      attemptNo: attempt.attemptNo,
      epoch: String(attempt.epoch),
      state: attempt.state,
      assignedAt: attempt.assignedAt?.toISOString() ?? null,
      startedAt: attempt.startedAt?.toISOString() ?? null,
      finishedAt: attempt.finishedAt?.toISOString() ?? null,
      error: attempt.error,
    })),
  };
}
