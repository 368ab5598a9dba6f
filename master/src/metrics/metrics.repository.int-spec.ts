import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlRows } from '../infra/db/sql.js';
import { MetricsRepository } from './metrics.repository.js';

const TASKS = 100_000;

/**
 * The task counts a scrape reads, on both registries, with 100,000 tasks: right per type and state,
 * and one statement that stays cheap (the time is printed; the budget is generous for shared CI).
 */
describe.each(TEST_DATABASE_KINDS)('MetricsRepository on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    // 97,000 succeeded site.verify, 2,000 failed site.backup, 1,000 queued site.install.
    await sqlRows(
      db,
      `INSERT INTO tasks (type, state, target_kind, target_id, target_name, phases)
       SELECT CASE WHEN n <= 1000 THEN 'site.install' WHEN n <= 3000 THEN 'site.backup' ELSE 'site.verify' END,
              CASE WHEN n <= 1000 THEN 'queued' WHEN n <= 3000 THEN 'failed' ELSE 'succeeded' END,
              'site', gen_random_uuid(), 'site' || n || '.example', '[]'::jsonb
         FROM generate_series(1, ${TASKS}) AS n RETURNING NULL`,
    );
    await sqlRows(db, 'ANALYZE tasks');
  }, 120_000);

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('counts tasks by type and state in one cheap query', async () => {
    const repository = new MetricsRepository(db);
    await repository.taskCounts(); // warm-up
    const samples: number[] = [];
    let counts: Awaited<ReturnType<MetricsRepository['taskCounts']>> = [];
    for (let run = 0; run < 5; run += 1) {
      const started = performance.now();
      counts = await repository.taskCounts();
      samples.push(performance.now() - started);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    console.info(`${kind}: task counts over ${TASKS} tasks, median ${sorted[2]!.toFixed(1)} ms`);
    expect(counts.sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { type: 'site.backup', state: 'failed', count: 2000 },
      { type: 'site.install', state: 'queued', count: 1000 },
      { type: 'site.verify', state: 'succeeded', count: 97_000 },
    ]);
    expect(sorted[2]).toBeLessThan(1000);
  });
});
