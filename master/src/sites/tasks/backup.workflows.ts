import type { TaskResult } from '../../../../shared/src/tasks.js';
import type { ArchiveCheck } from '../../backups/archive-store.js';
import {
  TaskCancelledError,
  TaskRefusedError,
  type TaskContext,
  type Workflow,
} from '../../tasks/workflow.js';
import { deployScratchSite } from './scratch-site.js';
import { SiteSteps, type BackupParts, type RecordedBackup, type SiteTaskDependencies } from './site-steps.js';

/** Backup: the site's files and a consistent dump into the store, recorded with its manifest. */
export function backupWorkflow(deps: SiteTaskDependencies): Workflow<'site.backup'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    const { archiveId, reason = 'manual' } = context.task.params;
    context.onRollback('discard the partial archive', () =>
      context.record('archives.remove', () => deps.archives.remove(archiveId)),
    );
    const backup = await context.phase('backup', () => steps.archive(context, place, archiveId, reason));
    return { backupId: backup.id, manifest: backup.manifest };
  };
}

/** The restore version that checks the backup's archives first, putting back what the store lost. */
export const RESTORE_CHECKS_ARCHIVES = 3;

/**
 * Restore: a backup of the site as it is now first, then the chosen backup's files and database,
 * the settings written again for this site and server, the link, a probe. A restore that fails
 * after it began (its database import half done, say) puts that first backup back the same way.
 */
export function restoreWorkflow(deps: SiteTaskDependencies): Workflow<'site.restore'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    const { backupId, preArchiveId } = context.task.params;
    const backup = await context.record('backups.find', () => deps.backups.findById(backupId));
    if (!backup) throw new Error(`backup ${backupId} is gone`);
    // Version 3: the backup's archives whole (or put back from off-site) before the site is touched.
    if (context.task.workflowVersion >= RESTORE_CHECKS_ARCHIVES)
      await context.phase('check', () => wholeArchives(context, deps, backup));
    const before = await context.phase('backup', () =>
      steps.archive(context, place, preArchiveId, 'pre-restore'),
    );
    // A backup taken before a rename is of the old name: it is extracted under the current one.
    const restore = async (archive: BackupParts) => {
      await steps.restoreBackup(context, archive, { ...place, database: place.database.name });
      // Settings are never in backups: they are written again for this site and this server.
      await steps.writeSettings(context, place);
      await steps.onHeads(context, place, 'site.link', () => place.on);
    };
    context.onRollback('the site back as it was before the restore', () => restore(before));
    await context.phase('restore', () => restore(backup));
    await steps.onHeads(context, place, 'probe.http', () => ({
      domain: place.domain,
      expectStatus: [200, 503],
    }));
    return { restored: backup.id, preRestoreBackupId: before.id };
  };
}

/** Deletes a backup: its archives (files, dump) from the store, then its record. */
export function backupDeleteWorkflow(deps: SiteTaskDependencies): Workflow<'site.backup-delete'> {
  return async (context) => {
    const { backupId } = context.task.params;
    const backup = await context.record('backups.find', () => deps.backups.findById(backupId));
    if (backup) {
      await context.record('archives.remove', () => deps.archives.remove(backup.archiveId));
      const dump = backup.databaseArchiveId;
      if (dump) await context.record('archives.remove', () => deps.archives.remove(dump));
      await context.record('backups.remove', () => deps.backups.remove(backup.id));
    }
    return { deleted: backupId };
  };
}

/**
 * A restore test: every archive of the backup read again in the store against the sha256 it was
 * stored with and the one its manifest names, then the backup restored into a scratch site beside
 * the live one (its own directory, database and user, on the site's platform: where a restore
 * would put it) and probed over HTTP; the scratch site is removed whatever happens. The outcome is
 * recorded on the backup (verifiedAt, or verifyFailedAt: a failed task, and its notification).
 */
export function backupVerifyWorkflow(deps: SiteTaskDependencies): Workflow<'site.backup-verify'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    const { backupId, scratch } = context.task.params;
    const backup = await context.record('backups.find', () => deps.backups.findById(backupId));
    if (!backup) throw new TaskRefusedError(`backup ${backupId} is gone: there is nothing to verify`);
    try {
      const archives = await context.phase('check', () => wholeArchives(context, deps, backup));
      const { status } = await context.scope(
        'restore test',
        () => deployScratchSite(context, steps, place, backup, scratch, place.platform),
        { phase: true },
      );
      const verifiedAt = await context.record('backups.setVerification', () =>
        deps.backups.setVerification(backup.id, true),
      );
      if (!verifiedAt) throw new TaskRefusedError(`backup ${backup.id} was removed while it was tested`);
      await context.log(`backup ${backup.id} restores: ${scratch.domain} answered ${status}`);
      return { backupId: backup.id, verifiedAt, probe: status, archives };
    } catch (error) {
      // A cancelled test says nothing of the backup.
      if (!(error instanceof TaskCancelledError)) {
        await context.record('backups.setVerification', () => deps.backups.setVerification(backup.id, false));
      }
      throw error;
    }
  };
}

/**
 * Each archive of a backup read whole in the store against its stored sha256 and its manifest's;
 * one the store lost, or that no longer matches, is put back from an off-site copy and read again.
 * The first that is still not whole fails the task with what was found, before anything is deployed.
 */
export async function wholeArchives(
  context: TaskContext<'site.backup-verify' | 'site.restore'>,
  deps: SiteTaskDependencies,
  backup: RecordedBackup,
): Promise<TaskResult<'site.backup-verify'>['archives']> {
  const manifest = backup.manifest as {
    archive?: { sha256?: string };
    database?: { sha256?: string };
  };
  const parts: Array<[string, string, string | undefined]> = [
    ['files', backup.archiveId, manifest.archive?.sha256],
  ];
  if (backup.databaseArchiveId) parts.push(['database', backup.databaseArchiveId, manifest.database?.sha256]);
  const checked: TaskResult<'site.backup-verify'>['archives'] = [];
  for (const [part, archiveId, listed] of parts) {
    let check = await context.record('archives.check', () => deps.archives.check(archiveId));
    let putBack = '';
    if (check.state === 'missing' || check.state === 'mismatch') {
      const back = await context.record('archives.putBack', () => deps.archives.putBack(archiveId));
      if ('from' in back) {
        await context.log(
          `${part} archive ${archiveId} ${check.state === 'missing' ? 'was missing from the store' : 'no longer matched its sha256'}: ` +
            `put back from off-site target ${back.from}`,
        );
        check = await context.record('archives.check', () => deps.archives.check(archiveId));
      } else {
        putBack = `, and it could not be put back: ${back.failed}`;
      }
    }
    const problem = archiveProblem(check, listed);
    if (problem) {
      throw new TaskRefusedError(
        `backup ${backup.id} cannot be restored: its ${part} archive ${problem}${putBack}`,
      );
    }
    await context.log(
      `${part} archive ${archiveId}: ${check.found!.bytes} bytes, sha256 ${check.found!.sha256} as stored`,
    );
    checked.push({ archiveId, sha256: check.found!.sha256, bytes: check.found!.bytes });
  }
  return checked;
}

/** What is wrong with an archive as checked, for people; null when it is whole and as listed. */
export function archiveProblem(check: ArchiveCheck, listedSha256: string | undefined): string | null {
  const { archiveId, expected, found } = check;
  switch (check.state) {
    case 'not-stored':
      return `${archiveId} is not in the store (the registry has it as reserved or deleted)`;
    case 'missing':
      return `${archiveId} is recorded as stored but its file is missing from the master's store`;
    case 'mismatch':
      return (
        `${archiveId} no longer matches its sha256: stored as ${expected.bytes} bytes with sha256 ` +
        `${expected.sha256}, now ${found?.bytes} bytes with sha256 ${found?.sha256}`
      );
    case 'ok':
      if (listedSha256 !== undefined && listedSha256 !== found?.sha256)
        return `${archiveId} has sha256 ${found?.sha256}, but the backup's manifest lists ${listedSha256}`;
      return null;
  }
}
