import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startAgent,
  startMaster,
  waitForTask,
  type AgentHandle,
  type MasterHandle,
  type TaskSummary,
} from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const MB = 1024 * 1024;

/** Bulk bytes between agent and master: a 200 MB archive up and back, memory flat on the master. */
describe('archive transfer', () => {
  let database: TestDatabase;
  let master: MasterHandle;
  let agent: AgentHandle;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    master = await startMaster(database, { label: 'transfer-master' });
    agent = await startAgent(master, { name: 'web1', label: 'transfer-web1' });
  });

  afterAll(async () => {
    await agent?.stop();
    await master?.stop();
    await database?.drop();
  });

  const transfer = async (bytes: number) => {
    const task = await master.api.post<TaskSummary>('/api/tasks', {
      type: 'server.transfer-check',
      server: 'web1',
      params: { bytes },
    });
    return waitForTask(master, task.id, 300_000);
  };

  it('round-trips 200 MB with matching sha256 while the master grows by less than 64 MB', async () => {
    // Warm up the code paths first, so the baseline is the master at work, not the master cold.
    expect((await transfer(4 * MB)).state).toBe('succeeded');
    const baseline = master.process.rssBytes();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, master.process.rssBytes());
    }, 50);
    let task: TaskSummary;
    try {
      task = await transfer(200 * MB);
    } finally {
      clearInterval(sampler);
    }
    expect(task.state).toBe('succeeded');
    const result = task.result as { sha256: string; bytes: number; uploadMs: number; downloadMs: number };
    console.info(
      `transfer: 200 MiB up in ${result.uploadMs} ms, down in ${result.downloadMs} ms; ` +
        `master RSS ${Math.round(baseline / MB)} MiB -> peak ${Math.round(peak / MB)} MiB (+${((peak - baseline) / MB).toFixed(1)} MiB)`,
    );
    expect(result.bytes).toBe(200 * MB);
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(peak - baseline).toBeLessThan(64 * MB);
    // The test archive is removed afterwards and nothing is left half-written.
    const store = join(database.dataDir, 'store');
    expect(readdirSync(join(store, 'archives'))).toEqual([]);
    const inFlight = readdirSync(join(store, 'tmp'), { recursive: true, withFileTypes: true });
    expect(inFlight.filter((entry) => entry.isFile()).map((entry) => entry.name)).toEqual([]);
  });
});
