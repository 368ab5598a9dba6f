import { AppError } from '../infra/http/app-error.js';

export enum PlatformsErrorCode {
  NotFound = 'PLATFORM_NOT_FOUND',
  NameTaken = 'PLATFORM_NAME_TAKEN',
  InvalidInput = 'PLATFORM_INVALID_INPUT',
  Busy = 'PLATFORM_BUSY',
}

const STATUS: Record<PlatformsErrorCode, number> = {
  [PlatformsErrorCode.NotFound]: 404,
  [PlatformsErrorCode.NameTaken]: 409,
  [PlatformsErrorCode.Busy]: 409,
  [PlatformsErrorCode.InvalidInput]: 400,
};

export class PlatformsError extends AppError<PlatformsErrorCode> {
  constructor(code: PlatformsErrorCode, message: string) {
    super(code, STATUS[code], message);
  }

  static notFound(nameOrId: string): PlatformsError {
    return new PlatformsError(
      PlatformsErrorCode.NotFound,
      `no platform named "${nameOrId}"; \`berth platform list\` shows them`,
    );
  }
}
