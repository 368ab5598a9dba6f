import { AppError } from '../infra/http/app-error.js';

export enum AuthErrorCode {
  MissingToken = 'AUTH_MISSING_TOKEN',
  InvalidToken = 'AUTH_INVALID_TOKEN',
  Forbidden = 'AUTH_FORBIDDEN',
  TokenNotFound = 'AUTH_TOKEN_NOT_FOUND',
  InvalidQuery = 'AUTH_INVALID_QUERY',
}

const STATUS: Record<AuthErrorCode, number> = {
  [AuthErrorCode.MissingToken]: 401,
  [AuthErrorCode.InvalidToken]: 401,
  [AuthErrorCode.Forbidden]: 403,
  [AuthErrorCode.TokenNotFound]: 404,
  [AuthErrorCode.InvalidQuery]: 400,
};

export class AuthError extends AppError<AuthErrorCode> {
  constructor(code: AuthErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}
