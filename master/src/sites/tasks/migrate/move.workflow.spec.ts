import { describe, expect, it } from 'vitest';
import type { MigrateParams } from '../../../../../shared/src/tasks.js';
import { stepFailure, WorkflowHarness, type StepCall } from '../../../tasks/testing/workflow-harness.js';
import { SITE_WORKFLOW_VERSION } from '../site-steps.js';
import { releaseOldWorkflow } from '../site.workflows.js';
import { replayedBefore, shown } from '../testing/calls.js';
import { addressOf, MemorySiteRegistry, PLATFORMS, sitePlace } from '../testing/memory-site-registry.js';
import { MIGRATE_PHASES } from './migrate-phases.js';
import {
  MIGRATE_CHECKS_TARGET,
  MIGRATE_COPIES_REHEARSAL_FILES,
  migrateWorkflow,
} from './migrate.workflow.js';

const LIVE = 'a.example';
const COPY = 'rehearsal-0a0b0c0d.a.example';
const TARGET = PLATFORMS.elsewhere.name;
const site = sitePlace({ domain: LIVE, db: 'db1' });
const DB = site.database.name;
const params: MigrateParams = {
  targetPlatformId: PLATFORMS.elsewhere.id,
  targetPlatform: TARGET,
  backupArchiveId: 'backup-archive',
  rollbackArchiveId: 'rollback-archive',
  rehearsal: { domain: COPY, database: 'rehearsal_db', user: 'rehearsal_u' },
  releaseOldAfterMs: 3_600_000,
};

/** a.example moves from d102 on web1 to d103-web2 on web2; its database stays on db1. */
function move(
  fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined,
  version = MIGRATE_CHECKS_TARGET,
) {
  const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site] });
  const held: Record<number, readonly string[]> = {};
  const harness = new WorkflowHarness(migrateWorkflow(registry), {
    version,
    type: 'site.migrate',
    params,
    targetId: site.siteId,
    targetName: LIVE,
    fail: (call) => {
      held[call.seq] = harness.store.held;
      return fail?.(call);
    },
  });
  return { registry, harness, held };
}

const REACH = [`site.absent web2 domain=${LIVE}`, 'probe.tcp web2'];
const BACKUP = [
  `site.archive web1 domain=${LIVE} archiveId=backup-archive`,
  `db.dump db1 database=${DB} archiveId=backup-on-db1-1`,
];
const REHEARSAL = [
  'db.create db1 database=rehearsal_db',
  `site.extract web2 domain=${LIVE} targetDomain=${COPY} archiveId=backup-archive`,
  'db.import db1 database=rehearsal_db archiveId=backup-on-db1-1',
  `site.write-settings web2 domain=${COPY} database=rehearsal_db`,
  `site.link web2 domain=${COPY} platform=${TARGET}`,
  `app.update web2 domain=${COPY} platform=${TARGET}`,
  `http.write-vhost web2 domain=${COPY} platform=${TARGET}`,
  `probe.http web2 domain=${COPY}`,
  `http.remove-vhost web2 domain=${COPY}`,
  `site.unlink web2 domain=${COPY} platform=${TARGET}`,
  `site.remove web2 domain=${COPY}`,
  'db.drop db1 database=rehearsal_db',
];
/** While the site still serves from web1: its files from the backup, settings, link, grant. */
const COPY_TO_WEB2 = [
  `db.create db1 database=${DB}`,
  `site.extract web2 domain=${LIVE} archiveId=backup-archive`,
  `site.write-settings web2 domain=${LIVE} database=${DB}`,
  `site.link web2 domain=${LIVE} platform=${TARGET}`,
];
const HOLD = [
  `app.readonly web1 domain=${LIVE} platform=d102 on=true`,
  `db.dump db1 database=${DB} archiveId=rollback-archive`,
];
const WINDOW = [
  `app.maintenance web1 domain=${LIVE} platform=d102 on=true`,
  `site.archive web1 domain=${LIVE} archiveId=transfer-on-web1-2`,
  `site.extract web2 domain=${LIVE} archiveId=transfer-on-web1-2 delta=true`,
  `app.update web2 domain=${LIVE} platform=${TARGET}`,
  `http.write-vhost web2 domain=${LIVE} platform=${TARGET}`,
  `http.write-vhost web1 domain=${LIVE} platform=d102 proxyTo=${addressOf('web2')}:80`,
  `app.maintenance web2 domain=${LIVE} platform=${TARGET} on=false`,
];
const AFTER = [
  `app.readonly web2 domain=${LIVE} platform=${TARGET} on=false`,
  `probe.http web2 domain=${LIVE}`,
  `probe.http web1 domain=${LIVE}`,
  `app.packages web2 domain=${LIVE} platform=${TARGET}`,
  `db.schema-versions db1 database=${DB}`,
];
const SUCCESS = [...REACH, ...BACKUP, ...REHEARSAL, ...COPY_TO_WEB2, ...HOLD, ...WINDOW, ...AFTER];
const FIRST_WINDOW_STEP = SUCCESS.indexOf(WINDOW[0]!) + 1;

describe('migrate to a platform on another web server (a move)', () => {
  it('rehearses and copies on web2 while web1 serves, carries only the delta in the window, then web1 passes requests on', async () => {
    const { registry, harness, held } = move();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS);
    expect(trace.phases.map((phase) => phase.name)).toEqual([
      MIGRATE_PHASES.backup,
      MIGRATE_PHASES.rehearsal,
      MIGRATE_PHASES.copy,
      MIGRATE_PHASES.readOnlyWindow,
      MIGRATE_PHASES.rollbackPoint,
      MIGRATE_PHASES.offlineWindow,
    ]);
    // web2 reaches db1 at its address; its database users are granted from web2's address only.
    expect(trace.calls[1]!.params).toEqual({ host: addressOf('db1'), port: 3306 });
    const grants = trace.calls.filter((call) => call.step === 'db.create').map((call) => call.params.host);
    expect(grants).toEqual([addressOf('web2'), addressOf('web2')]);
    // The delta is what changed since the backup began reading, a second before.
    const delta = trace.calls.find((call) => call.params.archiveId === 'transfer-on-web1-2')!;
    expect(delta.params.changedSince).toBe('2026-11-30T23:59:59.000Z');
    // The window holds all three servers, and nothing else does.
    for (const call of trace.calls) {
      const inWindow = call.seq >= FIRST_WINDOW_STEP && call.seq < FIRST_WINDOW_STEP + WINDOW.length;
      expect([...(held[call.seq] ?? [])].sort()).toEqual(inWindow ? ['db1', 'web1', 'web2'] : []);
    }
    // The delta does not stay in the store.
    expect(registry.removedArchives).toEqual(['transfer-on-web1-2']);
    expect(registry.writes.filter((write) => write.startsWith('sites.'))).toEqual([
      `sites.setMoved ${site.siteId} ${PLATFORMS.elsewhere.id} ${addressOf('db1')} from ${PLATFORMS.current.id}`,
    ]);
    expect(registry.siteRows.get(site.siteId)).toMatchObject({
      web: 'web2',
      previous: { id: PLATFORMS.current.id },
    });
  });

  it.each([
    [`app.update web2 domain=${LIVE} platform=${TARGET}`],
    [`site.extract web2 domain=${LIVE} archiveId=transfer-on-web1-2 delta=true`],
    [`http.write-vhost web1 domain=${LIVE} platform=d102 proxyTo=${addressOf('web2')}:80`],
  ])('rolls back when %s fails in the window: web1 serves again, web2 keeps nothing', async (failing) => {
    const { registry, harness } = move((call) =>
      shown([call])[0] === failing ? stepFailure('boom') : undefined,
    );
    const trace = await harness.run();

    expect(trace.state).toBe('failed');
    const after = shown(trace.calls).slice(shown(trace.calls).indexOf(failing) + 1);
    expect(after).toEqual([
      `http.write-vhost web1 domain=${LIVE} platform=d102 disabled=true`,
      `db.import db1 database=${DB} archiveId=rollback-archive`,
      `http.write-vhost web1 domain=${LIVE} platform=d102`,
      `http.remove-vhost web2 domain=${LIVE}`,
      `app.maintenance web1 domain=${LIVE} platform=d102 on=false`,
      // Writes are allowed again on web1 before web2's copy is cleared away.
      `app.readonly web1 domain=${LIVE} platform=d102 on=false`,
      `site.unlink web2 domain=${LIVE} platform=${TARGET}`,
      `site.remove web2 domain=${LIVE}`,
      'db.drop-user db1',
    ]);
    expect(trace.calls.find((call) => call.step === 'db.drop-user')!.params).toEqual({
      user: site.database.user,
      host: addressOf('web2'),
    });
    expect(trace.outcome.rollbackCompleted).toBe(true);
    expect(registry.siteRows.get(site.siteId)).toEqual(site);
    expect(registry.removedArchives).toEqual(['transfer-on-web1-2']);
  });

  it('refuses before anything else when web2 has something of the site already', async () => {
    const { registry, harness } = move((call) =>
      call.step === 'site.absent' ? stepFailure('this server already has a.example') : undefined,
    );
    const trace = await harness.run();
    expect(trace.state).toBe('failed');
    expect(shown(trace.calls)).toEqual([REACH[0]]);
    expect(registry.siteRows.get(site.siteId)).toEqual(site);
  });

  it("rehearses on web2 from the backup's files archive under version 8 too: the site's own files are on web1", async () => {
    const trace = await move(undefined, MIGRATE_COPIES_REHEARSAL_FILES).harness.run();
    expect(trace.state).toBe('succeeded');
    const calls = shown(trace.calls);
    expect(calls).toContain(`site.extract web2 domain=${LIVE} targetDomain=${COPY} archiveId=backup-archive`);
    expect(calls.filter((call) => call.startsWith('site.copy'))).toEqual([]);
  });

  it('does not check under version 2, which a task from before the check replays', async () => {
    const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site] });
    const trace = await new WorkflowHarness(migrateWorkflow(registry), {
      version: SITE_WORKFLOW_VERSION,
      type: 'site.migrate',
      params,
      targetId: site.siteId,
      targetName: LIVE,
    }).run();
    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(SUCCESS.slice(1));
  });

  it.each(SUCCESS.map((step, index) => [index + 1, step] as const))(
    'replays after a master restart before step %i (%s): the same steps, each once, moved once',
    async (stopBefore) => {
      const { registry, harness } = move();
      const trace = await replayedBefore(harness, stopBefore);
      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual(SUCCESS);
      expect(registry.count('sites.setMoved')).toBe(1);
      expect(registry.count('backups.recordOnce')).toBe(1);
    },
  );

  it('releases the site from web1 afterwards: its proxy, link, copy and the grant web1 used', async () => {
    const { registry, harness } = move();
    await harness.run();
    const trace = await new WorkflowHarness(releaseOldWorkflow(registry), {
      type: 'site.release-old',
      params: {},
      targetId: site.siteId,
      targetName: LIVE,
    }).run();

    expect(shown(trace.calls)).toEqual([
      `http.remove-vhost web1 domain=${LIVE}`,
      `site.unlink web1 domain=${LIVE} platform=d102`,
      `site.remove web1 domain=${LIVE}`,
      'db.drop-user db1',
    ]);
    expect(trace.calls.at(-1)!.params).toEqual({ user: site.database.user, host: addressOf('web1') });
    expect(trace.outcome.result).toEqual({ released: 'web1' });
    expect(registry.siteRows.get(site.siteId)?.previous).toBeNull();
  });
});
