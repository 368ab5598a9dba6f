import { describe, expect, it } from 'vitest';
import type { MigrateParams } from '../../../../../shared/src/tasks.js';
import { stepFailure, WorkflowHarness, type StepCall } from '../../../tasks/testing/workflow-harness.js';
import { replayedBefore, shown } from '../testing/calls.js';
import { MemorySiteRegistry, PLATFORMS, sitePlace } from '../testing/memory-site-registry.js';
import { MIGRATE_PHASES } from './migrate-phases.js';
import { MIGRATE_REWINDS, migrateWorkflow } from './migrate.workflow.js';

const LIVE = 'a.example';
const TWIN = 'green-0a0b0c0d.a.example';
const COPY_DB = 'a_example_5b5b5b5b';

const params: MigrateParams = {
  targetPlatformId: PLATFORMS.target.id,
  targetPlatform: PLATFORMS.target.name,
  backupArchiveId: 'backup-archive',
  rollbackArchiveId: 'rollback-archive',
  rehearsal: { domain: 'rehearsal-0a0b0c0d.a.example', database: 'r_1111', user: 'r_1111' },
  strategy: 'blue-green',
  blueGreen: { domain: TWIN, database: COPY_DB },
};

const site = sitePlace({ domain: LIVE, db: 'db1' });
const OLD_DB = site.database.name;
const DUMP = 'backup-on-db1-1';

function blueGreen(options: { fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined } = {}) {
  const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site] });
  const harness = new WorkflowHarness(migrateWorkflow(registry), {
    version: MIGRATE_REWINDS,
    type: 'site.migrate',
    params,
    targetId: site.siteId,
    targetName: LIVE,
    ...(options.fail ? { fail: options.fail } : {}),
  });
  return { registry, harness };
}

const BACKUP = [
  `site.archive web1 domain=${LIVE} archiveId=backup-archive`,
  `db.dump db1 database=${OLD_DB} archiveId=${DUMP}`,
  // Settings as this version writes them (they take the vhost's database), the same database.
  `site.write-settings web1 domain=${LIVE} database=${OLD_DB}`,
];
const READ_ONLY = [`app.readonly web1 domain=${LIVE} platform=d102 on=true`];
const COPY = [`db.create db1 database=${COPY_DB} fresh=true`, `db.copy db1 from=${OLD_DB} to=${COPY_DB}`];
const GREEN = [
  `site.write-settings web1 domain=${TWIN} database=${COPY_DB}`,
  `site.link web1 domain=${TWIN} platform=d103`,
  `http.write-vhost web1 domain=${TWIN} platform=d103`,
  `app.update web1 domain=${TWIN} platform=d103`,
  `probe.http web1 domain=${TWIN}`,
];
const SWITCH = [
  `site.link web1 domain=${LIVE} platform=d103`,
  `http.write-vhost web1 domain=${LIVE} platform=d103 database=${COPY_DB}`,
  `site.write-settings web1 domain=${LIVE} database=${COPY_DB}`,
  `app.readonly web1 domain=${LIVE} platform=d103 on=false`,
  `probe.http web1 domain=${LIVE}`,
];
const SWITCH_UNDO = [
  `site.write-settings web1 domain=${LIVE} database=${OLD_DB}`,
  `http.write-vhost web1 domain=${LIVE} platform=d102`,
  `site.unlink web1 domain=${LIVE} platform=d103`,
];
const TWIN_REMOVED = [
  `http.remove-vhost web1 domain=${TWIN}`,
  `site.unlink web1 domain=${TWIN} platform=d103`,
  `site.remove web1 domain=${TWIN}`,
];
const COPY_DROPPED = [`db.drop-database db1 database=${COPY_DB}`];
const WRITES_ALLOWED_AGAIN = [`app.readonly web1 domain=${LIVE} platform=d102 on=false`];
const COMMIT = [
  `app.packages web1 domain=${LIVE} platform=d103`,
  `db.schema-versions db1 database=${COPY_DB}`,
];
const SUCCESS = [
  ...BACKUP,
  ...READ_ONLY,
  ...COPY,
  ...GREEN,
  ...SWITCH,
  ...TWIN_REMOVED,
  ...COMMIT,
  `db.drop-database db1 database=${OLD_DB}`,
];

describe('blue-green migrate workflow', () => {
  it('copies the database, updates it as a hidden site, switches code and database in one vhost write, and has no offline window', async () => {
    const { registry, harness } = blueGreen();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS);
    expect(trace.phases.map((phase) => phase.name)).toEqual([
      MIGRATE_PHASES.backup,
      MIGRATE_PHASES.readOnlyWindow,
      MIGRATE_PHASES.databaseCopy,
      MIGRATE_PHASES.green,
      MIGRATE_PHASES.switch,
    ]);
    // No maintenance at any moment.
    expect(shown(trace.calls).filter((line) => line.startsWith('app.maintenance'))).toEqual([]);
    const row = registry.siteRows.get(site.siteId)!;
    expect(row.platform.id).toBe(PLATFORMS.target.id);
    expect(row.database.name).toBe(COPY_DB);
    expect(registry.writes.slice(-4)).toEqual([
      `sites.setDatabaseName ${site.siteId} ${COPY_DB}`,
      `sites.setPlatform ${site.siteId} ${PLATFORMS.target.id}`,
      `packages.replace ${site.siteId} 2`,
      // Reserved with every migrate, unused by this one: it leaves the store with the task.
      'archives.remove rollback-archive',
    ]);
  });

  it('refuses a site without read-only mode before anything changes', async () => {
    const { registry, harness } = blueGreen({
      fail: (call) =>
        call.step === 'app.readonly' ? stepFailure('no module readonlymode', 'NOT_FOUND') : undefined,
    });
    const trace = await harness.run();

    expect(trace.state).toBe('failed');
    expect(trace.outcome.error).toMatch(/has no read-only mode \(module readonlymode\).*--strategy in-place/);
    expect(shown(trace.calls)).toEqual([...BACKUP, ...READ_ONLY]);
    expect(registry.siteRows.get(site.siteId)).toEqual(site);
  });

  it.each(GREEN.map((step, index) => [step, index] as const))(
    'leaves the live site as it was when %s fails on the copy: the copy goes, writes are allowed again',
    async (_step, index) => {
      const failing = BACKUP.length + READ_ONLY.length + COPY.length + index + 1;
      const { registry, harness } = blueGreen({
        fail: (call) => (call.seq === failing ? stepFailure('update failed on the copy') : undefined),
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      expect(shown(trace.calls)).toEqual([
        ...BACKUP,
        ...READ_ONLY,
        ...COPY,
        ...GREEN.slice(0, index + 1),
        ...TWIN_REMOVED,
        ...COPY_DROPPED,
        ...WRITES_ALLOWED_AGAIN,
      ]);
      // Nothing of the live site changed: no vhost, no link of its domain, its settings as they were.
      expect(
        shown(trace.calls.filter((call) => call.params.domain === LIVE && call.step !== 'app.readonly')),
      ).toEqual([BACKUP[0], BACKUP[2]]);
      expect(trace.outcome.rollbackCompleted).toBe(true);
      expect(registry.siteRows.get(site.siteId)).toEqual(site);
    },
  );

  it.each(SWITCH.map((step, index) => [step, index] as const))(
    'undoes the switch when %s fails: every moment one code on its own database, then the old platform serves',
    async (_step, index) => {
      const failing = BACKUP.length + READ_ONLY.length + COPY.length + GREEN.length + index + 1;
      const { registry, harness } = blueGreen({
        fail: (call) => (call.seq === failing ? stepFailure('it failed') : undefined),
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      expect(shown(trace.calls)).toEqual([
        ...BACKUP,
        ...READ_ONLY,
        ...COPY,
        ...GREEN,
        ...SWITCH.slice(0, index + 1),
        ...SWITCH_UNDO,
        ...TWIN_REMOVED,
        ...COPY_DROPPED,
        ...WRITES_ALLOWED_AGAIN,
      ]);
      expect(trace.outcome.rollbackCompleted).toBe(true);
      expect(registry.siteRows.get(site.siteId)).toEqual(site);
    },
  );

  it('keeps the switch once it is done: a failure after it drops no copy and undoes nothing, the registry names the copy', async () => {
    const { registry, harness } = blueGreen({
      fail: (call) => (call.step === 'app.packages' ? stepFailure('drush pm:list failed') : undefined),
    });
    const trace = await harness.run();

    expect(trace.state).toBe('failed');
    expect(shown(trace.calls)).toEqual([
      ...BACKUP,
      ...READ_ONLY,
      ...COPY,
      ...GREEN,
      ...SWITCH,
      ...TWIN_REMOVED,
      COMMIT[0],
    ]);
    const row = registry.siteRows.get(site.siteId)!;
    expect(row.database.name).toBe(COPY_DB);
    expect(row.platform.id).toBe(PLATFORMS.target.id);
  });

  it('keeps the migrate when the old database cannot be dropped, and says what is left where', async () => {
    const { registry, harness } = blueGreen({
      fail: (call) =>
        call.step === 'db.drop-database' && call.params.database === OLD_DB
          ? stepFailure('access denied')
          : undefined,
    });
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(registry.siteRows.get(site.siteId)?.database.name).toBe(COPY_DB);
    expect(trace.logs.some((line) => line.includes(`database ${OLD_DB} is left on db1; drop it there`))).toBe(
      true,
    );
  });

  it.each(SUCCESS.map((step, index) => [index + 1, step] as const))(
    'replays after a master restart before step %i (%s): the same steps, each once',
    async (stopBefore) => {
      const { registry, harness } = blueGreen();
      const trace = await replayedBefore(harness, stopBefore);

      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual(SUCCESS);
      expect(registry.count('sites.setDatabaseName')).toBe(1);
    },
  );
});
