import { AppError } from '../infra/http/app-error.js';

export enum SchedulesErrorCode {
  InvalidInput = 'POLICY_INVALID_INPUT',
  NotFound = 'POLICY_NOT_FOUND',
  TargetNotFound = 'POLICY_TARGET_NOT_FOUND',
}

const STATUS: Record<SchedulesErrorCode, number> = {
  [SchedulesErrorCode.InvalidInput]: 400,
  [SchedulesErrorCode.NotFound]: 404,
  [SchedulesErrorCode.TargetNotFound]: 404,
};

export class SchedulesError extends AppError<SchedulesErrorCode> {
  constructor(code: SchedulesErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}
