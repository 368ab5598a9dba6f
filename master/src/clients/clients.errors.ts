import { AppError } from '../infra/http/app-error.js';

export enum ClientsErrorCode {
  NotFound = 'CLIENT_NOT_FOUND',
  NameTaken = 'CLIENT_NAME_TAKEN',
  InvalidInput = 'CLIENT_INVALID_INPUT',
}

export class ClientsError extends AppError {
  get status(): number {
    switch (this.code as ClientsErrorCode) {
      case ClientsErrorCode.NotFound:
        return 404;
      case ClientsErrorCode.NameTaken:
        return 409;
      case ClientsErrorCode.InvalidInput:
        return 400;
    }
  }

  constructor(code: ClientsErrorCode, message: string) {
    super(code, message);
  }

  static notFound(name: string): ClientsError {
    return new ClientsError(
      ClientsErrorCode.NotFound,
      `no client named "${name}"; \`berth client list\` shows them`,
    );
  }
}
