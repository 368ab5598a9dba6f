import { describe, expect, it } from 'vitest';
import { stepFailure, WorkflowHarness, type StepCall } from '../../tasks/testing/workflow-harness.js';
import { backupDeleteWorkflow, backupWorkflow, restoreWorkflow } from './backup.workflows.js';
import { shown } from './testing/calls.js';
import { MemorySiteRegistry, PLATFORMS, sitePlace } from './testing/memory-site-registry.js';

const site = sitePlace({ domain: 'a.example' });
const DB = site.database.name;
/** A backup taken when the site had another name (before a rename). */
const older = { id: 'backup-old', archiveId: 'old-archive', domain: 'old.example', manifest: {} };

function registry() {
  return new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site], backups: [older] });
}

function restore(fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined) {
  const sites = registry();
  const harness = new WorkflowHarness(restoreWorkflow(sites), {
    type: 'site.restore',
    params: { backupId: older.id, preArchiveId: 'pre-archive' },
    targetId: site.siteId,
    targetName: site.domain,
    fail,
  });
  return { registry: sites, harness };
}

const PRE_RESTORE_BACKUP = ['site.archive web1 domain=a.example archiveId=pre-archive'];
const RESTORE = [
  'site.extract web1 domain=old.example targetDomain=a.example archiveId=old-archive',
  `site.write-settings web1 domain=a.example database=${DB}`,
  'site.link web1 domain=a.example platform=d102',
];
const PROBE = ['probe.http web1 domain=a.example'];
const SUCCESS = [...PRE_RESTORE_BACKUP, ...RESTORE, ...PROBE];
/** The undo: the pre-restore backup put back the same way. */
const PUT_BACK = [
  'site.extract web1 domain=a.example archiveId=pre-archive',
  `site.write-settings web1 domain=a.example database=${DB}`,
  'site.link web1 domain=a.example platform=d102',
];

describe('restore workflow', () => {
  it('backs the site up first, then restores the backup under its current name', async () => {
    const { registry, harness } = restore();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS);
    expect(registry.writes).toEqual(['backups.recordOnce pre-archive pre-restore']);
    expect(trace.outcome.result).toEqual({ restored: older.id, preRestoreBackupId: 'backup-2' });
  });

  it('touches nothing when the backup first fails', async () => {
    const trace = await restore((call) =>
      call.seq === 1 ? stepFailure('disk full') : undefined,
    ).harness.run();
    expect(shown(trace.calls)).toEqual(PRE_RESTORE_BACKUP);
    expect(trace.outcome.rollbackCompleted).toBeNull();
  });

  it.each([...RESTORE, ...PROBE].map((step, index) => [step, index + 2] as const))(
    'puts the pre-restore backup back when %s fails',
    async (_step, failing) => {
      const { harness } = restore((call) => (call.seq === failing ? stepFailure('boom') : undefined));
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      expect(shown(trace.calls)).toEqual([...SUCCESS.slice(0, failing), ...PUT_BACK]);
      expect(trace.outcome.rollbackCompleted).toBe(true);
    },
  );

  it('fails before any step when the backup is gone', async () => {
    const sites = registry();
    sites.backupRows.splice(0);
    const trace = await new WorkflowHarness(restoreWorkflow(sites), {
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

describe('backup workflow', () => {
  it('archives the site and records the backup once, even when a restarted master replays it at its end', async () => {
    const sites = registry();
    const harness = new WorkflowHarness(backupWorkflow(sites), {
      type: 'site.backup',
      params: { archiveId: 'manual-archive' },
      targetId: site.siteId,
    });
    expect(await harness.stopBeforeStep(2)).toBe('finished');
    const trace = await harness.resume();
    expect(shown(trace.calls)).toEqual(['site.archive web1 domain=a.example archiveId=manual-archive']);
    expect(sites.count('backups.recordOnce')).toBe(1);
    expect(trace.outcome.result).toMatchObject({ backupId: 'backup-2' });
  });

  it('discards a partial archive', async () => {
    const sites = registry();
    const trace = await new WorkflowHarness(backupWorkflow(sites), {
      type: 'site.backup',
      params: { archiveId: 'manual-archive' },
      targetId: site.siteId,
      fail: () => stepFailure('disk full'),
    }).run();
    expect(trace.state).toBe('failed');
    expect(sites.removedArchives).toEqual(['manual-archive']);
    expect(sites.backupRows).toEqual([older]);
  });

  it('deletes a backup: its archive, then its row', async () => {
    const sites = registry();
    const trace = await new WorkflowHarness(backupDeleteWorkflow(sites), {
      type: 'site.backup-delete',
      params: { backupId: older.id },
      targetId: site.siteId,
    }).run();
    expect(trace.calls).toEqual([]);
    expect(sites.writes).toEqual(['archives.remove old-archive', 'backups.remove backup-old']);
  });
});
