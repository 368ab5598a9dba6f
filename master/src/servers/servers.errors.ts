import { AppError } from '../infra/http/app-error.js';

export enum ServersErrorCode {
  NotFound = 'SERVER_NOT_FOUND',
  NameTaken = 'SERVER_NAME_TAKEN',
  InvalidInput = 'SERVER_INVALID_INPUT',
}

const STATUS: Record<ServersErrorCode, number> = {
  [ServersErrorCode.NotFound]: 404,
  [ServersErrorCode.NameTaken]: 409,
  [ServersErrorCode.InvalidInput]: 400,
};

export class ServersError extends AppError<ServersErrorCode> {
  constructor(code: ServersErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, STATUS[code], message, details);
  }

  static notFound(nameOrId: string): ServersError {
    return new ServersError(
      ServersErrorCode.NotFound,
      `no server named "${nameOrId}"; \`berth server list\` shows the servers there are`,
    );
  }
}
