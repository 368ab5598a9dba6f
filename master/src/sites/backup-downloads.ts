import { stat } from 'node:fs/promises';
import { isUuid } from '../../../shared/src/validation.js';
import type { Principal } from '../auth/auth.service.js';
import type { ArchiveStore } from '../backups/archive-store.js';
import type { BackupsRepository } from '../backups/backups.repository.js';
import type { SiteEntity } from './site.entity.js';
import { SitesError, SitesErrorCode } from './sites.errors.js';

/** Which archive of a backup: the site's files (a .tar.gz) or its database dump (a gzipped SQL file). */
export type BackupPart = 'files' | 'database';
export const BACKUP_PARTS: readonly BackupPart[] = ['files', 'database'];

/** A backup archive ready to be streamed: where it is, what it must hash to, what to call it. */
export interface BackupDownload {
  path: string;
  sha256: string;
  sizeBytes: number;
  fileName: string;
}

/**
 * `berth site backup download`: one archive of one of a site's backups, out of the master's store,
 * for the site's owner (a client token sees only its own sites') or an admin.
 */
export class BackupDownloads {
  constructor(
    private readonly sites: { get(principal: Principal, domain: string): Promise<SiteEntity> },
    private readonly backups: Pick<BackupsRepository, 'findById'>,
    private readonly archives: Pick<ArchiveStore, 'info' | 'path'>,
  ) {}

  async open(principal: Principal, domain: string, backupId: string, part: unknown): Promise<BackupDownload> {
    const which = part === undefined || part === '' ? 'files' : part;
    if (which !== 'files' && which !== 'database') {
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `part must be files or database, got "${String(part)}"`,
      );
    }
    const site = await this.sites.get(principal, domain);
    const backup = isUuid(backupId) ? await this.backups.findById(backupId) : null;
    if (!backup || backup.siteId !== site.id) {
      throw new SitesError(
        SitesErrorCode.BackupNotFound,
        `no backup "${backupId}" of ${site.domain}; \`berth site backups ${site.domain}\` lists them`,
      );
    }
    const archiveId = which === 'files' ? backup.archiveId : backup.databaseArchiveId;
    if (!archiveId) {
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `backup ${backup.id} keeps its database inside its files archive (a backup from before they were ` +
          'separate): download --part files',
      );
    }
    const info = await this.archives.info(archiveId);
    const path = this.archives.path(archiveId);
    const onDisk = await stat(path).catch(() => null);
    if (info?.state !== 'stored' || !info.sha256 || !onDisk) {
      throw new SitesError(
        SitesErrorCode.WrongState,
        `the ${which} archive of backup ${backup.id} is not in the master's store (an off-site copy only?)`,
      );
    }
    const stamp = backup.createdAt
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    return {
      path,
      sha256: info.sha256,
      sizeBytes: onDisk.size,
      fileName: `${site.domain}-${stamp}-${which === 'files' ? 'files.tar.gz' : 'database.sql.gz'}`,
    };
  }
}
