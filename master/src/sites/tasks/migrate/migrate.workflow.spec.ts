import { SITE_WORKFLOW_VERSION } from '../site-steps.js';
import { describe, expect, it } from 'vitest';
import type { MigrateParams } from '../../../../../shared/src/tasks.js';
import { stepFailure, WorkflowHarness, type StepCall } from '../../../tasks/testing/workflow-harness.js';
import { askedThrough, replayedBefore, show, shown } from '../testing/calls.js';
import { MemorySiteRegistry, PLATFORMS, sitePlace } from '../testing/memory-site-registry.js';
import { MIGRATE_PHASES } from './migrate-phases.js';
import {
  MIGRATE_FILLS_REHEARSAL,
  MIGRATE_COPIES_REHEARSAL_FILES,
  MIGRATE_REWINDS,
  MIGRATE_RUNS_HOOKS,
  migrateWorkflow,
} from './migrate.workflow.js';
import { DEFAULT_STEP_OUTPUTS, type StepOutputs } from '../../../tasks/testing/step-outputs.js';

const LIVE = 'a.example';
const COPY = 'rehearsal-0a0b0c0d.a.example';
const COPY_DB = 'rehearsal_0a0b0c0d_a_example_1111';

const params: MigrateParams = {
  targetPlatformId: PLATFORMS.target.id,
  targetPlatform: PLATFORMS.target.name,
  backupArchiveId: 'backup-archive',
  rollbackArchiveId: 'rollback-archive',
  rehearsal: { domain: COPY, database: COPY_DB, user: 'rehearsal_0a0b0c0d_1111' },
};

const site = sitePlace({ domain: LIVE, db: 'db1' });
const DUMP = 'backup-on-db1-1';

/** The migrate of a.example from d102 to d103 on web1, its database on db1. */
function migrate(
  options: {
    fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined;
    params?: MigrateParams;
    version?: number;
    outputs?: StepOutputs;
  } = {},
) {
  const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site] });
  const held: Record<number, readonly string[]> = {};
  const harness = new WorkflowHarness(migrateWorkflow(registry), {
    version: options.version ?? SITE_WORKFLOW_VERSION,
    type: 'site.migrate',
    params: options.params ?? params,
    ...(options.outputs ? { outputs: options.outputs } : {}),
    targetId: site.siteId,
    targetName: LIVE,
    fail: (call) => {
      // Which slots the task held when each step was asked for.
      held[call.seq] = harness.store.held;
      return options.fail?.(call);
    },
  });
  return { registry, harness, held };
}

const BACKUP = [
  `site.archive web1 domain=${LIVE} archiveId=backup-archive`,
  `db.dump db1 database=${site.database.name} archiveId=${DUMP}`,
];
const REHEARSAL = [
  `db.create db1 database=${COPY_DB}`,
  `site.extract web1 domain=${LIVE} targetDomain=${COPY} archiveId=backup-archive`,
  `db.import db1 database=${COPY_DB} archiveId=${DUMP}`,
  `site.write-settings web1 domain=${COPY} database=${COPY_DB}`,
  `site.link web1 domain=${COPY} platform=d103`,
  `app.update web1 domain=${COPY} platform=d103`,
  `http.write-vhost web1 domain=${COPY} platform=d103`,
  `probe.http web1 domain=${COPY}`,
];
const REHEARSAL_CLEAN_UP = [
  `http.remove-vhost web1 domain=${COPY}`,
  `site.unlink web1 domain=${COPY} platform=d103`,
  `site.remove web1 domain=${COPY}`,
  `db.drop db1 database=${COPY_DB}`,
];
const ROLLBACK_POINT = [`db.dump db1 database=${site.database.name} archiveId=rollback-archive`];
const WINDOW = [
  `app.maintenance web1 domain=${LIVE} platform=d102 on=true`,
  `site.link web1 domain=${LIVE} platform=d103`,
  `app.update web1 domain=${LIVE} platform=d103`,
  `http.write-vhost web1 domain=${LIVE} platform=d103`,
  `app.maintenance web1 domain=${LIVE} platform=d103 on=false`,
];
const WINDOW_UNDO = [
  `http.write-vhost web1 domain=${LIVE} platform=d102 disabled=true`,
  `db.import db1 database=${site.database.name} archiveId=rollback-archive`,
  `http.write-vhost web1 domain=${LIVE} platform=d102`,
  `site.unlink web1 domain=${LIVE} platform=d103`,
  `app.maintenance web1 domain=${LIVE} platform=d102 on=false`,
];
const READ_ONLY_ON = [`app.readonly web1 domain=${LIVE} platform=d102 on=true`];
const READ_ONLY_OFF_ON_TARGET = [`app.readonly web1 domain=${LIVE} platform=d103 on=false`];
const WRITES_ALLOWED_AGAIN = [`app.readonly web1 domain=${LIVE} platform=d102 on=false`];
const COMMIT = [
  `probe.http web1 domain=${LIVE}`,
  `app.packages web1 domain=${LIVE} platform=d103`,
  `db.schema-versions db1 database=${site.database.name}`,
];

const SUCCESS = [
  ...BACKUP,
  ...REHEARSAL,
  ...REHEARSAL_CLEAN_UP,
  ...READ_ONLY_ON,
  ...ROLLBACK_POINT,
  ...WINDOW,
  ...READ_ONLY_OFF_ON_TARGET,
  ...COMMIT,
];
/** Step numbers (1-based) of the parts of a successful migrate. */
const FIRST_REHEARSAL_STEP = BACKUP.length + 1;
const FIRST_WINDOW_STEP =
  BACKUP.length +
  REHEARSAL.length +
  REHEARSAL_CLEAN_UP.length +
  READ_ONLY_ON.length +
  ROLLBACK_POINT.length +
  1;

describe('migrate workflow', () => {
  it('runs backup, rehearsal, read-only, rollback point, window, commit, in this order, and moves the site', async () => {
    const { registry, harness, held } = migrate();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS);
    expect(trace.phases.map((phase) => phase.name)).toEqual([
      MIGRATE_PHASES.backup,
      MIGRATE_PHASES.rehearsal,
      MIGRATE_PHASES.readOnlyWindow,
      MIGRATE_PHASES.rollbackPoint,
      MIGRATE_PHASES.offlineWindow,
    ]);
    // Every step of the window runs in the slots it holds on web and db; none before or after.
    for (const call of trace.calls) {
      const inWindow = call.seq >= FIRST_WINDOW_STEP && call.seq < FIRST_WINDOW_STEP + WINDOW.length;
      expect(held[call.seq], show(call)).toEqual(inWindow ? ['web1', 'db1'] : []);
    }
    expect(registry.siteRows.get(site.siteId)?.platform.id).toBe(PLATFORMS.target.id);
    expect(registry.backupRows).toHaveLength(1);
    expect(registry.writes).toEqual([
      `archives.reserve ${DUMP}`,
      'backups.recordOnce backup-archive pre-migrate',
      `packages.replace ${site.siteId} 2`,
      `sites.setPlatform ${site.siteId} ${PLATFORMS.target.id}`,
    ]);
    expect(trace.outcome.result).toMatchObject({ from: 'd102', to: 'd103', packages: 2 });
  });

  it.each(REHEARSAL.map((step, index) => [step, FIRST_REHEARSAL_STEP + index] as const))(
    'stops at a failed rehearsal step (%s): the live site is never touched, the copy is cleaned up',
    async (_step, failing) => {
      const { registry, harness } = migrate({
        fail: (call) => (call.seq === failing ? stepFailure('update 8109 failed') : undefined),
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      expect(shown(trace.calls)).toEqual([
        ...BACKUP,
        ...askedThrough(REHEARSAL, failing - FIRST_REHEARSAL_STEP + 1),
        ...REHEARSAL_CLEAN_UP,
      ]);
      expect(trace.phases.map((phase) => phase.name)).toEqual(['backup', 'rehearsal']);
      expect(registry.siteRows.get(site.siteId)).toEqual(site);
      // The backup is a good backup, and stays.
      expect(registry.backupRows).toHaveLength(1);
      expect(trace.outcome.rollbackCompleted).toBe(true);
    },
  );

  it('holds the writes with maintenance when the site has no read-only mode, and ends only that', async () => {
    const { harness } = migrate({
      fail: (call) =>
        call.step === 'app.readonly' && call.params.on === true
          ? stepFailure('no module readonlymode', 'NOT_FOUND')
          : undefined,
    });
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual([
      ...BACKUP,
      ...REHEARSAL,
      ...REHEARSAL_CLEAN_UP,
      ...READ_ONLY_ON,
      // Maintenance from here, through the rollback point: the window turns it off on the target.
      `app.maintenance web1 domain=${LIVE} platform=d102 on=true`,
      ...ROLLBACK_POINT,
      ...WINDOW.slice(1),
      ...COMMIT,
    ]);
    expect(trace.logs).toContain(
      'the site has no read-only mode (module readonlymode): maintenance holds the writes',
    );
  });

  it.each(WINDOW.map((step, index) => [step, FIRST_WINDOW_STEP + index] as const))(
    'undoes the whole window when %s fails, in order, holding its slots, then allows writes again',
    async (_step, failing) => {
      const { registry, harness, held } = migrate({
        fail: (call) => (call.seq === failing ? stepFailure('drush updatedb failed') : undefined),
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      const windowDone = WINDOW.slice(0, failing - FIRST_WINDOW_STEP + 1);
      expect(shown(trace.calls)).toEqual([
        ...BACKUP,
        ...REHEARSAL,
        ...REHEARSAL_CLEAN_UP,
        ...READ_ONLY_ON,
        ...ROLLBACK_POINT,
        ...windowDone,
        ...WINDOW_UNDO,
        ...WRITES_ALLOWED_AGAIN,
      ]);
      const undo = trace.calls.slice(failing, failing + WINDOW_UNDO.length);
      for (const call of undo) expect(held[call.seq], show(call)).toEqual(['web1', 'db1']);
      expect(held[trace.calls.at(-1)!.seq]).toEqual([]);
      expect(trace.outcome.rollbackCompleted).toBe(true);
      expect(registry.siteRows.get(site.siteId)).toEqual(site);
      expect(registry.count('sites.setPlatform')).toBe(0);
      expect(trace.phases.find((phase) => phase.name === 'offline window')?.endedAt).not.toBeNull();
    },
  );

  it('runs every undo of the window even when one fails, and says the rollback is incomplete', async () => {
    const { harness } = migrate({
      fail: (call) =>
        (call.step === 'app.update' && call.params.domain === LIVE) ||
        (call.step === 'db.import' && call.params.archiveId === 'rollback-archive')
          ? stepFailure(`${call.step} failed`)
          : undefined,
    });
    const trace = await harness.run();

    expect(shown(trace.calls).slice(-WINDOW_UNDO.length - 1)).toEqual([
      ...WINDOW_UNDO,
      ...WRITES_ALLOWED_AGAIN,
    ]);
    expect(trace.outcome.rollbackCompleted).toBe(false);
    expect(trace.logs.at(-1)).toMatch(/step app\.update failed: app\.update failed \(ROLLBACK INCOMPLETE\)$/);
  });

  it.each(SUCCESS.map((step, index) => [index + 1, step] as const))(
    'replays after a master restart before step %i (%s): the same steps, each once, and one backup',
    async (stopBefore) => {
      const { registry, harness } = migrate();
      const trace = await replayedBefore(harness, stopBefore);

      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual(SUCCESS);
      expect(registry.backupRows).toHaveLength(1);
      expect(registry.count('backups.recordOnce')).toBe(1);
      expect(registry.count('sites.setPlatform')).toBe(1);
      expect(registry.siteRows.get(site.siteId)?.platform.id).toBe(PLATFORMS.target.id);
    },
  );

  describe('with deploy hooks', () => {
    const withHooks: MigrateParams = { ...params, hooks: ['config:import', 'drush:core:cron'] };
    const hooksOn = (domain: string) => [
      `app.hook web1 domain=${domain} platform=d103 hook=config:import`,
      `app.hook web1 domain=${domain} platform=d103 hook=drush:core:cron`,
    ];
    const after = (steps: string[], step: string, inserted: string[]) => {
      const at = steps.indexOf(step) + 1;
      return [...steps.slice(0, at), ...inserted, ...steps.slice(at)];
    };
    const rehearsal = after(REHEARSAL, `app.update web1 domain=${COPY} platform=d103`, hooksOn(COPY));
    const window = after(WINDOW, `app.update web1 domain=${LIVE} platform=d103`, hooksOn(LIVE));

    it('runs them in order after the updates, on the rehearsal copy and then in the window', async () => {
      const { harness } = migrate({ params: withHooks, version: MIGRATE_RUNS_HOOKS });
      const trace = await harness.run();

      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual([
        ...BACKUP,
        ...rehearsal,
        ...REHEARSAL_CLEAN_UP,
        ...READ_ONLY_ON,
        ...ROLLBACK_POINT,
        ...window,
        ...READ_ONLY_OFF_ON_TARGET,
        ...COMMIT,
      ]);
    });

    it('stops at a hook that fails on the copy: the live site is never touched', async () => {
      const { registry, harness } = migrate({
        params: withHooks,
        version: MIGRATE_RUNS_HOOKS,
        fail: (call) =>
          call.step === 'app.hook' && call.params.domain === COPY
            ? stepFailure('config import failed')
            : undefined,
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      expect(shown(trace.calls)).toEqual([...BACKUP, ...rehearsal.slice(0, 7), ...REHEARSAL_CLEAN_UP]);
      expect(registry.siteRows.get(site.siteId)).toEqual(site);
    });

    it('undoes the whole window when a hook fails on the live site, the database back to the rollback point', async () => {
      const { registry, harness } = migrate({
        params: withHooks,
        version: MIGRATE_RUNS_HOOKS,
        fail: (call) =>
          call.step === 'app.hook' && call.params.domain === LIVE && call.params.hook === 'drush:core:cron'
            ? stepFailure('cron failed')
            : undefined,
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      expect(shown(trace.calls)).toEqual([
        ...BACKUP,
        ...rehearsal,
        ...REHEARSAL_CLEAN_UP,
        ...READ_ONLY_ON,
        ...ROLLBACK_POINT,
        ...window.slice(0, 5),
        ...WINDOW_UNDO,
        ...WRITES_ALLOWED_AGAIN,
      ]);
      expect(trace.outcome.rollbackCompleted).toBe(true);
      expect(registry.count('sites.setPlatform')).toBe(0);
    });
  });

  describe('with a row-based binary log on the db server', () => {
    /** The backup's dump names where its snapshot is in db1's binary log. */
    const outputs: StepOutputs = {
      'db.dump': (stepParams) => ({
        ...DEFAULT_STEP_OUTPUTS['db.dump'](stepParams),
        binlog: { file: 'binlog.000007', position: 1090 },
      }),
    };
    const MARK = [`db.binlog-mark db1 database=${site.database.name} since=binlog.000007:1090`];
    const REWIND = `db.rewind db1 database=${site.database.name} archiveId=${DUMP} from=binlog.000007:1090 to=binlog.000001:4096`;
    const byLog = (options: Parameters<typeof migrate>[0] = {}) =>
      migrate({ outputs, version: MIGRATE_REWINDS, ...options });

    it('takes no dump while writes wait: the rollback point is the backup and the log up to the mark', async () => {
      const { harness, registry } = byLog();
      const trace = await harness.run();

      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual([
        ...BACKUP,
        ...REHEARSAL,
        ...REHEARSAL_CLEAN_UP,
        ...READ_ONLY_ON,
        ...MARK,
        ...WINDOW,
        ...READ_ONLY_OFF_ON_TARGET,
        ...COMMIT,
      ]);
      expect(trace.phases.map((phase) => phase.name)).toContain(MIGRATE_PHASES.rollbackPoint);
      expect(trace.logs).toContain(
        `rollback point: the backup and db1's binary log up to binlog.000001:4096 (no dump while writes wait)`,
      );
      expect(registry.backupRows[0]?.manifest.database).toMatchObject({
        binlog: { file: 'binlog.000007', position: 1090 },
      });
    });

    it('rewinds the database to the mark when the live update fails, then undoes the rest as before', async () => {
      const { harness, registry } = byLog({
        fail: (call) =>
          call.step === 'app.update' && call.params.domain === LIVE
            ? stepFailure('update failed')
            : undefined,
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      expect(shown(trace.calls)).toEqual([
        ...BACKUP,
        ...REHEARSAL,
        ...REHEARSAL_CLEAN_UP,
        ...READ_ONLY_ON,
        ...MARK,
        ...WINDOW.slice(0, 3),
        WINDOW_UNDO[0],
        REWIND,
        ...WINDOW_UNDO.slice(2),
        ...WRITES_ALLOWED_AGAIN,
      ]);
      expect(trace.outcome.rollbackCompleted).toBe(true);
      expect(registry.siteRows.get(site.siteId)).toEqual(site);
    });

    it('dumps as before when the server refuses the mark (its log purged, or turned off), saying why', async () => {
      const { harness } = byLog({
        fail: (call) =>
          call.step === 'db.binlog-mark'
            ? stepFailure('the binary log binlog.000007 is no longer on the server', 'REFUSED')
            : undefined,
      });
      const trace = await harness.run();

      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual([
        ...BACKUP,
        ...REHEARSAL,
        ...REHEARSAL_CLEAN_UP,
        ...READ_ONLY_ON,
        ...MARK,
        ...ROLLBACK_POINT,
        ...WINDOW,
        ...READ_ONLY_OFF_ON_TARGET,
        ...COMMIT,
      ]);
      expect(
        trace.logs.some((line) =>
          /the binary log cannot be the rollback point .*: dumping the database/.test(line),
        ),
      ).toBe(true);
    });

    it('dumps as before in a task queued by a master from before (version 5)', async () => {
      const { harness } = byLog({ version: MIGRATE_RUNS_HOOKS });
      const trace = await harness.run();

      expect(shown(trace.calls)).toEqual(SUCCESS);
    });

    it('says why a server without the log gets a dump', async () => {
      const { harness } = migrate({ version: MIGRATE_REWINDS });
      const trace = await harness.run();

      expect(shown(trace.calls)).toEqual(SUCCESS);
      expect(trace.logs).toContain(
        'db1 keeps no row-based binary log: the rollback point is a dump while writes wait (log_bin = ON and binlog_format = ROW hold them only for the updates)',
      );
    });

    // From the mark (step 16) to the last undo (step 25).
    it.each([...Array(10).keys()].map((index) => index + FIRST_WINDOW_STEP - 1))(
      'replays after a master restart before step %i: the mark taken once, the same rollback',
      async (stopBefore) => {
        const { harness } = byLog({
          fail: (call) =>
            call.step === 'app.update' && call.params.domain === LIVE
              ? stepFailure('update failed')
              : undefined,
        });
        const trace = await replayedBefore(harness, stopBefore);
        expect(shown(trace.calls).filter((line) => line.startsWith('db.binlog-mark'))).toEqual(MARK);
        expect(shown(trace.calls)).toContain(REWIND);
        expect(trace.outcome.rollbackCompleted).toBe(true);
      },
    );
  });

  describe("the rehearsal copy filled by the backup's dump (version 7)", () => {
    const FILLED_BACKUP = [
      `db.create db1 database=${COPY_DB}`,
      `site.archive web1 domain=${LIVE} archiveId=backup-archive`,
      `db.dump db1 database=${site.database.name} archiveId=${DUMP} alsoInto=${COPY_DB}`,
    ];
    // The rehearsal as before, without its own database: no db.create, no db.import.
    const FILLED_REHEARSAL = REHEARSAL.filter((step) => !/^db\.(create|import) /.test(step));
    const FILLED_CLEAN_UP = REHEARSAL_CLEAN_UP;

    it('reads the rows once for the backup and the copy, then rehearses and migrates as before', async () => {
      const { registry, harness } = migrate({ version: MIGRATE_FILLS_REHEARSAL });
      const trace = await harness.run();

      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual([
        ...FILLED_BACKUP,
        ...FILLED_REHEARSAL,
        ...FILLED_CLEAN_UP,
        ...READ_ONLY_ON,
        ...ROLLBACK_POINT,
        ...WINDOW,
        ...READ_ONLY_OFF_ON_TARGET,
        ...COMMIT,
      ]);
      expect(registry.siteRows.get(site.siteId)?.platform.id).toBe(PLATFORMS.target.id);
    });

    it.each([
      ['the dump', `db.dump db1 database=${site.database.name} archiveId=${DUMP} alsoInto=${COPY_DB}`],
      ['the updates on the copy', `app.update web1 domain=${COPY} platform=d103`],
    ])("drops the copy's database when %s fails, the live site untouched", async (_what, failing) => {
      const { registry, harness } = migrate({
        version: MIGRATE_FILLS_REHEARSAL,
        fail: (call) => (show(call) === failing ? stepFailure('it failed') : undefined),
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      const calls = shown(trace.calls);
      expect(calls.at(-1)).toBe(`db.drop db1 database=${COPY_DB}`);
      expect(calls.filter((call) => call.includes(`domain=${LIVE} platform=d103`))).toEqual([]);
      expect(registry.siteRows.get(site.siteId)).toEqual(site);
    });
  });
  describe("the rehearsal's files copied on the web server (version 8)", () => {
    const COPY_FILES = `site.copy web1 domain=${LIVE} targetDomain=${COPY}`;

    it("copies the live site's files for the rehearsal instead of extracting the backup's", async () => {
      const trace = await migrate({ version: MIGRATE_COPIES_REHEARSAL_FILES }).harness.run();

      expect(trace.state).toBe('succeeded');
      const calls = shown(trace.calls);
      // The backup's dump still fills the copy's database (version 7); only the files' source changed.
      expect(calls.slice(0, 5)).toEqual([
        `db.create db1 database=${COPY_DB}`,
        `site.archive web1 domain=${LIVE} archiveId=backup-archive`,
        `db.dump db1 database=${site.database.name} archiveId=${DUMP} alsoInto=${COPY_DB}`,
        COPY_FILES,
        `site.write-settings web1 domain=${COPY} database=${COPY_DB}`,
      ]);
      expect(calls.filter((call) => call.startsWith('site.extract'))).toEqual([]);
    });

    it('removes the copy when site.copy fails, the live site untouched', async () => {
      const { registry, harness } = migrate({
        version: MIGRATE_COPIES_REHEARSAL_FILES,
        fail: (call) => (show(call) === COPY_FILES ? stepFailure('disk full') : undefined),
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      const calls = shown(trace.calls);
      expect(calls.slice(calls.indexOf(COPY_FILES) + 1)).toEqual(REHEARSAL_CLEAN_UP);
      expect(calls.filter((call) => call.includes(`domain=${LIVE} platform=d103`))).toEqual([]);
      expect(registry.siteRows.get(site.siteId)).toEqual(site);
    });
  });
});
