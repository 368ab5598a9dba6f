import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../master/src/metrics/prometheus-text.testing.js';
import { startMaster, type MasterHandle } from '../test/support/processes.js';
import { createTestDatabase, type TestDatabase } from '../test/support/test-database.js';
import { quantile, recordResult, round } from './support/results.js';

const TASKS = 100_000;
const METRICS_TOKEN = 'bench-metrics-0123456789abcdef';

/**
 * What a Prometheus scrape costs the master: GET /metrics timed from the client on an empty
 * registry and with 100,000 finished tasks in PostgreSQL (berth_tasks counts them at each scrape).
 */
describe('GET /metrics with 100,000 tasks', () => {
  let database: TestDatabase;
  let master: MasterHandle;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    master = await startMaster(database, {
      label: 'bench-metrics-scrape-master',
      env: { BERTH_METRICS_TOKEN: METRICS_TOKEN },
    });
  });

  afterAll(async () => {
    await master?.stop();
    await database?.drop();
  });

  const time = async (runs: number) => {
    const samples: number[] = [];
    let text = '';
    for (let index = 0; index < runs + 2; index += 1) {
      const started = performance.now();
      const response = await fetch(`${master.url}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      text = await response.text();
      const elapsed = performance.now() - started;
      expect(response.status).toBe(200);
      if (index >= 2) samples.push(elapsed); // two warm-up scrapes
    }
    return { p50: round(quantile(samples, 0.5), 1), p99: round(quantile(samples, 0.99), 1), text };
  };

  it('times a scrape on an empty and on a full registry', async () => {
    const empty = await time(50);

    await master.api.post('/api/servers', { name: 'web1', slots: 1 });
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const server = await client.query<{ id: string }>(`SELECT id FROM servers WHERE name = 'web1'`);
      await client.query(
        `INSERT INTO tasks (type, state, target_kind, target_id, target_name, created_at, started_at, finished_at)
         SELECT CASE n % 4 WHEN 0 THEN 'site.backup' WHEN 1 THEN 'site.verify' WHEN 2 THEN 'site.migrate'
                ELSE 'site.install' END,
                CASE WHEN n % 50 = 0 THEN 'failed' ELSE 'succeeded' END, 'server', $1, 'web1',
                now() - (n || ' seconds')::interval, now() - (n || ' seconds')::interval,
                now() - (n || ' seconds')::interval
           FROM generate_series(1, ${TASKS}) AS n`,
        [server.rows[0]!.id],
      );
      await client.query('ANALYZE');
    } finally {
      await client.end();
    }
    const full = await time(50);
    const samples = parsePrometheusText(full.text);
    expect(sampleValue(samples, 'berth_tasks', { type: 'site.backup', state: 'succeeded' })).toBe(24_000);

    recordResult('metrics-scrape', {
      registry: `${TASKS} tasks (PostgreSQL)`,
      emptyP50Ms: empty.p50,
      emptyP99Ms: empty.p99,
      fullP50Ms: full.p50,
      fullP99Ms: full.p99,
      bytes: full.text.length,
      series: samples.length,
      masterRssMB: round(master.process.rssBytes() / (1024 * 1024), 1),
    });
  });
});
