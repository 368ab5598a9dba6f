import { existsSync } from 'node:fs';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Overview, Page } from '../shared/src/api.js';
import { startMaster, type MasterHandle } from '../test/support/processes.js';
import { createTestDatabase, type TestDatabase } from '../test/support/test-database.js';
import { quantile, recordResult, round, type Figures } from './support/results.js';

const SITES = 10_000;
const TASKS = 100_000;
/** Every how many tasks one failed within the last day (the overview's attention list counts them). */
const FAILED_EVERY = 1_000;
const CHROMIUM = '/usr/bin/chromium';
/** The dashboard's quickest polling interval (master/web/src): one refresh is watched this long. */
const DASHBOARD_REFRESH_MS = 3_000;

/** The requests timed, each on an empty and on a full registry. */
const REQUESTS = {
  tasksPage: '/api/tasks?limit=50',
  /** A site's task history (the site page's). */
  tasksOfSite: '/api/tasks?limit=20&target=site1234.example',
  tasksFailedSince: `/api/tasks?limit=50&state=failed&since=${encodeURIComponent('2000-01-01T00:00:00Z')}`,
  sitesAll: '/api/sites',
  sitesPage: '/api/sites?limit=50',
  /** A piece of the domain and a state. */
  sitesSearch: '/api/sites?limit=50&q=site1234.&status=enabled',
  platformsPage: '/api/platforms?limit=50',
  overview: '/api/overview',
} as const;
type RequestName = keyof typeof REQUESTS;

/**
 * REST list latency with a big registry: 10,000 sites and 100,000 tasks (nine in ten on sites, one in
 * a thousand failed) inserted straight into PostgreSQL, then pages, filters, the second page of the
 * task list by its cursor and the dashboard's overview timed from the client; the baseline is the same
 * request on an empty registry. With Chromium on the machine, the web UI's dashboard is opened on the
 * full registry and the requests of one refresh are counted (none may grow with the number of sites).
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
    let body: unknown;
    for (let index = 0; index < runs + 2; index += 1) {
      const started = performance.now();
      body = await master.api.get<unknown>(path);
      const elapsed = performance.now() - started;
      if (index >= 2) samples.push(elapsed); // two warm-up requests
    }
    return { p50: round(quantile(samples, 0.5), 1), p99: round(quantile(samples, 0.99), 1), body };
  };
  const items = (body: unknown) => (body as Page<unknown>).items.length;

  const timeAll = async (runs: (name: RequestName) => number) => {
    const results = {} as Record<RequestName, Awaited<ReturnType<typeof time>>>;
    for (const name of Object.keys(REQUESTS) as RequestName[])
      results[name] = await time(REQUESTS[name], runs(name));
    return results;
  };

  it('times the lists and the overview on an empty and on a full registry', async () => {
    const empty = await timeAll(() => 50);

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
        `INSERT INTO sites (domain, platform_id, db_server_id, db_name, db_user, db_password_encrypted, status,
                            verified_at)
         SELECT 'site' || n || '.example', $1, $2, 'site_' || n, 'u' || n, 'not-a-real-secret', 'enabled',
                CASE WHEN n % 100 = 0 THEN NULL ELSE now() END
           FROM generate_series(1, ${SITES}) AS n`,
        [platform.rows[0]!.id, serverId],
      );
      // Nine tasks in ten on a site (each site has about nine), the rest on the server; one in a
      // thousand failed, all within the last 28 hours.
      await client.query(
        `INSERT INTO tasks (type, state, target_kind, target_id, target_name, created_at, started_at, finished_at)
         SELECT CASE WHEN n % 10 = 0 THEN 'debug.noop' ELSE 'site.verify' END,
                CASE WHEN n % ${FAILED_EVERY} = 0 THEN 'failed' ELSE 'succeeded' END,
                CASE WHEN n % 10 = 0 THEN 'server' ELSE 'site' END,
                CASE WHEN n % 10 = 0 THEN $1::uuid ELSE s.id END,
                CASE WHEN n % 10 = 0 THEN 'web1' ELSE s.domain END,
                now() - (n || ' seconds')::interval, now() - (n || ' seconds')::interval,
                now() - (n || ' seconds')::interval
           FROM generate_series(1, ${TASKS}) AS n
           JOIN sites s ON s.domain = 'site' || (n % ${SITES} + 1) || '.example'`,
        [serverId],
      );
      await client.query('ANALYZE');
    } finally {
      await client.end();
    }
    const insertSeconds = (performance.now() - insertStarted) / 1000;

    const full = await timeAll((name) => (name === 'sitesAll' ? 10 : 50));
    expect(items(full.tasksPage.body)).toBe(50);
    expect(items(full.tasksOfSite.body)).toBe(10); // n = 1233, 11233 … 91233
    expect(items(full.sitesAll.body)).toBe(SITES);
    expect(items(full.sitesPage.body)).toBe(50);
    // site1234, site12340 … site12349 do not exist: the 1,234th site alone.
    expect(items(full.sitesSearch.body)).toBe(1);
    const overview = full.overview.body as Overview;
    expect(overview.sites.total).toBe(SITES);
    // Failed ones created within the last 24 hours: n seconds ago, n a multiple of 1,000 up to 86,400.
    expect(overview.attention.failedTasks.count).toBe(Math.floor(86_400 / FAILED_EVERY));
    expect(overview.attention.unverifiedSites.count).toBe(SITES / 100);
    // The second page of the task list, by the first page's cursor.
    const next = (full.tasksPage.body as Page<unknown>).next;
    expect(next).toBeTruthy();
    const tasksPage2 = await time(`${REQUESTS.tasksPage}&cursor=${encodeURIComponent(next!)}`, 50);
    expect(items(tasksPage2.body)).toBe(50);

    const dashboard = existsSync(CHROMIUM) ? await dashboardRefresh() : null;

    const row: Figures = {
      registry: `${SITES} sites, ${TASKS} tasks (PostgreSQL)`,
      insertSeconds: round(insertSeconds, 1),
    };
    for (const name of Object.keys(REQUESTS) as RequestName[]) {
      row[`${name}EmptyP50Ms`] = empty[name].p50;
      row[`${name}EmptyP99Ms`] = empty[name].p99;
      row[`${name}P50Ms`] = full[name].p50;
      row[`${name}P99Ms`] = full[name].p99;
      row[`${name}RatioToEmpty`] = round(full[name].p50 / empty[name].p50);
    }
    row.tasksPage2P50Ms = tasksPage2.p50;
    row.tasksPage2P99Ms = tasksPage2.p99;
    row.dashboardRequestsPerRefresh = dashboard?.requests ?? 'no Chromium';
    row.dashboardBytesPerRefresh = dashboard?.bytes ?? 'no Chromium';
    row.dashboardLargestResponseBytes = dashboard?.largest ?? 'no Chromium';
    row.dashboardPaths = dashboard?.paths ?? 'no Chromium';
    row.masterRssMB = round(master.process.rssBytes() / (1024 * 1024), 1);
    recordResult('rest-list', row);
  });

  /**
   * The web UI's dashboard on the full registry: after its first load, every request of one refresh
   * interval, with the bytes of each answer.
   */
  async function dashboardRefresh() {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(master.url);
      await page.getByLabel('API token').fill(master.token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: /needs attention/i }).waitFor({ timeout: 30_000 });
      // Let the first load settle, then watch one refresh.
      await page.waitForTimeout(DASHBOARD_REFRESH_MS);
      const seen: Array<{ path: string; bytes: number }> = [];
      const pending: Promise<void>[] = [];
      page.on('response', (response) => {
        const url = new URL(response.url());
        if (!url.pathname.startsWith('/api/')) return;
        pending.push(
          response.body().then(
            (body) => void seen.push({ path: url.pathname + url.search, bytes: body.length }),
            () => void seen.push({ path: url.pathname + url.search, bytes: 0 }),
          ),
        );
      });
      await page.waitForTimeout(DASHBOARD_REFRESH_MS + 500);
      await Promise.all(pending);
      // A whole-list request (the site list without a limit) would grow with the registry.
      expect(seen.filter((request) => /^\/api\/sites(\?(?!.*limit=)|$)/.test(request.path))).toEqual([]);
      expect(seen.length).toBeGreaterThan(0);
      return {
        requests: seen.length,
        bytes: seen.reduce((sum, request) => sum + request.bytes, 0),
        largest: Math.max(...seen.map((request) => request.bytes)),
        paths: [...new Set(seen.map((request) => request.path.replace(/\?.*/, '')))].sort().join(' '),
      };
    } finally {
      await browser.close();
    }
  }
});
