import type { Workflow } from '../../tasks/workflow.js';
import { SiteSteps, type BackupParts, type SiteTaskDependencies } from './site-steps.js';

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
