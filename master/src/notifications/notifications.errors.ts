import { AppError } from '../infra/http/app-error.js';

export enum NotificationsErrorCode {
  InvalidInput = 'NOTIFICATION_INVALID_INPUT',
  NotFound = 'NOTIFICATION_TARGET_NOT_FOUND',
  ClientNotFound = 'NOTIFICATION_CLIENT_NOT_FOUND',
  Forbidden = 'NOTIFICATION_FORBIDDEN',
}

const STATUS: Record<NotificationsErrorCode, number> = {
  [NotificationsErrorCode.InvalidInput]: 400,
  [NotificationsErrorCode.NotFound]: 404,
  [NotificationsErrorCode.ClientNotFound]: 404,
  [NotificationsErrorCode.Forbidden]: 403,
};

export class NotificationsError extends AppError<NotificationsErrorCode> {
  constructor(code: NotificationsErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}
