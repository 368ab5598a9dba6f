import { describe, expect, it } from 'vitest';
import type { MigrateParams } from '../../../../../shared/src/tasks.js';
import { stepFailure, WorkflowHarness, type StepCall } from '../../../tasks/testing/workflow-harness.js';
import { SITE_WORKFLOW_VERSION } from '../site-steps.js';
import { replayedBefore, shown } from '../testing/calls.js';
import { addressOf, MemorySiteRegistry, PLATFORMS, sitePlace } from '../testing/memory-site-registry.js';
import { MIGRATE_PHASES } from './migrate-phases.js';
import { migrateWorkflow } from './migrate.workflow.js';

const LIVE = 'a.example';
const site = sitePlace({ domain: LIVE, db: 'db1' });
const DB = site.database.name;
const TARGET_DB = { serverId: 'db2', name: 'db2', address: addressOf('db2') };
/** The database of a.example moves from db1 to db2; the site stays on d102 on web1. */
const params: MigrateParams = {
  targetPlatformId: PLATFORMS.current.id,
  targetPlatform: PLATFORMS.current.name,
  backupArchiveId: 'backup-archive',
  rollbackArchiveId: 'rollback-archive',
  rehearsal: { domain: 'rehearsal-0a0b0c0d.a.example', database: 'rehearsal_db', user: 'rehearsal_u' },
  targetDb: TARGET_DB,
};

function migrate(
  fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined,
  overrides: Partial<MigrateParams> = {},
) {
  const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site] });
  const held: Record<number, readonly string[]> = {};
  const harness = new WorkflowHarness(migrateWorkflow(registry), {
    version: SITE_WORKFLOW_VERSION,
    type: 'site.migrate',
    params: { ...params, ...overrides },
    targetId: site.siteId,
    targetName: LIVE,
    fail: (call) => {
      held[call.seq] = harness.store.held;
      return fail?.(call);
    },
  });
  return { registry, harness, held };
}

const SUCCESS = [
  'probe.tcp web1',
  `db.create db2 database=${DB} fresh=true`,
  `site.archive web1 domain=${LIVE} archiveId=backup-archive`,
  `db.dump db1 database=${DB} archiveId=backup-on-db1-1`,
  `app.readonly web1 domain=${LIVE} platform=d102 on=true`,
  `db.dump db1 database=${DB} archiveId=rollback-archive`,
  `db.import db2 database=${DB} archiveId=rollback-archive`,
  // The window: only the switch, since the platform stays.
  `app.maintenance web1 domain=${LIVE} platform=d102 on=true`,
  `site.write-settings web1 domain=${LIVE} database=${DB}`,
  `app.maintenance web1 domain=${LIVE} platform=d102 on=false`,
  `app.readonly web1 domain=${LIVE} platform=d102 on=false`,
  `probe.http web1 domain=${LIVE}`,
  `app.packages web1 domain=${LIVE} platform=d102`,
  `db.schema-versions db2 database=${DB}`,
  `db.drop db1 database=${DB}`,
];
const WINDOW = [8, 9, 10];

describe('migrate --db-server (the database moves to another db server)', () => {
  it('copies the database to db2 with writes held, switches to it in the window, then drops the old one', async () => {
    const { registry, harness, held } = migrate();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS);
    expect(trace.phases.map((phase) => phase.name)).toEqual([
      MIGRATE_PHASES.backup,
      MIGRATE_PHASES.readOnlyWindow,
      MIGRATE_PHASES.rollbackPoint,
      MIGRATE_PHASES.databaseCopy,
      MIGRATE_PHASES.offlineWindow,
    ]);
    // web1 must reach db2 before anything is made; the new user is granted from web1 only.
    expect(trace.calls[0]!.params).toEqual({ host: addressOf('db2'), port: 3306 });
    expect(trace.calls[1]!.params).toMatchObject({ host: addressOf('web1'), fresh: true });
    const settings = trace.calls.find((call) => call.step === 'site.write-settings')!;
    expect(settings.params).toMatchObject({ dbHost: addressOf('db2'), dbPort: 3306 });
    // The window holds the web server and both db servers.
    for (const call of trace.calls) {
      expect([...(held[call.seq] ?? [])].sort()).toEqual(
        WINDOW.includes(call.seq) ? ['db1', 'db2', 'web1'] : [],
      );
    }
    expect(trace.calls.at(-1)!.params).toEqual({
      database: DB,
      user: site.database.user,
      host: addressOf('web1'),
    });
    expect(trace.outcome.result).toMatchObject({
      from: 'd102',
      to: 'd102',
      database: { from: 'db1', to: 'db2', oldDropped: true },
    });
    expect(registry.writes.filter((write) => write.startsWith('sites.'))).toEqual([
      `sites.setDatabase ${site.siteId} db2 ${addressOf('db2')}`,
    ]);
    expect(registry.siteRows.get(site.siteId)).toMatchObject({
      db: 'db2',
      database: { host: addressOf('db2') },
    });
  });

  it.each([
    [`site.write-settings web1 domain=${LIVE} database=${DB}`],
    [`app.maintenance web1 domain=${LIVE} platform=d102 on=false`],
  ])(
    'rolls back when %s fails: settings back to db1 (untouched), the copy on db2 dropped',
    async (failing) => {
      // Only the first time: its undo runs the same step again, and that one works.
      let failed = false;
      const { registry, harness } = migrate((call) => {
        if (failed || shown([call])[0] !== failing) return undefined;
        failed = true;
        return stepFailure('boom');
      });
      const trace = await harness.run();

      expect(trace.state).toBe('failed');
      const after = shown(trace.calls).slice(shown(trace.calls).indexOf(failing) + 1);
      expect(after).toEqual([
        `http.write-vhost web1 domain=${LIVE} platform=d102 disabled=true`,
        `site.write-settings web1 domain=${LIVE} database=${DB}`,
        `http.write-vhost web1 domain=${LIVE} platform=d102`,
        `app.maintenance web1 domain=${LIVE} platform=d102 on=false`,
        `app.readonly web1 domain=${LIVE} platform=d102 on=false`,
        `db.drop db2 database=${DB}`,
      ]);
      // No db.import on db1: the updates never touched it. Its settings name db1 again.
      expect(trace.calls.filter((call) => call.step === 'db.import').map((call) => call.server)).toEqual([
        'db2',
      ]);
      const restored = trace.calls.filter((call) => call.step === 'site.write-settings').at(-1)!;
      expect(restored.params).toMatchObject({ dbHost: addressOf('db1') });
      expect(trace.outcome.rollbackCompleted).toBe(true);
      expect(registry.siteRows.get(site.siteId)).toEqual(site);
    },
  );

  it('refuses before anything is made when db2 already has a database of that name, and drops nothing there', async () => {
    const { registry, harness } = migrate((call) =>
      call.step === 'db.create' ? stepFailure('a database named it is already on this server') : undefined,
    );
    const trace = await harness.run();

    expect(trace.state).toBe('failed');
    expect(shown(trace.calls)).toEqual(SUCCESS.slice(0, 2));
    expect(registry.siteRows.get(site.siteId)).toEqual(site);
  });

  it('keeps the site on db2 when the old database cannot be dropped, and says what is left where', async () => {
    const { registry, harness } = migrate((call) =>
      call.step === 'db.drop' && call.server === 'db1' ? stepFailure('db1 went away') : undefined,
    );
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(trace.outcome.result).toMatchObject({ database: { oldDropped: false } });
    expect(trace.logs.join('\n')).toContain(
      `database ${DB} and user '${site.database.user}' are left on db1`,
    );
    expect(registry.siteRows.get(site.siteId)).toMatchObject({ db: 'db2' });
    // Nothing was undone: the switch stands.
    expect(trace.calls.filter((call) => call.step === 'db.drop').map((call) => call.server)).toEqual(['db1']);
  });

  it.each(SUCCESS.map((step, index) => [index + 1, step] as const))(
    'replays after a master restart before step %i (%s): the same steps, each once',
    async (stopBefore) => {
      const { registry, harness } = migrate();
      const trace = await replayedBefore(harness, stopBefore);
      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual(SUCCESS);
      expect(registry.count('sites.setDatabase')).toBe(1);
    },
  );

  it('moves the database with the site: web1 -> web2 and db1 -> db2, rehearsed on both new servers', async () => {
    const { registry, harness, held } = migrate(undefined, {
      targetPlatformId: PLATFORMS.elsewhere.id,
      targetPlatform: PLATFORMS.elsewhere.name,
      releaseOldAfterMs: 3_600_000,
    });
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    const calls = shown(trace.calls);
    expect(calls.slice(0, 2)).toEqual(['probe.tcp web2', `db.create db2 database=${DB} fresh=true`]);
    expect(trace.calls[1]!.params).toMatchObject({ host: addressOf('web2') });
    // The rehearsal's database is on db2 too, and the copy phase makes no second database.
    expect(calls).toContain('db.create db2 database=rehearsal_db');
    expect(calls.filter((line) => line.startsWith('db.create'))).toHaveLength(2);
    expect(calls).toContain(`db.import db2 database=${DB} archiveId=rollback-archive`);
    const window = trace.calls.filter(
      (call) => call.step === 'app.update' && call.params.domain === LIVE,
    )[0]!;
    expect([...held[window.seq]!].sort()).toEqual(['db1', 'db2', 'web1', 'web2']);
    expect(calls.at(-1)).toBe(`db.drop db1 database=${DB}`);
    expect(registry.writes.filter((write) => write.startsWith('sites.'))).toEqual([
      `sites.setDatabase ${site.siteId} db2 ${addressOf('db2')}`,
      `sites.setMoved ${site.siteId} ${PLATFORMS.elsewhere.id} ${addressOf('db2')} from ${PLATFORMS.current.id}`,
    ]);
    expect(registry.siteRows.get(site.siteId)).toMatchObject({ web: 'web2', db: 'db2' });
  });
});
