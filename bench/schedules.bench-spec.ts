import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveRepository } from '../master/src/backups/archive.repository.js';
import { ArchiveStore } from '../master/src/backups/archive-store.js';
import { openDatabase } from '../master/src/infra/db/data-source.js';
import { sqlRows, type SqlExecutor } from '../master/src/infra/db/sql.js';
import { BackupPoliciesRepository } from '../master/src/schedules/backup-policies.repository.js';
import { FiringsRepository } from '../master/src/schedules/firings.repository.js';
import { Scheduler, type TickReport } from '../master/src/schedules/scheduler.js';
import { scheduledTasksFrom } from '../master/src/schedules/testing/scheduled-tasks.js';
import { ServersRepository } from '../master/src/servers/servers.repository.js';
import { StoreCollector, type CollectionPlan } from '../master/src/store/store-collector.js';
import { StoreRepository } from '../master/src/store/store.repository.js';
import { TaskQueue } from '../master/src/tasks/task-queue.js';
import { TasksRepository, type NewTask } from '../master/src/tasks/tasks.repository.js';
import { createTestDatabase, type TestDatabase } from '../test/support/test-database.js';
import { cpuSecondsOf, postgresBackends } from './support/cpu.js';
import { quantile, recordResult, round, type Figures } from './support/results.js';

const logger = pino({ level: 'silent' });
/** The scheduler logs why a pass failed (tickNow swallows the error): shown, not silenced. */
const schedulerLogger = pino({ level: 'error' });

/** The scheduler's registry: sites spread over servers, a quarter of them in Paris. */
const TICK_SERVERS = 20;
const TICK_SITES = 10_000;
const TICK_CLIENTS = 100;
const CLIENT_POLICIES = 50;
const SITE_POLICIES = 200;
const STEADY_TICKS = 20;
const FRESH_TICKS = 3;
/** Inside every policy's window, in UTC and in Paris (UTC+1 in December): every site is due. */
const NOW = new Date('2026-12-04T02:30:00Z');
/** The master ticks every 15 seconds (scheduler.ts); same due times throughout. */
const TICK_MS = 15_000;

/** The collector's registry: 18 automatic backups per site over 60 days, and old rollback points. */
const GC_SITES = 5_000;
const GC_BACKUPS = 90_000;
const GC_UNREFERENCED = 10_000;
const GC_ARCHIVES = GC_BACKUPS + GC_UNREFERENCED;
const KEEP = { last: 7, daily: 7 };
const GRACE_MS = 3600_000;
const FILE_BATCH = 1_000;

/** Wall time and calls per method, summed over every call made through the proxy. */
type CallTimes = Map<string, { calls: number; ms: number }>;

/**
 * Times every method called on `target` (all of them async here); the calls run on the target
 * itself, so what a method calls inside is not counted twice.
 */
function timed<T extends object>(target: T, times: CallTimes): T {
  return new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key);
      if (typeof key !== 'string' || typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await method.apply(object, args);
        } finally {
          const entry = times.get(key) ?? { calls: 0, ms: 0 };
          entry.calls += 1;
          entry.ms += performance.now() - started;
          times.set(key, entry);
        }
      };
    },
  });
}

/** The per-call breakdown as table rows. */
function breakdown(phase: string, times: CallTimes, divideBy = 1): Figures[] {
  return [...times].map(([call, { calls, ms }]) => ({
    phase,
    call,
    callsPerRun: round(calls / divideBy, 1),
    msPerRun: round(ms / divideBy, 1),
  }));
}

/** CPU milliseconds (user + system) of this process, of the master's side. */
const cpuMsSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

/** CPU seconds of each PostgreSQL backend serving the database (the pool's connections). */
const backendSeconds = async (url: string) =>
  new Map((await postgresBackends(url)).map((pid) => [pid, cpuSecondsOf(pid) ?? 0]));

/** CPU milliseconds the backends used between two samples; one that connected meanwhile counts whole. */
const backendMsBetween = (before: Map<number, number>, after: Map<number, number>) => {
  let seconds = 0;
  for (const [pid, end] of after) seconds += end - (before.get(pid) ?? 0);
  return seconds * 1000;
};

/**
 * What the scheduler and the store's collector cost the master on a big registry, on PostgreSQL,
 * their clock driven by the bench: a tick with 10,000 enabled sites and 251 policies (the first,
 * where every site is due; the steady ones every 15 seconds after, from the in-memory cache; the
 * first of a restarted master, through ON CONFLICT), and the collector's plan and collection over
 * 100,000 archives, each with a real file in a real store.
 */
describe('scheduler tick with 10,000 sites', () => {
  let database: TestDatabase;
  let db: DataSource;
  let queue: TaskQueue;
  let policies: BackupPoliciesRepository;
  let firings: FiringsRepository;
  const firingTimes: CallTimes = new Map();
  let seedSeconds = 0;

  const scheduler = () =>
    new Scheduler({
      firings: timed(firings, firingTimes),
      policies,
      backups: { taskFor: (siteId: string) => scheduledTasksFrom(db).backup(siteId) },
      insert: (executor: SqlExecutor, task: NewTask) => queue.insertIn(executor, task),
      wake: () => undefined,
      config: { scheduledPerServer: 1 },
      logger: schedulerLogger,
    });

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    queue = new TaskQueue(new TasksRepository(db), () => undefined);
    policies = new BackupPoliciesRepository(db);
    firings = new FiringsRepository(db);
    const started = performance.now();
    const servers = new ServersRepository(db);
    for (let n = 1; n <= TICK_SERVERS; n++) {
      const server = await servers.create({ name: `web${n}`, slots: 2 });
      if (n % 4 === 1) {
        await sqlRows(db, `UPDATE servers SET time_zone = 'Europe/Paris' WHERE id = $1 RETURNING id`, [
          server.id,
        ]);
      }
    }
    await sqlRows(
      db,
      `INSERT INTO platforms (name, server_id, path, status)
       SELECT 'p-' || name, id, '/var/berth/platforms/p-' || name, 'verified' FROM servers RETURNING id`,
    );
    await sqlRows(
      db,
      `INSERT INTO clients (name) SELECT 'client' || n FROM generate_series(1, ${TICK_CLIENTS}) AS n RETURNING id`,
    );
    // Site n on server n % 20, of client (n / 20) % 100 (every client has sites on every server);
    // one site in seven has no client.
    await sqlRows(
      db,
      `INSERT INTO sites (domain, platform_id, client_id, db_server_id, db_name, db_user, db_password_encrypted,
                          status, created_at)
       SELECT 'site' || n || '.example', p.id, CASE WHEN n % 7 = 0 THEN NULL ELSE c.id END, p.server_id,
              'site_' || n, 'u' || n, 'not-a-real-secret', 'enabled', '2026-01-01T00:00:00Z'
         FROM generate_series(1, ${TICK_SITES}) AS n
         JOIN (SELECT id, server_id, row_number() OVER (ORDER BY name) - 1 AS k FROM platforms) p
           ON p.k = n % ${TICK_SERVERS}
         JOIN (SELECT id, row_number() OVER (ORDER BY name) - 1 AS k FROM clients) c
           ON c.k = (n / ${TICK_SERVERS}) % ${TICK_CLIENTS}
       RETURNING id`,
    );
    await policies.put('global', null, {
      schedule: '0 2 * * *',
      windowStart: '01:00',
      windowEnd: '05:00',
      keepLast: 7,
      keepDaily: 7,
      keepWeekly: 0,
      keepMonthly: 0,
      verifySchedule: null,
    });
    const clients = await sqlRows<{ id: string }>(
      db,
      `SELECT id FROM clients ORDER BY name LIMIT ${CLIENT_POLICIES}`,
    );
    for (const client of clients) {
      await policies.put('client', client.id, {
        schedule: '30 1 * * *',
        windowStart: '01:00',
        windowEnd: '05:00',
        keepLast: 14,
        keepDaily: 7,
        keepWeekly: 4,
        keepMonthly: 0,
        verifySchedule: null,
      });
    }
    const sites = await sqlRows<{ id: string }>(
      db,
      `SELECT id FROM sites ORDER BY md5(domain) LIMIT ${SITE_POLICIES}`,
    );
    for (const site of sites) {
      await policies.put('site', site.id, {
        schedule: '15 2 * * *',
        windowStart: null,
        windowEnd: null,
        keepLast: 3,
        keepDaily: 0,
        keepWeekly: 0,
        keepMonthly: 0,
        verifySchedule: null,
      });
    }
    await sqlRows(db, 'ANALYZE');
    seedSeconds = (performance.now() - started) / 1000;
  }, 300_000);

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  /** One tick with its wall time, the master's CPU and the database backends' CPU. */
  const tick = async (instance: Scheduler, now: Date) => {
    const dbBefore = await backendSeconds(database.url!);
    const cpu = process.cpuUsage();
    const started = performance.now();
    const report = await instance.tickNow(now);
    const ms = performance.now() - started;
    const cpuMs = cpuMsSince(cpu);
    const dbCpuMs = backendMsBetween(dbBefore, await backendSeconds(database.url!));
    if (!report) throw new Error(`the scheduler pass at ${now.toISOString()} failed`);
    return { report, ms, cpuMs, dbCpuMs };
  };

  const summary = (runs: Array<{ ms: number; cpuMs: number; dbCpuMs: number }>) => ({
    p50Ms: round(
      quantile(
        runs.map((run) => run.ms),
        0.5,
      ),
      1,
    ),
    p95Ms: round(
      quantile(
        runs.map((run) => run.ms),
        0.95,
      ),
      1,
    ),
    cpuP50Ms: round(
      quantile(
        runs.map((run) => run.cpuMs),
        0.5,
      ),
      1,
    ),
    cpuP95Ms: round(
      quantile(
        runs.map((run) => run.cpuMs),
        0.95,
      ),
      1,
    ),
    // /proc counts in clock ticks (10 ms): a mean over the runs says more than one run.
    dbCpuMeanMs: round(runs.reduce((sum, run) => sum + run.dbCpuMs, 0) / runs.length, 1),
  });

  it('times the first tick, the steady ones and a restarted master', async () => {
    const table: Figures[] = [];
    const master = scheduler();

    // (a) Every site due: 10,000 firings recorded, at most one scheduled task started per server.
    firingTimes.clear();
    const first = await tick(master, NOW);
    table.push(...breakdown('first', firingTimes));
    expect(first.report).toMatchObject({ sites: TICK_SITES, recorded: TICK_SITES, missed: 0 });
    const [counts] = await sqlRows<{ firings: number; started: number; tasks: number; servers: number }>(
      db,
      `SELECT (SELECT count(*)::int FROM schedule_firings) AS firings,
              (SELECT count(*)::int FROM schedule_firings WHERE state = 'started') AS started,
              (SELECT count(*)::int FROM tasks WHERE created_by = 'scheduler') AS tasks,
              (SELECT count(DISTINCT p.server_id)::int FROM tasks t JOIN sites s ON s.id = t.target_id
                 JOIN platforms p ON p.id = s.platform_id WHERE t.created_by = 'scheduler') AS servers`,
    );
    expect(counts).toMatchObject({ firings: TICK_SITES, started: first.report.started });
    expect(counts!.tasks).toBe(first.report.started);
    expect(first.report.started).toBeGreaterThan(0);
    expect(first.report.started).toBeLessThanOrEqual(TICK_SERVERS);
    // Started at most one per server: as many servers as tasks.
    expect(counts!.servers).toBe(first.report.started);

    // (b) Steady state: the same due times 15 s later and after, nothing new (the in-memory cache).
    const steadyRuns: Array<{ report: TickReport; ms: number; cpuMs: number; dbCpuMs: number }> = [];
    for (let index = 0; index < STEADY_TICKS + 2; index++) {
      if (index === 2) firingTimes.clear(); // two warm-up ticks
      const run = await tick(master, new Date(NOW.getTime() + (index + 1) * TICK_MS));
      expect(run.report).toMatchObject({ sites: TICK_SITES, recorded: 0, missed: 0, started: 0 });
      if (index >= 2) steadyRuns.push(run);
    }
    table.push(...breakdown('steady', firingTimes, STEADY_TICKS));

    // (c) A restarted master: a fresh Scheduler, an empty cache, every firing through ON CONFLICT.
    firingTimes.clear();
    const freshRuns: typeof steadyRuns = [];
    for (let index = 0; index < FRESH_TICKS; index++) {
      const at = new Date(NOW.getTime() + (STEADY_TICKS + 3 + index) * TICK_MS);
      const run = await tick(scheduler(), at);
      expect(run.report).toMatchObject({ sites: TICK_SITES, recorded: 0, missed: 0, started: 0 });
      freshRuns.push(run);
    }
    table.push(...breakdown('fresh', firingTimes, FRESH_TICKS));
    const [after] = await sqlRows<{ firings: number; tasks: number }>(
      db,
      `SELECT (SELECT count(*)::int FROM schedule_firings) AS firings,
              (SELECT count(*)::int FROM tasks WHERE created_by = 'scheduler') AS tasks`,
    );
    expect(after).toEqual({ firings: TICK_SITES, tasks: first.report.started });

    const steady = summary(steadyRuns);
    const fresh = summary(freshRuns);
    recordResult(
      'schedules-tick',
      {
        registry: `${TICK_SITES} enabled sites on ${TICK_SERVERS} servers, ${TICK_CLIENTS} clients, 1 + ${CLIENT_POLICIES} + ${SITE_POLICIES} policies (PostgreSQL)`,
        seedSeconds: round(seedSeconds, 1),
        firstMs: round(first.ms, 1),
        firstCpuMs: round(first.cpuMs, 1),
        firstDbCpuMs: round(first.dbCpuMs, 1),
        firstRecorded: first.report.recorded,
        firstStarted: first.report.started,
        firstDeferred: first.report.deferred,
        serversIdleAfterFirst: TICK_SERVERS - counts!.servers,
        steadyTicks: STEADY_TICKS,
        steadyP50Ms: steady.p50Ms,
        steadyP95Ms: steady.p95Ms,
        steadyCpuP50Ms: steady.cpuP50Ms,
        steadyCpuP95Ms: steady.cpuP95Ms,
        steadyDbCpuMeanMs: steady.dbCpuMeanMs,
        freshTicks: FRESH_TICKS,
        freshP50Ms: fresh.p50Ms,
        freshMaxMs: round(Math.max(...freshRuns.map((run) => run.ms)), 1),
        freshCpuP50Ms: fresh.cpuP50Ms,
        freshCpuMaxMs: round(Math.max(...freshRuns.map((run) => run.cpuMs)), 1),
        freshDbCpuMeanMs: fresh.dbCpuMeanMs,
      },
      table,
    );
  });
});

describe('store collector over 100,000 archives', () => {
  let database: TestDatabase;
  let db: DataSource;
  let archiveStore: ArchiveStore;
  let seedSeconds = 0;
  let filesSeconds = 0;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    const started = performance.now();
    const servers = new ServersRepository(db);
    const utc = await servers.create({ name: 'web1', slots: 2 });
    const paris = await servers.create({ name: 'web2', slots: 2 });
    await sqlRows(db, `UPDATE servers SET time_zone = 'Europe/Paris' WHERE id = $1 RETURNING id`, [paris.id]);
    await sqlRows(
      db,
      `INSERT INTO platforms (name, server_id, path, status)
       SELECT 'p-' || name, id, '/var/berth/platforms/p-' || name, 'verified' FROM servers RETURNING id`,
    );
    await sqlRows(
      db,
      `INSERT INTO clients (name) SELECT 'client' || n FROM generate_series(1, 100) AS n RETURNING id`,
    );
    await sqlRows(
      db,
      `INSERT INTO sites (domain, platform_id, client_id, db_server_id, db_name, db_user, db_password_encrypted, status)
       SELECT 'site' || n || '.example', p.id, CASE WHEN n % 5 = 0 THEN NULL ELSE c.id END, p.server_id,
              'site_' || n, 'u' || n, 'not-a-real-secret', 'enabled'
         FROM generate_series(0, ${GC_SITES - 1}) AS n
         JOIN (SELECT id, server_id, row_number() OVER (ORDER BY name) - 1 AS k FROM platforms) p ON p.k = n % 2
         JOIN (SELECT id, row_number() OVER (ORDER BY name) - 1 AS k FROM clients) c ON c.k = (n / 2) % 100
       RETURNING id`,
    );
    await new BackupPoliciesRepository(db).put('global', null, {
      schedule: '0 2 * * *',
      windowStart: null,
      windowEnd: null,
      keepLast: KEEP.last,
      keepDaily: KEEP.daily,
      keepWeekly: 0,
      keepMonthly: 0,
      verifySchedule: null,
    });
    // Backup k (0..17) of site s: the ten newest 8 hours apart (three a day, so the daily rule and
    // the last-7 rule disagree), the older ones a week apart back to ~60 days; each site shifted by
    // up to 6 hours so calendar days split differently. Archives past 90,000 are referenced by no
    // backup and 30 to 60 days old (finished migrates' rollback points, say).
    await sqlRows(
      db,
      `WITH numbered AS (
         SELECT n, gen_random_uuid() AS id, (n - 1) % ${GC_SITES} AS s, (n - 1) / ${GC_SITES} AS k,
                now() - CASE WHEN n > ${GC_BACKUPS} THEN make_interval(days => 30 + n % 30)
                             WHEN (n - 1) / ${GC_SITES} <= 9 THEN make_interval(hours => 2 + 8 * ((n - 1) / ${GC_SITES}))
                             ELSE make_interval(hours => 74 + ((n - 1) / ${GC_SITES} - 9) * 7 * 24) END
                      - make_interval(mins => ((n - 1) % ${GC_SITES}) % 360) AS at
           FROM generate_series(1, ${GC_ARCHIVES}) AS n
       ),
       inserted AS (
         INSERT INTO archives (id, state, server_id, sha256, size_bytes, purpose, created_at, stored_at)
         SELECT id, 'stored', $1, repeat('0', 64), 1000000 + n, 'backup', at - interval '1 minute', at
           FROM numbered
         RETURNING id
       )
       INSERT INTO backups (site_id, domain, archive_id, reason, manifest, created_at)
       SELECT site.id, site.domain, numbered.id, 'scheduled', '{}'::jsonb, numbered.at
         FROM numbered
         JOIN (SELECT id, domain, row_number() OVER (ORDER BY domain) - 1 AS s FROM sites) site
           ON site.s = numbered.s
        WHERE numbered.n <= ${GC_BACKUPS}
       RETURNING id`,
      [utc.id],
    );
    await sqlRows(db, 'ANALYZE');
    seedSeconds = (performance.now() - started) / 1000;

    archiveStore = new ArchiveStore(new ArchiveRepository(db), { dataDir: database.dataDir }, logger);
    await archiveStore.start();
    const filesStarted = performance.now();
    const ids = await sqlRows<{ id: string }>(db, `SELECT id FROM archives`);
    const content = Buffer.alloc(64, 'x');
    for (let offset = 0; offset < ids.length; offset += FILE_BATCH) {
      await Promise.all(
        ids.slice(offset, offset + FILE_BATCH).map(({ id }) => writeFile(archiveStore.path(id), content)),
      );
    }
    filesSeconds = (performance.now() - filesStarted) / 1000;
  }, 300_000);

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('times the plan and the collection, removing what retention implies', async () => {
    // What the policy implies, computed in SQL apart from the collector: keep the newest 7 of a site
    // and the newest of each of its 7 most recent days (in its web server's time zone).
    const expectedExpired = (
      await sqlRows<{ id: string }>(
        db,
        `WITH b AS (
           SELECT b.id, b.site_id, b.created_at,
                  (b.created_at AT TIME ZONE COALESCE(w.time_zone, 'UTC'))::date AS day
             FROM backups b JOIN sites s ON s.id = b.site_id JOIN platforms p ON p.id = s.platform_id
             JOIN servers w ON w.id = p.server_id
            WHERE b.reason <> 'manual'
         ), ranked AS (
           SELECT id, row_number() OVER (PARTITION BY site_id ORDER BY created_at DESC) AS newest,
                  row_number() OVER (PARTITION BY site_id, day ORDER BY created_at DESC) AS of_day,
                  dense_rank() OVER (PARTITION BY site_id ORDER BY day DESC) AS day_rank
             FROM b
         )
         SELECT id FROM ranked WHERE NOT (newest <= ${KEEP.last} OR (of_day = 1 AND day_rank <= ${KEEP.daily}))`,
      )
    ).map((row) => row.id);
    expect(expectedExpired.length).toBeGreaterThan(0);
    expect(expectedExpired.length).toBeLessThan(GC_BACKUPS);

    // The unreferenced-archive query as two anti-joins (one per column), for comparison with the
    // OR in StoreRepository.unreferencedArchives, which plan() runs.
    const now = new Date();
    const rewriteStarted = performance.now();
    const rewritten = await sqlRows<{ id: string }>(
      db,
      `SELECT a.id, a.state, a.size_bytes::text AS "sizeBytes" FROM archives a
        WHERE a.state <> 'deleted' AND a.created_at < $1
          AND NOT EXISTS (SELECT 1 FROM backups b WHERE b.archive_id = a.id)
          AND NOT EXISTS (SELECT 1 FROM backups b WHERE b.database_archive_id = a.id)`,
      [new Date(now.getTime() - GRACE_MS).toISOString()],
    );
    const rewriteMs = performance.now() - rewriteStarted;
    expect(rewritten).toHaveLength(GC_UNREFERENCED);

    const storeTimes: CallTimes = new Map();
    const fileTimes: CallTimes = new Map();
    const collector = new StoreCollector({
      store: timed(new StoreRepository(db), storeTimes),
      archives: timed(archiveStore, fileTimes),
      policies: new BackupPoliciesRepository(db),
      config: { storeGcGraceMs: GRACE_MS },
      logger,
    });

    let cpu = process.cpuUsage();
    const planStarted = performance.now();
    const plan: CollectionPlan = await collector.plan(now);
    const planMs = performance.now() - planStarted;
    const planCpuMs = cpuMsSince(cpu);
    const table = [...breakdown('plan', storeTimes), ...breakdown('plan', fileTimes)];
    storeTimes.clear();
    fileTimes.clear();

    expect(plan.broken).toEqual([]);
    expect(plan.strayFiles).toEqual([]);
    expect(plan.unreferenced.sort()).toEqual(rewritten.map((row) => row.id).sort());
    expect(plan.expired.map((backup) => backup.backupId).sort()).toEqual([...expectedExpired].sort());

    cpu = process.cpuUsage();
    const collectStarted = performance.now();
    const report = await collector.collect(plan);
    const collectMs = performance.now() - collectStarted;
    const collectCpuMs = cpuMsSince(cpu);
    table.push(...breakdown('collect', storeTimes), ...breakdown('collect', fileTimes));

    const archivesRemoved = expectedExpired.length + GC_UNREFERENCED;
    expect(report).toMatchObject({
      backupsRemoved: expectedExpired.length,
      archivesRemoved: GC_UNREFERENCED,
      strayFiles: 0,
      brokenBackups: [],
    });
    const [left] = await sqlRows<{ backups: number; deleted: number; stored: number; freed: string }>(
      db,
      `SELECT (SELECT count(*)::int FROM backups) AS backups,
              (SELECT count(*)::int FROM archives WHERE state = 'deleted') AS deleted,
              (SELECT count(*)::int FROM archives WHERE state = 'stored') AS stored,
              (SELECT COALESCE(sum(size_bytes), 0)::text FROM archives WHERE state = 'deleted') AS freed`,
    );
    expect(left).toEqual({
      backups: GC_BACKUPS - expectedExpired.length,
      deleted: archivesRemoved,
      stored: GC_ARCHIVES - archivesRemoved,
      freed: String(report.bytesFreed),
    });
    const filesLeft = (await readdir(join(database.dataDir, 'store', 'archives'))).length;
    expect(filesLeft).toBe(GC_ARCHIVES - archivesRemoved);

    recordResult(
      'schedules-gc',
      {
        registry: `${GC_ARCHIVES} stored archives with files, ${GC_BACKUPS} backups of ${GC_SITES} sites, keep last ${KEEP.last} + daily ${KEEP.daily} (PostgreSQL)`,
        seedSeconds: round(seedSeconds, 1),
        filesSeconds: round(filesSeconds, 1),
        planMs: round(planMs, 1),
        planCpuMs: round(planCpuMs, 1),
        collectMs: round(collectMs, 1),
        collectCpuMs: round(collectCpuMs, 1),
        backupsRemoved: report.backupsRemoved,
        unreferencedRemoved: report.archivesRemoved,
        archivesMarkedDeleted: left!.deleted,
        filesRemoved: GC_ARCHIVES - filesLeft,
        bytesFreed: report.bytesFreed,
        unreferencedQueryAsTwoAntiJoinsMs: round(rewriteMs, 1),
      },
      table,
    );
  });
});
