import { AppError } from '../infra/http/app-error.js';

export enum ClientsErrorCode {
  NotFound = 'CLIENT_NOT_FOUND',
  NameTaken = 'CLIENT_NAME_TAKEN',
  InvalidInput = 'CLIENT_INVALID_INPUT',
}

const STATUS: Record<ClientsErrorCode, number> = {
  [ClientsErrorCode.NotFound]: 404,
  [ClientsErrorCode.NameTaken]: 409,
  [ClientsErrorCode.InvalidInput]: 400,
};

export class ClientsError extends AppError<ClientsErrorCode> {
  constructor(code: ClientsErrorCode, message: string) {
    super(code, STATUS[code], message);
  }

  static notFound(name: string): ClientsError {
    return new ClientsError(
      ClientsErrorCode.NotFound,
      `no client named "${name}"; \`berth client list\` shows them`,
    );
  }
}
