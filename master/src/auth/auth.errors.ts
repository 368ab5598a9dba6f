import { AppError } from '../infra/http/app-error.js';

export enum AuthErrorCode {
  MissingToken = 'AUTH_MISSING_TOKEN',
  InvalidToken = 'AUTH_INVALID_TOKEN',
  Forbidden = 'AUTH_FORBIDDEN',
}

export class AuthError extends AppError {
  get status(): number {
    switch (this.code as AuthErrorCode) {
      case AuthErrorCode.MissingToken:
      case AuthErrorCode.InvalidToken:
        return 401;
      case AuthErrorCode.Forbidden:
        return 403;
    }
  }

  constructor(code: AuthErrorCode, message: string) {
    super(code, message);
  }
}
