import { AppError } from '../infra/http/app-error.js';

export enum SitesErrorCode {
  NotFound = 'SITE_NOT_FOUND',
  DomainTaken = 'SITE_DOMAIN_TAKEN',
  InvalidInput = 'SITE_INVALID_INPUT',
  WrongState = 'SITE_WRONG_STATE',
  PlatformNotReady = 'SITE_PLATFORM_NOT_READY',
  BackupNotFound = 'SITE_BACKUP_NOT_FOUND',
}

export class SitesError extends AppError {
  get status(): number {
    switch (this.code as SitesErrorCode) {
      case SitesErrorCode.NotFound:
      case SitesErrorCode.BackupNotFound:
        return 404;
      case SitesErrorCode.DomainTaken:
      case SitesErrorCode.WrongState:
      case SitesErrorCode.PlatformNotReady:
        return 409;
      case SitesErrorCode.InvalidInput:
        return 400;
    }
  }

  constructor(code: SitesErrorCode, message: string) {
    super(code, message);
  }

  static notFound(domain: string): SitesError {
    return new SitesError(SitesErrorCode.NotFound, `no site "${domain}"; \`berth site list\` shows them`);
  }
}
