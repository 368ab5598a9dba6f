import { SITE_WORKFLOW_VERSION } from './site-steps.js';
import { describe, expect, it } from 'vitest';
import type { CloneParams } from '../../../../shared/src/tasks.js';
import { stepFailure, WorkflowHarness, type StepCall } from '../../tasks/testing/workflow-harness.js';
import { cloneWorkflow } from './clone.workflow.js';
import { askedThrough, replayedBefore, shown, undoneAfter } from './testing/calls.js';
import { MemorySiteRegistry, PLATFORMS, sitePlace } from './testing/memory-site-registry.js';

const source = sitePlace({ domain: 'a.example', db: 'db1' });
const copy = sitePlace({ domain: 'b.example', platform: PLATFORMS.target, status: 'installing', db: 'db1' });
/** The source's dump, reserved on db1 by the task. */
const DUMP = 'backup-on-db1-1';
const params: CloneParams = {
  cloneSiteId: copy.siteId,
  cloneDomain: copy.domain,
  platform: PLATFORMS.target.name,
  archiveId: 'clone-archive',
  secretsFrom: copy.siteId,
};

function clone(fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined) {
  const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [source, copy] });
  const harness = new WorkflowHarness(cloneWorkflow(registry), {
    version: SITE_WORKFLOW_VERSION,
    type: 'site.clone',
    params,
    targetId: source.siteId,
    targetName: source.domain,
    fail,
  });
  return { registry, harness };
}

const DB = copy.database.name;
const SUCCESS = [
  'site.archive web1 domain=a.example archiveId=clone-archive',
  `db.dump db1 database=${source.database.name} archiveId=${DUMP}`,
  `db.create db1 database=${DB}`,
  'site.extract web1 domain=a.example targetDomain=b.example archiveId=clone-archive',
  `db.import db1 database=${DB} archiveId=${DUMP}`,
  `site.write-settings web1 domain=b.example database=${DB}`,
  'site.link web1 domain=b.example platform=d103',
  // Onto a newer platform: the updates run on the clone.
  'app.update web1 domain=b.example platform=d103',
  'http.write-vhost web1 domain=b.example platform=d103',
  'probe.http web1 domain=b.example',
  'app.packages web1 domain=b.example platform=d103',
  `db.schema-versions db1 database=${DB}`,
];
/** The undo of each thing the clone made, and the step (1-based) before which it is registered. */
const UNDO: Array<[string, number]> = [
  [`db.drop db1 database=${DB}`, 3],
  ['site.remove web1 domain=b.example', 4],
  ['site.unlink web1 domain=b.example platform=d103', 7],
  ['http.remove-vhost web1 domain=b.example', 9],
];

describe('clone workflow', () => {
  it('makes the new site from a backup of the source, with its own database, and runs the updates on it', async () => {
    const { registry, harness } = clone();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS);
    expect(registry.writes).toEqual([
      `archives.reserve ${DUMP}`,
      'backups.recordOnce clone-archive clone',
      `packages.replace ${copy.siteId} 2`,
      `sites.setStatus ${copy.siteId} enabled`,
    ]);
    expect(registry.siteRows.get(source.siteId)).toEqual(source);
    expect(trace.outcome.result).toMatchObject({ domain: 'b.example', from: 'a.example', updated: true });
  });

  it('does not update a clone on the same platform', async () => {
    const registry = new MemorySiteRegistry({
      platforms: Object.values(PLATFORMS),
      sites: [
        source,
        { ...copy, platform: PLATFORMS.current, on: { domain: 'b.example', platform: 'd102' } },
      ],
    });
    const trace = await new WorkflowHarness(cloneWorkflow(registry), {
      version: SITE_WORKFLOW_VERSION,
      type: 'site.clone',
      params: { ...params, platform: 'd102' },
      targetId: source.siteId,
    }).run();
    expect(trace.calls.map((call) => call.step)).not.toContain('app.update');
    expect(trace.outcome.result).toMatchObject({ updated: false });
  });

  it.each(SUCCESS.map((step, index) => [step, index + 1] as const))(
    'undoes everything of the clone when %s fails, newest first, and forgets it',
    async (_step, failing) => {
      const { registry, harness } = clone((call) => (call.seq === failing ? stepFailure('boom') : undefined));
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      const undo = undoneAfter(UNDO, failing);
      expect(shown(trace.calls)).toEqual([...askedThrough(SUCCESS, failing), ...undo]);
      expect(registry.siteRows.has(copy.siteId)).toBe(false);
      expect(registry.siteRows.get(source.siteId)).toEqual(source);
      // The source's backup, once recorded, is a good backup and stays; a partial one goes.
      const inBackup = failing <= 2;
      expect(registry.backupRows).toHaveLength(inBackup ? 0 : 1);
      expect(registry.removedArchives).toEqual(inBackup ? [DUMP, 'clone-archive'] : []);
      expect(trace.outcome.rollbackCompleted).toBe(true);
    },
  );

  it.each(SUCCESS.map((step, index) => [index + 1, step] as const))(
    'replays after a master restart before step %i (%s): the same steps, one backup, the clone enabled once',
    async (stopBefore) => {
      const { registry, harness } = clone();
      const trace = await replayedBefore(harness, stopBefore);

      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual(SUCCESS);
      expect(registry.backupRows).toHaveLength(1);
      expect(registry.count('backups.recordOnce')).toBe(1);
      expect(registry.count('sites.setStatus')).toBe(1);
    },
  );
});
