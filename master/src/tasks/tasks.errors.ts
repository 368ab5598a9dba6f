import { AppError } from '../infra/http/app-error.js';

export enum TasksErrorCode {
  NotFound = 'TASK_NOT_FOUND',
  InvalidInput = 'TASK_INVALID_INPUT',
  AlreadyFinished = 'TASK_ALREADY_FINISHED',
  TypeDisabled = 'TASK_TYPE_DISABLED',
  DomainClaimed = 'TASK_DOMAIN_CLAIMED',
  NotRetryable = 'TASK_NOT_RETRYABLE',
}

const STATUS: Record<TasksErrorCode, number> = {
  [TasksErrorCode.NotFound]: 404,
  [TasksErrorCode.InvalidInput]: 400,
  [TasksErrorCode.TypeDisabled]: 400,
  [TasksErrorCode.AlreadyFinished]: 409,
  [TasksErrorCode.DomainClaimed]: 409,
  [TasksErrorCode.NotRetryable]: 409,
};

export class TasksError extends AppError<TasksErrorCode> {
  constructor(code: TasksErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, STATUS[code], message, details);
  }
}
