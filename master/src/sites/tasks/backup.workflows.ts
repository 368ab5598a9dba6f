import type { TaskResult } from '../../../../shared/src/tasks.js';
import type { ArchiveCheck } from '../../backups/archive-store.js';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import {
  StepFailedError,
  TaskCancelledError,
  TaskRefusedError,
  type TaskContext,
  type Workflow,
} from '../../tasks/workflow.js';
import { deployScratchSite } from './scratch-site.js';
import {
  sideBySide,
  SiteSteps,
  type BackupParts,
  type RecordedBackup,
  type RestoreOptions,
  type SetAside,
  type SitePlace,
  type SiteTaskDependencies,
} from './site-steps.js';

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
 * The restore version that sets the site as it is aside (renamed, nothing copied) instead of
 * archiving it first, restores, and archives what it set aside once the site is back.
 */
export const RESTORE_SETS_ASIDE = 4;

/**
 * Restore: the chosen backup's files and database back, the settings written again for this site
 * and server, the link, a probe; the site as it was before kept as a backup (pre-restore).
 *
 * From version 4 the site as it was is set aside first — its tables renamed into a database of
 * their own (db.set-aside: atomic, no row read), its directory kept beside when the backup's
 * replaces it — so the restore starts at once, the database it fills is empty (no table of the
 * state before survives), and a restore that fails is undone by renaming back. Once the site
 * answers, what was set aside is archived as the pre-restore backup and dropped. A database that
 * cannot be set aside by renaming (views, triggers, routines, events) takes version 3's way:
 * archived first, then restored, the archive restored back on a failure.
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
    if (context.task.workflowVersion >= RESTORE_SETS_ASIDE) {
      const done = await restoreSettingAside(context, steps, place, backup, preArchiveId);
      if (done) return done;
    }
    const before = await context.phase('backup', () =>
      steps.archive(context, place, preArchiveId, 'pre-restore'),
    );
    context.onRollback('the site back as it was before the restore', () =>
      restoreInto(context, steps, place, before),
    );
    await context.phase('restore', () => restoreInto(context, steps, place, backup));
    await probeRestored(context, steps, place);
    return { restored: backup.id, preRestoreBackupId: before.id };
  };
}

/** A backup's files and dump into the site, then its settings (never in backups) and links. */
async function restoreInto(
  context: TaskContext<'site.restore'>,
  steps: SiteSteps,
  place: SitePlace,
  archive: BackupParts,
  options: RestoreOptions = {},
): Promise<void> {
  // A backup taken before a rename is of the old name: it is extracted under the current one.
  await steps.restoreBackup(context, archive, { ...place, database: place.database.name }, options);
  await steps.writeSettings(context, place);
  await steps.onHeads(context, place, 'site.link', () => place.on);
}

/** Every head answers the restored site: 200, or 503 (in maintenance). */
async function probeRestored(context: TaskContext<'site.restore'>, steps: SiteSteps, place: SitePlace) {
  await steps.onHeads(context, place, 'probe.http', () => ({
    domain: place.domain,
    expectStatus: [200, 503],
  }));
}

/**
 * Version 4's restore (see restoreWorkflow); null, with nothing changed, when the database cannot
 * be set aside. The names set aside are the task's own, the same on a replay.
 */
async function restoreSettingAside(
  context: TaskContext<'site.restore'>,
  steps: SiteSteps,
  place: SitePlace,
  backup: BackupParts & { id: string },
  preArchiveId: string,
): Promise<TaskResult<'site.restore'> | null> {
  const key = context.task.id.replace(/-/g, '').slice(0, 16);
  const setAside: SetAside = { directory: `pre-restore-${key}`, database: `berth_aside_${key}` };
  const database = place.database.name;
  const restored = await context.scope('restore', async () => {
    context.onRollback('the site put back as it was before the restore', async () => {
      await sideBySide(
        context.step(place.web, 'site.put-back', { domain: place.domain, aside: setAside.directory }),
        context.step(place.db, 'db.put-back', { database, aside: setAside.database }),
      );
      await steps.writeSettings(context, place);
      await steps.onHeads(context, place, 'site.link', () => place.on);
    });
    return context.phase('restore', async () => {
      try {
        await context.step(place.db, 'db.set-aside', { database, aside: setAside.database });
      } catch (error) {
        if (!(error instanceof StepFailedError && error.failure.code === StepErrorCode.Refused)) throw error;
        await context.log(`${error.message}; the site is archived first instead`);
        return false;
      }
      await restoreInto(context, steps, place, backup, { setAsideAs: setAside.directory });
      await probeRestored(context, steps, place);
      return true;
    });
  });
  if (!restored) return null;
  await context.log(`${place.domain} is restored from backup ${backup.id}; archiving what it was before`);
  // The restore stands from here: a failure keeps what was set aside where it is, and says where.
  const kept = `database ${setAside.database} on ${place.dbName} and directory sites/.aside-${setAside.directory} on ${place.webName}`;
  let before: RecordedBackup;
  try {
    before = await context.phase('backup', () =>
      steps.archive(context, place, preArchiveId, 'pre-restore', { setAside }),
    );
  } catch (error) {
    if (error instanceof TaskCancelledError) throw error;
    throw new TaskRefusedError(
      `${place.domain} is restored from backup ${backup.id}, but the site as it was before could not be ` +
        `archived (${(error as Error).message}): it is kept as ${kept}`,
    );
  }
  try {
    await sideBySide(
      context.step(place.db, 'db.drop-database', { database: setAside.database }),
      context.step(place.web, 'site.drop-aside', { aside: setAside.directory }),
    );
  } catch (error) {
    if (error instanceof TaskCancelledError) throw error;
    throw new TaskRefusedError(
      `${place.domain} is restored from backup ${backup.id} and the site as it was before is backup ` +
        `${before.id}, but removing what was set aside failed (${(error as Error).message}): remove ${kept}`,
    );
  }
  return { restored: backup.id, preRestoreBackupId: before.id };
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
