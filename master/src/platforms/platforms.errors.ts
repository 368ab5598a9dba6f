import { AppError } from '../infra/http/app-error.js';

export enum PlatformsErrorCode {
  NotFound = 'PLATFORM_NOT_FOUND',
  NameTaken = 'PLATFORM_NAME_TAKEN',
  InvalidInput = 'PLATFORM_INVALID_INPUT',
  Busy = 'PLATFORM_BUSY',
}

export class PlatformsError extends AppError {
  get status(): number {
    switch (this.code as PlatformsErrorCode) {
      case PlatformsErrorCode.NotFound:
        return 404;
      case PlatformsErrorCode.NameTaken:
      case PlatformsErrorCode.Busy:
        return 409;
      case PlatformsErrorCode.InvalidInput:
        return 400;
    }
  }

  constructor(code: PlatformsErrorCode, message: string) {
    super(code, message);
  }

  static notFound(nameOrId: string): PlatformsError {
    return new PlatformsError(
      PlatformsErrorCode.NotFound,
      `no platform named "${nameOrId}"; \`berth platform list\` shows them`,
    );
  }
}
