import { SITE_WORKFLOW_VERSION } from './site-steps.js';
import { describe, expect, it } from 'vitest';
import { stepFailure, WorkflowHarness, type StepCall } from '../../tasks/testing/workflow-harness.js';
import {
  backupDeleteWorkflow,
  backupWorkflow,
  RESTORE_CHECKS_ARCHIVES,
  RESTORE_SETS_ASIDE,
  restoreWorkflow,
} from './backup.workflows.js';
import { askedThrough, shown } from './testing/calls.js';
import { MemorySiteRegistry, PLATFORMS, sitePlace } from './testing/memory-site-registry.js';

const site = sitePlace({ domain: 'a.example', db: 'db1' });
const DB = site.database.name;
/** A backup taken when the site had another name (before a rename). */
const older = {
  id: 'backup-old',
  archiveId: 'old-archive',
  databaseArchiveId: 'old-dump',
  domain: 'old.example',
  manifest: {},
};

function registry() {
  return new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site], backups: [older] });
}

function restore(
  fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined,
  version = SITE_WORKFLOW_VERSION,
) {
  const sites = registry();
  const harness = new WorkflowHarness(restoreWorkflow(sites), {
    version,
    type: 'site.restore',
    params: { backupId: older.id, preArchiveId: 'pre-archive' },
    targetId: site.siteId,
    targetName: site.domain,
    fail,
  });
  return { registry: sites, harness };
}

/** The dump of the pre-restore backup, reserved on db1 by the task. */
const PRE_DUMP = 'backup-on-db1-1';
const PRE_RESTORE_BACKUP = [
  'site.archive web1 domain=a.example archiveId=pre-archive',
  `db.dump db1 database=${DB} archiveId=${PRE_DUMP}`,
];
const RESTORE = [
  'site.extract web1 domain=old.example targetDomain=a.example archiveId=old-archive',
  `db.import db1 database=${DB} archiveId=old-dump`,
  `site.write-settings web1 domain=a.example database=${DB}`,
  'site.link web1 domain=a.example platform=d102',
];
const PROBE = ['probe.http web1 domain=a.example'];
const SUCCESS = [...PRE_RESTORE_BACKUP, ...RESTORE, ...PROBE];
/** The undo: the pre-restore backup put back the same way. */
const PUT_BACK = [
  'site.extract web1 domain=a.example archiveId=pre-archive',
  `db.import db1 database=${DB} archiveId=${PRE_DUMP}`,
  `site.write-settings web1 domain=a.example database=${DB}`,
  'site.link web1 domain=a.example platform=d102',
];

describe('restore workflow', () => {
  it('backs the site up first, then restores the backup under its current name', async () => {
    const { registry, harness } = restore();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS);
    expect(registry.writes).toEqual([
      `archives.reserve ${PRE_DUMP}`,
      'backups.recordOnce pre-archive pre-restore',
    ]);
    expect(registry.backupRows.at(-1)).toMatchObject({
      archiveId: 'pre-archive',
      databaseArchiveId: PRE_DUMP,
    });
    expect(trace.outcome.result).toEqual({ restored: older.id, preRestoreBackupId: 'backup-2' });
  });

  it.each([1, 2])('touches nothing of the site when step %i of the backup first fails', async (failing) => {
    const { registry, harness } = restore((call) =>
      call.seq === failing ? stepFailure('disk full') : undefined,
    );
    const trace = await harness.run();
    expect(shown(trace.calls)).toEqual(askedThrough(PRE_RESTORE_BACKUP, failing));
    // Only the dump's reservation is undone: no backup was recorded.
    expect(registry.removedArchives).toEqual([PRE_DUMP]);
    expect(registry.count('backups.recordOnce')).toBe(0);
    expect(trace.outcome.rollbackCompleted).toBe(true);
  });

  it('restores a backup from before dumps were archives of their own: db1 imports its database.sql', async () => {
    const { registry, harness } = restore();
    registry.backupRows[0] = { ...older, databaseArchiveId: null };
    const trace = await harness.run();
    expect(shown(trace.calls)).toContain(
      `db.import db1 database=${DB} archiveId=old-archive siteArchive=true`,
    );
  });

  it('replays a version 1 restore (started by a master from before) with the database inside the site archive', async () => {
    const trace = await restore(undefined, 1).harness.run();
    expect(trace.state).toBe('succeeded');
    expect(trace.calls.map((call) => `${call.step} ${call.server}`)).toEqual([
      'site.archive web1',
      'site.extract web1',
      'site.write-settings web1',
      'site.link web1',
      'probe.http web1',
    ]);
    expect(trace.calls[0]!.params).toMatchObject({ includeDatabase: { database: DB } });
    expect(trace.calls[1]!.params).toMatchObject({ importDatabase: { database: DB } });
  });

  it.each(
    [...RESTORE, ...PROBE].map((step, index) => [step, index + PRE_RESTORE_BACKUP.length + 1] as const),
  )('puts the pre-restore backup back when %s fails', async (_step, failing) => {
    const { harness } = restore((call) => (call.seq === failing ? stepFailure('boom') : undefined));
    const trace = await harness.run();

    expect(trace.state).toBe('failed');
    expect(shown(trace.calls)).toEqual([...askedThrough(SUCCESS, failing), ...PUT_BACK]);
    expect(trace.outcome.rollbackCompleted).toBe(true);
  });

  it('version 3 checks the archives first: one the store lost is put back from off-site, then restored', async () => {
    const { registry, harness } = restore(undefined, RESTORE_CHECKS_ARCHIVES);
    registry.archiveFaults.set('old-dump', 'missing');
    registry.offsiteCopies.set('old-dump', 'offsite-eu');
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS);
    expect(registry.writes[0]).toBe('archives.putBack old-dump');
    expect(trace.logs.join('\n')).toContain('put back from off-site target offsite-eu');
  });

  it('version 3 touches nothing of the site when an archive is damaged and has no off-site copy', async () => {
    const { registry, harness } = restore(undefined, RESTORE_CHECKS_ARCHIVES);
    registry.archiveFaults.set('old-archive', 'mismatch');
    const trace = await harness.run();
    expect(trace.state).toBe('failed');
    expect(trace.calls).toEqual([]);
    expect(trace.outcome.error).toContain(
      'backup backup-old cannot be restored: its files archive old-archive no longer matches its sha256',
    );
    expect(registry.count('archives.reserve')).toBe(0);
  });

  it('fails before any step when the backup is gone', async () => {
    const sites = registry();
    sites.backupRows.splice(0);
    const trace = await new WorkflowHarness(restoreWorkflow(sites), {
      version: SITE_WORKFLOW_VERSION,
      type: 'site.restore',
      params: { backupId: older.id, preArchiveId: 'pre-archive' },
      targetId: site.siteId,
    }).run();
    expect(trace.calls).toEqual([]);
    expect(trace.outcome.error).toBe('internal error: backup backup-old is gone');
  });

  it.each(SUCCESS.map((step, index) => [index + 1, step] as const))(
    'replays after a master restart before step %i (%s): the same steps, one pre-restore backup',
    async (stopBefore) => {
      const { registry, harness } = restore();
      expect(await harness.stopBeforeStep(stopBefore)).toBe('stopped');
      // The backup row read first is the one the replay uses, even if it were deleted meanwhile.
      registry.backupRows.splice(registry.backupRows.indexOf(older), 1);
      const trace = await harness.resume();

      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual(SUCCESS);
      expect(registry.count('backups.recordOnce')).toBe(1);
    },
  );
});

describe('restore workflow, version 4: the site set aside, restored, then archived', () => {
  const ASIDE_DB = 'berth_aside_task1';
  const ASIDE_DIR = 'pre-restore-task1';
  const SET_ASIDE = [`db.set-aside db1 database=${DB} aside=${ASIDE_DB}`];
  const RESTORE_SETTING_ASIDE = [
    `site.extract web1 domain=old.example targetDomain=a.example archiveId=old-archive setAsideAs=${ASIDE_DIR}`,
    `db.import db1 database=${DB} archiveId=old-dump`,
    `site.write-settings web1 domain=a.example database=${DB}`,
    'site.link web1 domain=a.example platform=d102',
  ];
  const ARCHIVE_SET_ASIDE = [
    `site.archive web1 domain=a.example archiveId=pre-archive aside=${ASIDE_DIR}`,
    `db.dump db1 database=${ASIDE_DB} archiveId=${PRE_DUMP}`,
  ];
  const DROP_SET_ASIDE = [
    `db.drop-database db1 database=${ASIDE_DB}`,
    `site.drop-aside web1 aside=${ASIDE_DIR}`,
  ];
  const SETTING_ASIDE = [
    ...SET_ASIDE,
    ...RESTORE_SETTING_ASIDE,
    ...PROBE,
    ...ARCHIVE_SET_ASIDE,
    ...DROP_SET_ASIDE,
  ];
  const PUT_BACK_SET_ASIDE = [
    `site.put-back web1 domain=a.example aside=${ASIDE_DIR}`,
    `db.put-back db1 database=${DB} aside=${ASIDE_DB}`,
    `site.write-settings web1 domain=a.example database=${DB}`,
    'site.link web1 domain=a.example platform=d102',
  ];

  it('restores at once, then archives the site as it was as the pre-restore backup, of the live database', async () => {
    const { registry, harness } = restore(undefined, RESTORE_SETS_ASIDE);
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SETTING_ASIDE);
    expect(trace.phases.map((phase) => phase.name)).toEqual(['check', 'restore', 'backup']);
    expect(registry.backupRows.at(-1)).toMatchObject({
      archiveId: 'pre-archive',
      databaseArchiveId: PRE_DUMP,
      // The dump is of the tables set aside; it restores into the site's own database.
      manifest: { database: { database: DB } },
    });
    expect(registry.writes).toContain('backups.recordOnce pre-archive pre-restore');
    expect(trace.outcome.result).toEqual({ restored: older.id, preRestoreBackupId: 'backup-2' });
  });

  it.each(
    [...RESTORE_SETTING_ASIDE, ...PROBE].map((step, index) => [step, index + SET_ASIDE.length + 1] as const),
  )('puts the site back by renaming when %s fails', async (_step, failing) => {
    const { registry, harness } = restore(
      (call) => (call.seq === failing ? stepFailure('boom') : undefined),
      RESTORE_SETS_ASIDE,
    );
    const trace = await harness.run();

    expect(trace.state).toBe('failed');
    expect(shown(trace.calls)).toEqual([...askedThrough(SETTING_ASIDE, failing), ...PUT_BACK_SET_ASIDE]);
    expect(trace.outcome.rollbackCompleted).toBe(true);
    expect(registry.count('backups.recordOnce')).toBe(0);
  });

  it('archives the site first, as version 3 does, when its database cannot be set aside', async () => {
    const { harness } = restore(
      (call) =>
        call.step === 'db.set-aside'
          ? stepFailure('a.example_db has 2 views, triggers, routines or events', 'REFUSED')
          : undefined,
      RESTORE_SETS_ASIDE,
    );
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual([...SET_ASIDE, ...SUCCESS]);
    expect(trace.logs.join('\n')).toContain('the site is archived first instead');
  });

  it('keeps the restore and what it set aside when the archive of it fails, and says where that is', async () => {
    const { registry, harness } = restore(
      (call) => (call.step === 'db.dump' ? stepFailure('disk full') : undefined),
      RESTORE_SETS_ASIDE,
    );
    const trace = await harness.run();

    expect(trace.state).toBe('failed');
    const calls = shown(trace.calls);
    expect(calls).toEqual([...SET_ASIDE, ...RESTORE_SETTING_ASIDE, ...PROBE, ...ARCHIVE_SET_ASIDE]);
    expect(trace.outcome.error).toContain('a.example is restored from backup backup-old');
    expect(trace.outcome.error).toContain(
      `kept as database ${ASIDE_DB} on db1 and directory sites/.aside-${ASIDE_DIR} on web1`,
    );
    expect(registry.removedArchives).toEqual([PRE_DUMP]);
  });

  it('keeps the pre-restore backup and says what to remove when dropping what was set aside fails', async () => {
    const { registry, harness } = restore(
      (call) => (call.step === 'site.drop-aside' ? stepFailure('permission denied') : undefined),
      RESTORE_SETS_ASIDE,
    );
    const trace = await harness.run();

    expect(trace.state).toBe('failed');
    expect(shown(trace.calls)).toEqual(SETTING_ASIDE);
    expect(trace.outcome.error).toContain('the site as it was before is backup backup-2');
    expect(trace.outcome.error).toContain(`remove database ${ASIDE_DB} on db1`);
    expect(registry.count('backups.recordOnce')).toBe(1);
  });

  it.each(SETTING_ASIDE.map((step, index) => [index + 1, step] as const))(
    'replays after a master restart before step %i (%s): the same steps and names, one pre-restore backup',
    async (stopBefore) => {
      const { registry, harness } = restore(undefined, RESTORE_SETS_ASIDE);
      expect(await harness.stopBeforeStep(stopBefore)).toBe('stopped');
      const trace = await harness.resume();

      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual(SETTING_ASIDE);
      expect(registry.count('backups.recordOnce')).toBe(1);
    },
  );
});

describe('backup workflow', () => {
  it('archives the files on web1 and the dump on db1, one backup recorded once, even when a restarted master replays it at its end', async () => {
    const sites = registry();
    const harness = new WorkflowHarness(backupWorkflow(sites), {
      version: SITE_WORKFLOW_VERSION,
      type: 'site.backup',
      params: { archiveId: 'manual-archive' },
      targetId: site.siteId,
    });
    expect(await harness.stopBeforeStep(3)).toBe('finished');
    const trace = await harness.resume();
    expect(shown(trace.calls)).toEqual([
      'site.archive web1 domain=a.example archiveId=manual-archive',
      `db.dump db1 database=${DB} archiveId=backup-on-db1-1`,
    ]);
    expect(sites.count('backups.recordOnce')).toBe(1);
    expect(sites.count('archives.reserve')).toBe(1);
    expect(trace.outcome.result).toMatchObject({
      backupId: 'backup-2',
      manifest: { database: { database: DB, archiveId: 'backup-on-db1-1' } },
    });
  });

  it('discards a partial archive and the dump', async () => {
    const sites = registry();
    const trace = await new WorkflowHarness(backupWorkflow(sites), {
      version: SITE_WORKFLOW_VERSION,
      type: 'site.backup',
      params: { archiveId: 'manual-archive' },
      targetId: site.siteId,
      fail: () => stepFailure('disk full'),
    }).run();
    expect(trace.state).toBe('failed');
    expect(sites.removedArchives).toEqual(['backup-on-db1-1', 'manual-archive']);
    expect(sites.backupRows).toEqual([older]);
  });

  it('deletes a backup: its archives (files, dump), then its row', async () => {
    const sites = registry();
    const trace = await new WorkflowHarness(backupDeleteWorkflow(sites), {
      version: SITE_WORKFLOW_VERSION,
      type: 'site.backup-delete',
      params: { backupId: older.id },
      targetId: site.siteId,
    }).run();
    expect(trace.calls).toEqual([]);
    expect(sites.writes).toEqual([
      'archives.remove old-archive',
      'archives.remove old-dump',
      'backups.remove backup-old',
    ]);
  });
});
