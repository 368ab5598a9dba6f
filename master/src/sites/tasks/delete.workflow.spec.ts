import { SITE_WORKFLOW_VERSION } from './site-steps.js';
import { describe, expect, it } from 'vitest';
import { stepFailure, WorkflowHarness, type StepCall } from '../../tasks/testing/workflow-harness.js';
import { deleteWorkflow } from './delete.workflow.js';
import { askedThrough, replayedBefore, shown } from './testing/calls.js';
import { MemorySiteRegistry, PLATFORMS, sitePlace } from './testing/memory-site-registry.js';

const site = sitePlace({ domain: 'a.example', status: 'disabled', db: 'db1' });

function remove(fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined) {
  const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site] });
  const harness = new WorkflowHarness(deleteWorkflow(registry), {
    version: SITE_WORKFLOW_VERSION,
    type: 'site.delete',
    params: { archiveId: 'last-archive', force: false },
    targetId: site.siteId,
    targetName: site.domain,
    fail,
  });
  return { registry, harness };
}

const SUCCESS = [
  'site.archive web1 domain=a.example archiveId=last-archive',
  `db.dump db1 database=${site.database.name} archiveId=backup-on-db1-1`,
  'http.remove-vhost web1 domain=a.example',
  'site.unlink web1 domain=a.example platform=d102',
  'site.remove web1 domain=a.example',
  `db.drop db1 database=${site.database.name}`,
];

describe('delete workflow', () => {
  it('takes a last backup (files from web1, dump from db1), removes vhost, link, directory and database, then forgets the site', async () => {
    const { registry, harness } = remove();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS);
    expect(registry.writes).toEqual([
      'archives.reserve backup-on-db1-1',
      'backups.recordOnce last-archive delete',
      `packages.replace ${site.siteId} 0`,
      `sites.remove ${site.siteId}`,
    ]);
    expect(registry.backupRows).toHaveLength(1);
  });

  it.each(SUCCESS.map((step, index) => [step, index + 1] as const))(
    'stops where %s fails and keeps the site in the registry (running delete again finishes it)',
    async (_step, failing) => {
      const { registry, harness } = remove((call) =>
        call.seq === failing ? stepFailure('boom') : undefined,
      );
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      expect(shown(trace.calls)).toEqual(askedThrough(SUCCESS, failing));
      expect(registry.siteRows.get(site.siteId)).toEqual(site);
      // Without a last backup nothing is removed.
      expect(registry.backupRows).toHaveLength(failing <= 2 ? 0 : 1);
    },
  );

  it.each(SUCCESS.map((step, index) => [index + 1, step] as const))(
    'replays after a master restart before step %i (%s): the same steps, one last backup',
    async (stopBefore) => {
      const { registry, harness } = remove();
      const trace = await replayedBefore(harness, stopBefore);

      expect(shown(trace.calls)).toEqual(SUCCESS);
      expect(registry.backupRows).toHaveLength(1);
      expect(registry.count('backups.recordOnce')).toBe(1);
      expect(registry.count('sites.remove')).toBe(1);
    },
  );
});
