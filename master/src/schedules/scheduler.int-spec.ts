import pino from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlRows, type SqlExecutor } from '../infra/db/sql.js';
import { ServersRepository } from '../servers/servers.repository.js';
import { TaskQueue } from '../tasks/task-queue.js';
import { TASK_PRIORITY, TasksRepository, type NewTask } from '../tasks/tasks.repository.js';
import { BackupPoliciesRepository, type PolicyFields } from './backup-policies.repository.js';
import { FiringsRepository, type FiringRow } from './firings.repository.js';
import { Scheduler } from './scheduler.js';
import { cronOffsetSeconds } from './site-cron.js';
import { scheduledTasksFrom } from './testing/scheduled-tasks.js';

const logger = pino({ level: 'silent' });
const at = (iso: string) => new Date(iso);

/**
 * The scheduler against a real registry, its clock driven by the test: firings recorded once and
 * started once by two schedulers (two masters) at the same instant, a window that defers, a master
 * that was down past a window (missed), and at most K scheduled tasks per server.
 */
describe.each(TEST_DATABASE_KINDS)('scheduler on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let tasks: TasksRepository;
  let queue: TaskQueue;
  let policies: BackupPoliciesRepository;
  let firings: FiringsRepository;
  let servers: Record<'web1' | 'web2', string>;
  let missed: FiringRow[];

  let scheduled: ReturnType<typeof scheduledTasksFrom>;
  const scheduler = (perServer: number, options: { cron?: boolean } = {}) =>
    new Scheduler({
      firings,
      policies,
      backups: { taskFor: (siteId: string) => scheduled.backup(siteId) },
      verifies: { taskFor: (siteId: string) => scheduled.verify(siteId) },
      ...(options.cron ? { crons: { taskFor: (siteId: string) => scheduled.cron(siteId) } } : {}),
      insert: (executor: SqlExecutor, task: NewTask) => queue.insertIn(executor, task),
      wake: () => undefined,
      missed: (firing) => missed.push(firing),
      config: { scheduledPerServer: perServer },
      logger,
    });

  /** A policy: retention keeps the newest 7 and nothing more, unless `fields` say otherwise. */
  const policy = (scope: 'global' | 'site', target: string | null, fields: Partial<PolicyFields>) =>
    policies.put(scope, target, {
      schedule: null,
      windowStart: null,
      windowEnd: null,
      keepLast: 7,
      keepDaily: 0,
      keepWeekly: 0,
      keepMonthly: 0,
      verifySchedule: null,
      ...fields,
    });

  const addSite = async (domain: string, server: string, createdAt = '2026-01-01T00:00:00Z') => {
    const [platform] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO platforms (name, server_id, path) VALUES ($1, $2, '/var/berth/platforms/p') RETURNING id`,
      [`p-${domain.split('.')[0]}`, server],
    );
    const [site] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO sites (domain, platform_id, db_server_id, db_name, db_user, db_password_encrypted, status, created_at)
       VALUES ($1, $2, $3, 'db', 'u', 'x', 'enabled', $4) RETURNING id`,
      [domain, platform!.id, server, createdAt],
    );
    return site!.id;
  };

  const scheduledTasks = () =>
    sqlRows<{ id: string; targetName: string; state: string }>(
      db,
      `SELECT id, target_name AS "targetName", state FROM tasks WHERE created_by = 'scheduler' ORDER BY target_name`,
    );

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    tasks = new TasksRepository(db);
    queue = new TaskQueue(tasks, () => undefined);
    policies = new BackupPoliciesRepository(db);
    firings = new FiringsRepository(db);
    scheduled = scheduledTasksFrom(db);
    const repository = new ServersRepository(db);
    servers = {
      web1: (await repository.create({ name: 'web1', slots: 2 })).id,
      web2: (await repository.create({ name: 'web2', slots: 2 })).id,
    };
    await sqlRows(db, `UPDATE servers SET time_zone = 'Europe/Paris' WHERE id = $1 RETURNING id`, [
      servers.web2,
    ]);
  });

  beforeEach(async () => {
    missed = [];
    for (const table of ['schedule_firings', 'backup_policies', 'tasks', 'sites', 'platforms']) {
      await sqlRows(db, `DELETE FROM ${table} RETURNING 1`);
    }
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('starts each due firing once when two masters tick at the same instant', async () => {
    for (let n = 0; n < 10; n++) await addSite(`s${n}.example`, n % 2 ? servers.web1 : servers.web2);
    await policy('global', null, { schedule: '*/5 * * * *', keepLast: 2 });
    const now = at('2026-12-04T10:07:00Z');
    const [first, second] = await Promise.all([scheduler(100).tickNow(now), scheduler(100).tickNow(now)]);
    // The two passes share the work; together every site once.
    expect((first?.recorded ?? 0) + (second?.recorded ?? 0)).toBe(10);
    expect((first?.started ?? 0) + (second?.started ?? 0)).toBe(10);
    const started = await scheduledTasks();
    expect(started).toHaveLength(10);
    expect(new Set(started.map((task) => task.targetName)).size).toBe(10);
    const rows = await sqlRows<{ state: string; dueAt: Date; taskId: string | null }>(
      db,
      `SELECT state, due_at AS "dueAt", task_id AS "taskId" FROM schedule_firings WHERE kind = 'backup'`,
    );
    expect(rows.every((row) => row.state === 'started' && row.taskId !== null)).toBe(true);
    expect(new Set(rows.map((row) => new Date(row.dueAt).toISOString()))).toEqual(
      new Set(['2026-12-04T10:05:00.000Z']),
    );
    // A restarted master (an empty cache) at the same instant starts nothing again.
    expect(await scheduler(100).tickNow(now)).toMatchObject({ recorded: 0, started: 0 });
    expect(await scheduledTasks()).toHaveLength(10);
  });

  it('starts at most K scheduled tasks per server, the rest as earlier ones end', async () => {
    for (let n = 0; n < 3; n++) await addSite(`a${n}.example`, servers.web1);
    for (let n = 0; n < 3; n++) await addSite(`b${n}.example`, servers.web2);
    await policy('global', null, { schedule: '0 * * * *', keepLast: 1 });
    const one = scheduler(1);
    // One per server looked at (the rest of each server's backlog waits its turn), one started each.
    expect(await one.tickNow(at('2026-12-04T10:01:00Z'))).toMatchObject({
      recorded: 6,
      started: 2,
      deferred: 0,
    });
    // Still running: nothing more, the next of each server deferred.
    expect(await one.tickNow(at('2026-12-04T10:02:00Z'))).toMatchObject({ started: 0, deferred: 2 });
    await sqlRows(db, `UPDATE tasks SET state = 'succeeded' RETURNING id`);
    expect(await one.tickNow(at('2026-12-04T10:03:00Z'))).toMatchObject({ started: 2, deferred: 0 });
    const perServer = await sqlRows<{ n: number }>(
      db,
      `SELECT count(*)::int AS n FROM tasks t JOIN sites s ON s.id = t.target_id
         JOIN platforms p ON p.id = s.platform_id GROUP BY p.server_id`,
    );
    expect(perServer.map((row) => row.n)).toEqual([2, 2]);
  });

  it('starts the next waiting firing as soon as asked, between ticks, without recording new ones', async () => {
    for (let n = 0; n < 3; n++) await addSite(`w${n}.example`, servers.web1);
    await policy('global', null, { schedule: '0 * * * *', keepLast: 1 });
    const one = scheduler(1);
    expect(await one.tickNow(at('2026-12-04T10:01:00Z'))).toMatchObject({ recorded: 3, started: 1 });
    expect(await one.startWaiting(at('2026-12-04T10:01:01Z'))).toMatchObject({ started: 0, deferred: 1 });
    await sqlRows(db, `UPDATE tasks SET state = 'succeeded' RETURNING id`);
    // The backlog's next start, a second later: no need to wait for the next 15 s tick.
    expect(await one.startWaiting(at('2026-12-04T10:01:02Z'))).toMatchObject({ recorded: 0, started: 1 });
    expect(await scheduledTasks()).toHaveLength(2);
  });

  it('defers a firing whose window is closed until it opens, in the server time zone', async () => {
    const site = await addSite('paris.example', servers.web2);
    await policy('site', site, {
      schedule: '0 0 * * *',
      windowStart: '02:00',
      windowEnd: '04:00',
      keepLast: 3,
    });
    const paris = scheduler(1);
    // 00:30 in Paris (23:30 UTC): due at midnight local, the window opens at 02:00 local (01:00 UTC).
    expect(await paris.tickNow(at('2026-12-03T23:30:00Z'))).toMatchObject({ recorded: 1, started: 0 });
    const [waiting] = await firings.list('backup', site);
    expect(waiting).toMatchObject({ state: 'waiting', taskId: null });
    expect(new Date(waiting!.opensAt).toISOString()).toBe('2026-12-04T01:00:00.000Z');
    expect(new Date(waiting!.expiresAt).toISOString()).toBe('2026-12-04T03:00:00.000Z');
    expect(await scheduledTasks()).toHaveLength(0);
    expect(await paris.tickNow(at('2026-12-04T01:00:30Z'))).toMatchObject({ started: 1 });
    expect(await scheduledTasks()).toHaveLength(1);
  });

  it('records a missed firing when its window closed while it waited, or before a master came back', async () => {
    const busy = await addSite('busy.example', servers.web1);
    const late = await addSite('late.example', servers.web2);
    await policy('global', null, {
      schedule: '0 1 * * *',
      windowStart: '01:00',
      windowEnd: '02:00',
      keepLast: 3,
    });
    // busy.example waits behind a scheduled task already running on web1, past its window.
    await queue.queue({
      type: 'site.verify',
      targetId: busy,
      targetName: 'busy.example',
      lockKey: `site:${busy}`,
      params: {},
      createdBy: 'scheduler',
      priority: TASK_PRIORITY.scheduled,
    });
    await sqlRows(db, `UPDATE sites SET status = 'disabled' WHERE id = $1 RETURNING id`, [late]);
    const utc = scheduler(1);
    expect(await utc.tickNow(at('2026-12-04T01:10:00Z'))).toMatchObject({
      recorded: 1,
      started: 0,
      deferred: 1,
    });
    expect(await utc.tickNow(at('2026-12-04T02:00:00Z'))).toMatchObject({ missed: 1 });
    expect((await firings.list('backup', busy))[0]).toMatchObject({ state: 'missed', taskId: null });
    // late.example is enabled again; this master was down from 00:00 to 04:00 (Paris: 01:00 UTC
    // is 02:00 local, so its window was 00:00-01:00 UTC): recorded as missed at once.
    await sqlRows(db, `UPDATE sites SET status = 'enabled' WHERE id = $1 RETURNING id`, [late]);
    expect(await scheduler(1).tickNow(at('2026-12-04T04:00:00Z'))).toMatchObject({ recorded: 0, missed: 1 });
    expect((await firings.list('backup', late))[0]).toMatchObject({ state: 'missed' });
    expect(missed.map((firing) => firing.targetId).sort()).toEqual([busy, late].sort());
  });

  it("restore-tests each site's newest backup on the policy's verify schedule, in its window", async () => {
    const tested = await addSite('tested.example', servers.web1);
    const bare = await addSite('bare.example', servers.web2);
    const [newest] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO backups (site_id, domain, archive_id, manifest, created_at)
       VALUES ($1, 'tested.example', gen_random_uuid(), '{}', '2026-12-03T02:00:00Z'),
              ($1, 'tested.example', gen_random_uuid(), '{}', '2026-12-04T02:00:00Z')
       RETURNING id`,
      [tested],
    ).then((rows) => rows.slice(-1));
    // Sundays at 01:00, in the 03:00-05:00 window (UTC on web1, Paris on web2).
    await policy('global', null, {
      schedule: null,
      windowStart: '03:00',
      windowEnd: '05:00',
      verifySchedule: '0 1 * * 0',
    });
    // Sunday 2026-12-06 02:00 UTC: due, but the window is not open yet.
    expect(await scheduler(1).tickNow(at('2026-12-06T02:00:00Z'))).toMatchObject({ started: 0 });
    expect(await firings.list('verify', tested)).toEqual([
      expect.objectContaining({ state: 'waiting', opensAt: at('2026-12-06T03:00:00Z') }),
    ]);
    expect(await scheduler(1).tickNow(at('2026-12-06T03:00:00Z'))).toMatchObject({ started: 1 });
    const [task] = await sqlRows<{ type: string; params: { backupId: string; reason: string } }>(
      db,
      `SELECT type, params FROM tasks WHERE created_by = 'scheduler'`,
    );
    expect(task).toMatchObject({
      type: 'site.backup-verify',
      params: { backupId: newest!.id, reason: 'scheduled' },
    });
    // A site without a backup has nothing to test: its firing starts no task (02:00 UTC is 03:00 in Paris).
    expect((await firings.list('verify', bare))[0]).toMatchObject({ state: 'missed', taskId: null });
    expect(await firings.list('backup', tested)).toEqual([]);
  });

  it('leaves out due times from before a site existed', async () => {
    await addSite('new.example', servers.web1, '2026-12-04T10:30:00Z');
    await policy('global', null, { schedule: '0 10 * * *', keepLast: 3 });
    expect(await scheduler(1).tickNow(at('2026-12-04T11:00:00Z'))).toMatchObject({ recorded: 0, started: 0 });
  });

  it("starts people's queued tasks before a schedule's", async () => {
    const a = await addSite('a.example', servers.web1);
    const b = await addSite('b.example', servers.web1);
    const scheduled = await queue.queue({
      type: 'site.verify',
      targetId: a,
      targetName: 'a.example',
      lockKey: `site:${a}`,
      params: {},
      priority: TASK_PRIORITY.scheduled,
    });
    const person = await queue.queue({
      type: 'site.verify',
      targetId: b,
      targetName: 'b.example',
      lockKey: `site:${b}`,
      params: {},
    });
    const versions = new Map([['site.verify' as const, 1]]);
    expect((await tasks.startQueuedTasks('test', 1, versions)).map((task) => task.id)).toEqual([person.id]);
    expect((await tasks.startQueuedTasks('test', 1, versions)).map((task) => task.id)).toEqual([
      scheduled.id,
    ]);
  });

  it("runs every enabled site's cron once per period, each at its own offset", async () => {
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) ids.push(await addSite(`c${n}.example`, n % 2 ? servers.web1 : servers.web2));
    await sqlRows(db, `UPDATE sites SET cron_every_minutes = 10 RETURNING id`);
    await sqlRows(db, `UPDATE sites SET status = 'disabled' WHERE id = $1 RETURNING id`, [ids[5]]);
    const crons = scheduler(100, { cron: true });
    // Over one period, tick every 15 s as the master does.
    const start = Date.parse('2026-12-04T10:00:00Z');
    const end = start + 10 * 60_000;
    for (let at = start; at <= end; at += 15_000) await crons.tickNow(new Date(at));
    // Every enabled site: the run due in the period before (still open at 10:00), then each due
    // time up to the last tick.
    const due = await sqlRows<{ targetId: string; dueAt: Date; taskId: string | null }>(
      db,
      `SELECT target_id AS "targetId", due_at AS "dueAt", task_id AS "taskId" FROM schedule_firings
        WHERE kind = 'cron' ORDER BY due_at`,
    );
    for (const id of ids.slice(0, 5)) {
      const offset = cronOffsetSeconds(id, 10) * 1000;
      const expected = [start - 600_000 + offset, start + offset, start + 600_000 + offset].filter(
        (dueAt) => dueAt <= end && dueAt + 600_000 > start,
      );
      expect(
        due.filter((firing) => firing.targetId === id).map((firing) => new Date(firing.dueAt).getTime()),
      ).toEqual(expected);
    }
    expect(due.every((firing) => firing.taskId !== null)).toBe(true);
    const runs = await sqlRows<{ n: number }>(
      db,
      `SELECT count(*)::int AS n FROM tasks WHERE type = 'site.cron'`,
    );
    expect(runs[0]!.n).toBe(due.length);
  });

  it("forgets settled firings once they are old, but never a target's latest", async () => {
    const site = await addSite('old.example', servers.web1);
    const firing = (dueAt: string) => ({
      kind: 'backup' as const,
      targetId: site,
      policyId: null,
      dueAt: at(dueAt),
      opensAt: at(dueAt),
      expiresAt: at(dueAt),
    });
    // Both past their window when recorded: missed, settled.
    await firings.record(
      [firing('2026-11-01T02:00:00Z'), firing('2026-11-02T02:00:00Z')],
      at('2026-12-04T00:00:00Z'),
    );
    expect(await firings.prune(at('2026-12-01T00:00:00Z'))).toBe(1);
    expect((await firings.list('backup', site)).map((row) => new Date(row.dueAt).toISOString())).toEqual([
      '2026-11-02T02:00:00.000Z',
    ]);
  });
});
