import { AppError } from '../infra/http/app-error.js';

export enum AuditErrorCode {
  InvalidQuery = 'AUDIT_INVALID_QUERY',
}

const STATUS: Record<AuditErrorCode, number> = {
  [AuditErrorCode.InvalidQuery]: 400,
};

export class AuditError extends AppError<AuditErrorCode> {
  constructor(code: AuditErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}
