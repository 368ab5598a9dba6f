import { describe, expect, it } from 'vitest';
import type { SyncParams } from '../../../../shared/src/tasks.js';
import { SITE_WORKFLOW_VERSION } from '../../sites/tasks/site-steps.js';
import { shown } from '../../sites/tasks/testing/calls.js';
import { MemorySiteRegistry, PLATFORMS, sitePlace } from '../../sites/tasks/testing/memory-site-registry.js';
import { stepFailure, WorkflowHarness, type StepCall } from '../../tasks/testing/workflow-harness.js';
import { syncWorkflow } from './sync.workflow.js';

const live = sitePlace({ domain: 'live.example', siteId: 'site-live' });
const test = sitePlace({ domain: 'test.example', siteId: 'site-test' });

const params: SyncParams = {
  source: { siteId: live.siteId, domain: live.domain },
  db: true,
  files: true,
  sanitize: 'sql:sanitize',
  hooks: ['config:import'],
  targetArchiveId: 'test-backup',
  sourceArchiveId: 'live-copy',
};

function sync(
  options: {
    fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined;
    params?: SyncParams;
  } = {},
) {
  const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [live, test] });
  const harness = new WorkflowHarness(syncWorkflow(registry), {
    version: SITE_WORKFLOW_VERSION,
    type: 'site.sync',
    params: options.params ?? params,
    targetId: test.siteId,
    targetName: test.domain,
    ...(options.fail ? { fail: options.fail } : {}),
  });
  return { registry, harness };
}

const BACKUPS = [
  'site.archive web1 domain=test.example archiveId=test-backup',
  `db.dump web1 database=${test.database.name} archiveId=backup-on-web1-1`,
  'site.archive web1 domain=live.example archiveId=live-copy',
  `db.dump web1 database=${live.database.name} archiveId=backup-on-web1-2`,
];
const SYNC = [
  'app.maintenance web1 domain=test.example platform=d102 on=true',
  `db.import web1 database=${test.database.name} archiveId=backup-on-web1-2`,
  'app.sanitize web1 domain=test.example platform=d102',
  'site.extract web1 domain=live.example targetDomain=test.example archiveId=live-copy onlyFiles=true',
  'app.update web1 domain=test.example platform=d102',
  'app.hook web1 domain=test.example platform=d102 hook=config:import',
  'app.maintenance web1 domain=test.example platform=d102 on=false',
];

describe('environment sync workflow', () => {
  it("backs the target up, copies the source's database and files into it, sanitizes, runs its updates and hooks", async () => {
    const { harness } = sync();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual([...BACKUPS, ...SYNC, 'probe.http web1 domain=test.example']);
    // Nothing runs on the source but its backup.
    const onSource = trace.calls.filter(
      (call) => call.params.domain === 'live.example' && !call.params.targetDomain,
    );
    expect(onSource.map((call) => call.step)).toEqual(['site.archive']);
    expect(trace.outcome.result).toMatchObject({
      from: 'live.example',
      to: 'test.example',
      sanitized: 'sql:sanitize',
    });
  });

  it('copies only the files when asked, without sanitizing or updating', async () => {
    const { harness } = sync({ params: { ...params, db: false } });
    const trace = await harness.run();

    expect(shown(trace.calls).slice(BACKUPS.length)).toEqual([
      SYNC[0],
      SYNC[3],
      SYNC[6],
      'probe.http web1 domain=test.example',
    ]);
  });

  it('restores the target from its backup when the sanitizing fails: nothing unscrubbed is left', async () => {
    const { harness } = sync({
      fail: (call) => (call.step === 'app.sanitize' ? stepFailure('sql:sanitize failed') : undefined),
    });
    const trace = await harness.run();

    expect(trace.state).toBe('failed');
    expect(shown(trace.calls).slice(BACKUPS.length + 3)).toEqual([
      'site.extract web1 domain=test.example archiveId=test-backup',
      `db.import web1 database=${test.database.name} archiveId=backup-on-web1-1`,
      expect.stringMatching(/^site\.write-settings web1 domain=test\.example/) as string,
      'app.maintenance web1 domain=test.example platform=d102 on=false',
    ]);
    expect(trace.outcome.rollbackCompleted).toBe(true);
  });
});
