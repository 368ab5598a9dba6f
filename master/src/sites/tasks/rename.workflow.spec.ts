import { describe, expect, it } from 'vitest';
import type { RenameParams } from '../../../../shared/src/tasks.js';
import { stepFailure, WorkflowHarness, type StepCall } from '../../tasks/testing/workflow-harness.js';
import { renameWorkflow } from './rename.workflow.js';
import { replayedBefore, shown, undoneAfter } from './testing/calls.js';
import { MemorySiteRegistry, PLATFORMS, sitePlace } from './testing/memory-site-registry.js';

const site = sitePlace({ domain: 'a.example' });
const DB = site.database.name;

function rename(
  options: { redirect?: boolean; fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined } = {},
) {
  const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site] });
  const params: RenameParams = {
    from: 'a.example',
    domain: 'new.example',
    archiveId: 'rename-archive',
    filesArchiveId: 'files-archive',
    redirect: options.redirect ?? false,
  };
  const harness = new WorkflowHarness(renameWorkflow(registry), {
    type: 'site.rename',
    params,
    targetId: site.siteId,
    targetName: site.domain,
    fail: options.fail,
  });
  return { registry, harness };
}

const SUCCESS = [
  'site.archive web1 domain=a.example archiveId=rename-archive',
  'app.maintenance web1 domain=a.example platform=d102 on=true',
  'site.archive web1 domain=a.example archiveId=files-archive',
  'site.extract web1 domain=a.example targetDomain=new.example archiveId=files-archive',
  `site.write-settings web1 domain=new.example database=${DB}`,
  'site.link web1 domain=new.example platform=d102',
  'http.remove-vhost web1 domain=a.example',
  'http.write-vhost web1 domain=new.example platform=d102',
  'app.maintenance web1 domain=new.example platform=d102 on=false',
  'probe.http web1 domain=new.example',
  'site.unlink web1 domain=a.example platform=d102',
  'site.remove web1 domain=a.example',
];
/** Each undo and the step (1-based) before which it is registered; the files archive is a write. */
const UNDO: Array<[string, number]> = [
  ['app.maintenance web1 domain=a.example platform=d102 on=false', 2],
  ['site.remove web1 domain=new.example', 4],
  ['site.unlink web1 domain=new.example platform=d102', 6],
  ['http.remove-vhost web1 domain=new.example', 7],
  ['http.write-vhost web1 domain=a.example platform=d102', 7],
  ['site.link web1 domain=a.example platform=d102', 11],
];

describe('rename workflow', () => {
  it('moves the site to its new name under maintenance, then removes the old name and renames it in the registry', async () => {
    const { registry, harness } = rename();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS);
    expect(registry.writes).toEqual([
      'backups.recordOnce rename-archive rename',
      `sites.setDomain ${site.siteId} new.example`,
      'archives.remove files-archive',
    ]);
    expect(registry.siteRows.get(site.siteId)?.domain).toBe('new.example');
  });

  it('with a redirect, the new vhost answers for the old name with a 301, and that is probed', async () => {
    const trace = await rename({ redirect: true }).harness.run();
    const vhost = trace.calls.find((call) => call.step === 'http.write-vhost')!;
    expect(vhost.params.redirectFrom).toEqual(['a.example']);
    expect(shown(trace.calls)).toContain('probe.http web1 domain=a.example');
  });

  it.each(SUCCESS.map((step, index) => [step, index + 1] as const))(
    'puts the site back under its old name when %s fails',
    async (_step, failing) => {
      const { registry, harness } = rename({
        fail: (call) => (call.seq === failing ? stepFailure('boom') : undefined),
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      const undo = undoneAfter(UNDO, failing);
      expect(shown(trace.calls)).toEqual([...SUCCESS.slice(0, failing), ...undo]);
      expect(registry.siteRows.get(site.siteId)).toEqual(site);
      // The files archive goes whenever it was made; the backup taken first stays.
      expect(registry.removedArchives).toEqual(failing >= 3 ? ['files-archive'] : []);
      expect(registry.backupRows).toHaveLength(failing === 1 ? 0 : 1);
      if (failing > 1) expect(trace.outcome.rollbackCompleted).toBe(true);
    },
  );

  it.each(SUCCESS.map((step, index) => [index + 1, step] as const))(
    'replays after a master restart before step %i (%s): the same steps, the registry renamed once',
    async (stopBefore) => {
      const { registry, harness } = rename();
      const trace = await replayedBefore(harness, stopBefore);

      expect(shown(trace.calls)).toEqual(SUCCESS);
      expect(registry.count('backups.recordOnce')).toBe(1);
      expect(registry.count('sites.setDomain')).toBe(1);
    },
  );
});
