import { AppError } from '../infra/http/app-error.js';

export enum SitesErrorCode {
  NotFound = 'SITE_NOT_FOUND',
  DomainTaken = 'SITE_DOMAIN_TAKEN',
  InvalidInput = 'SITE_INVALID_INPUT',
  WrongState = 'SITE_WRONG_STATE',
  PlatformNotReady = 'SITE_PLATFORM_NOT_READY',
  BackupNotFound = 'SITE_BACKUP_NOT_FOUND',
  Incompatible = 'SITE_INCOMPATIBLE_PLATFORM',
}

const STATUS: Record<SitesErrorCode, number> = {
  [SitesErrorCode.NotFound]: 404,
  [SitesErrorCode.BackupNotFound]: 404,
  [SitesErrorCode.DomainTaken]: 409,
  [SitesErrorCode.WrongState]: 409,
  [SitesErrorCode.PlatformNotReady]: 409,
  [SitesErrorCode.InvalidInput]: 400,
  [SitesErrorCode.Incompatible]: 409,
};

export class SitesError extends AppError<SitesErrorCode> {
  constructor(code: SitesErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, STATUS[code], message, details);
  }

  static notFound(domain: string): SitesError {
    return new SitesError(SitesErrorCode.NotFound, `no site "${domain}"; \`berth site list\` shows them`);
  }
}
