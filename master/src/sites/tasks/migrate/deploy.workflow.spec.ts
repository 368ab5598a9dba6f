import { describe, expect, it } from 'vitest';
import type { DeployParams } from '../../../../../shared/src/tasks.js';
import { stepFailure, WorkflowHarness, type StepCall } from '../../../tasks/testing/workflow-harness.js';
import { SITE_WORKFLOW_VERSION } from '../site-steps.js';
import { replayedBefore, shown } from '../testing/calls.js';
import { MemorySiteRegistry, PLATFORMS, sitePlace } from '../testing/memory-site-registry.js';
import { MIGRATE_PHASES } from './migrate-phases.js';
import { DEPLOY_REWINDS, deployWorkflow } from './deploy.workflow.js';
import { DEFAULT_STEP_OUTPUTS, type StepOutputs } from '../../../tasks/testing/step-outputs.js';

const LIVE = 'a.example';
const COPY = 'rehearsal-0a0b0c0d.a.example';
const COPY_DB = 'rehearsal_0a0b0c0d_a_example_1111';
// The default outputs of site.code-fetch: the site at a...a, the ref naming b...b.
const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);

const params: DeployParams = {
  ref: 'v2',
  backupArchiveId: 'backup-archive',
  rollbackArchiveId: 'rollback-archive',
  rehearsal: { domain: COPY, database: COPY_DB, user: 'rehearsal_0a0b0c0d_1111' },
  hooks: ['config:import'],
};

const site = sitePlace({ domain: LIVE, db: 'db1' });
const DUMP = 'backup-on-db1-1';

function deploy(
  options: {
    fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined;
    current?: string;
    version?: number;
    outputs?: StepOutputs;
  } = {},
) {
  const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site] });
  const harness = new WorkflowHarness(deployWorkflow(registry), {
    version: options.version ?? SITE_WORKFLOW_VERSION,
    type: 'site.deploy',
    params,
    targetId: site.siteId,
    targetName: LIVE,
    ...(options.current
      ? { outputs: { 'site.code-fetch': () => ({ commit: NEW, current: options.current! }) } }
      : options.outputs
        ? { outputs: options.outputs }
        : {}),
    ...(options.fail ? { fail: options.fail } : {}),
  });
  return { registry, harness };
}

const FETCH = [`site.code-fetch web1 domain=${LIVE} ref=v2`];
const BACKUP = [
  `site.archive web1 domain=${LIVE} archiveId=backup-archive`,
  `db.dump db1 database=${site.database.name} archiveId=${DUMP}`,
];
const REHEARSAL = [
  `db.create db1 database=${COPY_DB}`,
  `site.extract web1 domain=${LIVE} targetDomain=${COPY} archiveId=backup-archive`,
  `db.import db1 database=${COPY_DB} archiveId=${DUMP}`,
  `site.write-settings web1 domain=${COPY} database=${COPY_DB}`,
  `site.link web1 domain=${COPY} platform=d102`,
  `site.code-checkout web1 domain=${COPY} commit=${NEW}`,
  `app.update web1 domain=${COPY} platform=d102`,
  `app.hook web1 domain=${COPY} platform=d102 hook=config:import`,
  `http.write-vhost web1 domain=${COPY} platform=d102`,
  `probe.http web1 domain=${COPY}`,
];
const REHEARSAL_CLEAN_UP = [
  `http.remove-vhost web1 domain=${COPY}`,
  `site.unlink web1 domain=${COPY} platform=d102`,
  `site.remove web1 domain=${COPY}`,
  `db.drop db1 database=${COPY_DB}`,
];
const HOLD = [
  `app.readonly web1 domain=${LIVE} platform=d102 on=true`,
  `db.dump db1 database=${site.database.name} archiveId=rollback-archive`,
];
const WINDOW = [
  `app.maintenance web1 domain=${LIVE} platform=d102 on=true`,
  `site.code-checkout web1 domain=${LIVE} commit=${NEW}`,
  `app.update web1 domain=${LIVE} platform=d102`,
  `app.hook web1 domain=${LIVE} platform=d102 hook=config:import`,
  `app.maintenance web1 domain=${LIVE} platform=d102 on=false`,
];
const WINDOW_UNDO = [
  `http.write-vhost web1 domain=${LIVE} platform=d102 disabled=true`,
  `db.import db1 database=${site.database.name} archiveId=rollback-archive`,
  `site.code-checkout web1 domain=${LIVE} commit=${OLD}`,
  `http.write-vhost web1 domain=${LIVE} platform=d102`,
  `app.maintenance web1 domain=${LIVE} platform=d102 on=false`,
];
const COMMIT = [
  `probe.http web1 domain=${LIVE}`,
  `app.packages web1 domain=${LIVE} platform=d102`,
  `db.schema-versions db1 database=${site.database.name}`,
];
const SUCCESS = [
  ...FETCH,
  ...BACKUP,
  ...REHEARSAL,
  ...REHEARSAL_CLEAN_UP,
  ...HOLD,
  ...WINDOW,
  `app.readonly web1 domain=${LIVE} platform=d102 on=false`,
  ...COMMIT,
];

describe('deploy workflow', () => {
  it('fetches, backs up, rehearses code, updates and hooks on a copy, then the same in a window', async () => {
    const { registry, harness } = deploy();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS);
    expect(trace.phases.map((phase) => phase.name)).toEqual([
      'fetch',
      MIGRATE_PHASES.backup,
      MIGRATE_PHASES.rehearsal,
      MIGRATE_PHASES.readOnlyWindow,
      MIGRATE_PHASES.rollbackPoint,
      MIGRATE_PHASES.offlineWindow,
    ]);
    expect(registry.writes).toEqual([
      `archives.reserve ${DUMP}`,
      'backups.recordOnce backup-archive pre-deploy',
      `packages.replace ${site.siteId} 2`,
      `sites.setCode ${site.siteId} v2 ${NEW}`,
      // The rollback point leaves the store with the task.
      'archives.remove rollback-archive',
    ]);
    expect(trace.outcome.result).toMatchObject({ ref: 'v2', commit: NEW, previous: OLD, unchanged: false });
  });

  it('stops at a hook that fails on the copy: the live site and its code are never touched', async () => {
    const { registry, harness } = deploy({
      fail: (call) =>
        call.step === 'app.hook' && call.params.domain === COPY
          ? stepFailure('config import failed')
          : undefined,
    });
    const trace = await harness.run();

    expect(trace.state).toBe('failed');
    expect(shown(trace.calls)).toEqual([
      ...FETCH,
      ...BACKUP,
      ...REHEARSAL.slice(0, 8),
      ...REHEARSAL_CLEAN_UP,
    ]);
    expect(registry.count('sites.setCode')).toBe(0);
  });

  it.each(WINDOW.slice(1).map((step, index) => [step, index + 2] as const))(
    'puts the database and the code back when %s fails in the window, then allows writes again',
    async (_step, failingInWindow) => {
      const failing =
        FETCH.length +
        BACKUP.length +
        REHEARSAL.length +
        REHEARSAL_CLEAN_UP.length +
        HOLD.length +
        failingInWindow;
      const { registry, harness } = deploy({
        fail: (call) => (call.seq === failing ? stepFailure('it failed') : undefined),
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      expect(shown(trace.calls)).toEqual([
        ...FETCH,
        ...BACKUP,
        ...REHEARSAL,
        ...REHEARSAL_CLEAN_UP,
        ...HOLD,
        ...WINDOW.slice(0, failingInWindow),
        ...WINDOW_UNDO,
        `app.readonly web1 domain=${LIVE} platform=d102 on=false`,
      ]);
      expect(trace.outcome.rollbackCompleted).toBe(true);
      expect(registry.count('sites.setCode')).toBe(0);
    },
  );

  it('with a row-based binary log on db1: marks it instead of dumping, and rewinds to the mark on failure', async () => {
    const { harness } = deploy({
      version: DEPLOY_REWINDS,
      outputs: {
        'db.dump': (stepParams) => ({
          ...DEFAULT_STEP_OUTPUTS['db.dump'](stepParams),
          binlog: { file: 'binlog.000003', position: 777 },
        }),
      },
      fail: (call) =>
        call.step === 'app.hook' && call.params.domain === LIVE
          ? stepFailure('config import failed')
          : undefined,
    });
    const trace = await harness.run();

    expect(trace.state).toBe('failed');
    expect(shown(trace.calls)).toEqual([
      ...FETCH,
      ...BACKUP,
      ...REHEARSAL,
      ...REHEARSAL_CLEAN_UP,
      HOLD[0],
      `db.binlog-mark db1 database=${site.database.name} since=binlog.000003:777`,
      ...WINDOW.slice(0, 4),
      WINDOW_UNDO[0],
      `db.rewind db1 database=${site.database.name} archiveId=${DUMP} from=binlog.000003:777 to=binlog.000001:4096`,
      ...WINDOW_UNDO.slice(2),
      `app.readonly web1 domain=${LIVE} platform=d102 on=false`,
    ]);
    expect(trace.outcome.rollbackCompleted).toBe(true);
  });

  it('deploys nothing when the ref names the commit the site is at', async () => {
    const { registry, harness } = deploy({ current: NEW });
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual([...FETCH, ...COMMIT.slice(1)]);
    expect(trace.outcome.result).toMatchObject({ commit: NEW, previous: NEW, unchanged: true });
    expect(registry.count('sites.setCode')).toBe(0);
  });

  it.each(SUCCESS.map((step, index) => [index + 1, step] as const))(
    'replays after a master restart before step %i (%s): the same steps, each once',
    async (stopBefore) => {
      const { registry, harness } = deploy();
      const trace = await replayedBefore(harness, stopBefore);

      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual(SUCCESS);
      expect(registry.count('backups.recordOnce')).toBe(1);
      expect(registry.count('sites.setCode')).toBe(1);
    },
  );
});
