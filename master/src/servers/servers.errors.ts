import { AppError } from '../infra/http/app-error.js';

export enum ServersErrorCode {
  NotFound = 'SERVER_NOT_FOUND',
  NameTaken = 'SERVER_NAME_TAKEN',
  InvalidInput = 'SERVER_INVALID_INPUT',
}

export class ServersError extends AppError {
  get status(): number {
    switch (this.code as ServersErrorCode) {
      case ServersErrorCode.NotFound:
        return 404;
      case ServersErrorCode.NameTaken:
        return 409;
      case ServersErrorCode.InvalidInput:
        return 400;
    }
  }

  constructor(code: ServersErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }

  static notFound(nameOrId: string): ServersError {
    return new ServersError(
      ServersErrorCode.NotFound,
      `no server named "${nameOrId}"; \`berth server list\` shows the servers there are`,
    );
  }
}
