import { AppError } from '../infra/http/app-error.js';

export enum TasksErrorCode {
  NotFound = 'TASK_NOT_FOUND',
  InvalidInput = 'TASK_INVALID_INPUT',
  AlreadyFinished = 'TASK_ALREADY_FINISHED',
  TypeDisabled = 'TASK_TYPE_DISABLED',
}

export class TasksError extends AppError {
  get status(): number {
    switch (this.code as TasksErrorCode) {
      case TasksErrorCode.NotFound:
        return 404;
      case TasksErrorCode.InvalidInput:
      case TasksErrorCode.TypeDisabled:
        return 400;
      case TasksErrorCode.AlreadyFinished:
        return 409;
    }
  }

  constructor(code: TasksErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}
