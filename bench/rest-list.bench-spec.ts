import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMaster, type MasterHandle } from '../test/support/processes.js';
import { createTestDatabase, type TestDatabase } from '../test/support/test-database.js';
import { quantile, recordResult, round } from './support/results.js';

const SITES = 10_000;
const TASKS = 100_000;
/** A page of the site list, and a filtered search (a piece of the domain and a state). */
const SITES_PAGE = '/api/sites?limit=50';
const SITES_SEARCH = '/api/sites?limit=50&q=site1234.&status=enabled';

/**
 * REST list latency with a big registry: 10,000 sites and 100,000 finished tasks inserted straight
 * into PostgreSQL, then GET /api/tasks?limit=50, GET /api/sites (every site), a page of 50 sites and a
 * filtered search timed from the client. The baseline is the same request on an empty registry.
 */
describe('REST list latency with 10,000 sites and 100,000 tasks', () => {
  let database: TestDatabase;
  let master: MasterHandle;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    master = await startMaster(database, { label: 'bench-rest-list-master' });
  });

  afterAll(async () => {
    await master?.stop();
    await database?.drop();
  });

  const time = async (path: string, runs: number) => {
    const samples: number[] = [];
    let items = 0;
    for (let index = 0; index < runs + 2; index += 1) {
      const started = performance.now();
      const body = await master.api.get<{ items: unknown[] }>(path);
      const elapsed = performance.now() - started;
      items = body.items.length;
      if (index >= 2) samples.push(elapsed); // two warm-up requests
    }
    return { p50: round(quantile(samples, 0.5), 1), p99: round(quantile(samples, 0.99), 1), items };
  };

  it('times the task and site lists on an empty and on a full registry', async () => {
    const emptyTasks = await time('/api/tasks?limit=50', 50);
    const emptySites = await time('/api/sites', 50);
    const emptyPage = await time(SITES_PAGE, 50);
    const emptySearch = await time(SITES_SEARCH, 50);

    await master.api.post('/api/servers', { name: 'web1', slots: 1 });
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const insertStarted = performance.now();
    try {
      const server = await client.query<{ id: string }>(`SELECT id FROM servers WHERE name = 'web1'`);
      const serverId = server.rows[0]!.id;
      const platform = await client.query<{ id: string }>(
        `INSERT INTO platforms (name, server_id, path, docroot, status, verified_at)
         VALUES ('bench', $1, '/srv/bench', 'web', 'verified', now()) RETURNING id`,
        [serverId],
      );
      await client.query(
        `INSERT INTO sites (domain, platform_id, db_server_id, db_name, db_user, db_password_encrypted, status)
         SELECT 'site' || n || '.example', $1, $2, 'site_' || n, 'u' || n, 'not-a-real-secret', 'enabled'
           FROM generate_series(1, ${SITES}) AS n`,
        [platform.rows[0]!.id, serverId],
      );
      await client.query(
        `INSERT INTO tasks (type, state, target_kind, target_id, target_name, created_at, started_at, finished_at)
         SELECT 'debug.noop', 'succeeded', 'server', $1, 'web1',
                now() - (n || ' seconds')::interval, now() - (n || ' seconds')::interval,
                now() - (n || ' seconds')::interval
           FROM generate_series(1, ${TASKS}) AS n`,
        [serverId],
      );
      await client.query('ANALYZE');
    } finally {
      await client.end();
    }
    const insertSeconds = (performance.now() - insertStarted) / 1000;

    const fullTasks = await time('/api/tasks?limit=50', 50);
    const fullSites = await time('/api/sites', 10);
    const fullPage = await time(SITES_PAGE, 50);
    const fullSearch = await time(SITES_SEARCH, 50);
    expect(fullTasks.items).toBe(50);
    expect(fullSites.items).toBe(SITES);
    expect(fullPage.items).toBe(50);
    // site1234, site12340 … site12349 do not exist: the 1,234th site alone.
    expect(fullSearch.items).toBe(1);

    recordResult('rest-list', {
      registry: `${SITES} sites, ${TASKS} tasks (PostgreSQL)`,
      insertSeconds: round(insertSeconds, 1),
      emptyTasksP50Ms: emptyTasks.p50,
      emptyTasksP99Ms: emptyTasks.p99,
      tasksLimit50P50Ms: fullTasks.p50,
      tasksLimit50P99Ms: fullTasks.p99,
      tasksRatioToEmpty: round(fullTasks.p50 / emptyTasks.p50),
      emptySitesP50Ms: emptySites.p50,
      emptySitesP99Ms: emptySites.p99,
      sitesAllP50Ms: fullSites.p50,
      sitesAllP99Ms: fullSites.p99,
      sitesRatioToEmpty: round(fullSites.p50 / emptySites.p50),
      emptySitesPageP50Ms: emptyPage.p50,
      emptySitesPageP99Ms: emptyPage.p99,
      sitesPage50P50Ms: fullPage.p50,
      sitesPage50P99Ms: fullPage.p99,
      sitesPageRatioToEmpty: round(fullPage.p50 / emptyPage.p50),
      emptySitesSearchP50Ms: emptySearch.p50,
      emptySitesSearchP99Ms: emptySearch.p99,
      sitesSearchP50Ms: fullSearch.p50,
      sitesSearchP99Ms: fullSearch.p99,
      sitesSearchRatioToEmpty: round(fullSearch.p50 / emptySearch.p50),
      masterRssMB: round(master.process.rssBytes() / (1024 * 1024), 1),
    });
  });
});
