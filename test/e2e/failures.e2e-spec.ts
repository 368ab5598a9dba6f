import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  FAST_LEASES,
  startAgent,
  startMaster,
  waitForConnected,
  waitForTask,
  type AgentHandle,
  type MasterHandle,
  type TaskSummary,
} from '../support/processes.js';
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-database.js';

const leaseMs = Number(FAST_LEASES.BERTH_LEASE_MS);

/** What happens when processes die: kill -9 of an agent mid-step, and of the master mid-task. */
describe.each(TEST_DATABASE_KINDS)('failures on %s', (kind) => {
  let database: TestDatabase;
  let master: MasterHandle;
  let agent: AgentHandle;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    master = await startMaster(database, { label: `failures-${kind}-master` });
    agent = await startAgent(master, { name: 'web1', label: `failures-${kind}-web1` });
  });

  afterAll(async () => {
    await agent?.stop();
    await master?.stop();
    await database?.drop();
  });

  const sleepTask = (ms: number) =>
    master.api.post<TaskSummary>('/api/tasks', { type: 'debug.sleep', server: 'web1', params: { ms } });

  const stepRunning = (id: string) =>
    eventually(`task ${id}'s step to run`, async () => {
      const task = await master.api.get<TaskSummary>(`/api/tasks/${id}`);
      return task.steps?.[0]?.attempts[0]?.state === 'running';
    });

  it('loses the attempt of an agent killed with -9 within the lease and frees the slot; a retryable step runs again on the restarted agent and the task succeeds', async () => {
    const long = await sleepTask(3_000);
    await stepRunning(long.id);
    await agent.process.kill9();
    const killedAt = Date.now();

    await eventually(
      'the attempt to be lost and another one waiting',
      async () => {
        const task = await master.api.get<TaskSummary>(`/api/tasks/${long.id}`);
        const attempts = task.steps?.[0]?.attempts ?? [];
        return attempts[0]?.state === 'lost' && attempts[1]?.state === 'pending';
      },
      30_000,
    );
    expect(Date.now() - killedAt).toBeLessThan(leaseMs + 5_000);
    const server = await master.api.get<{ slotsBusy: number; connected: boolean }>('/api/servers/web1');
    expect(server).toMatchObject({ slotsBusy: 0, connected: false });

    await agent.restart();
    const done = await waitForTask(master, long.id, 30_000);
    expect(done.state).toBe('succeeded');
    const after = await master.api.get<TaskSummary>(`/api/tasks/${long.id}`);
    expect(after.steps![0]!.attempts.map((attempt) => attempt.state)).toEqual(['lost', 'done']);
    const log = await master.api.get<{ lines: Array<{ text: string }> }>(`/api/tasks/${long.id}/log`);
    expect(log.lines.map((line) => line.text).join('\n')).toMatch(
      /step debug\.sleep is tried again after a short wait: the agent on server web1 stopped answering/,
    );
    const next = await sleepTask(200);
    expect((await waitForTask(master, next.id)).state).toBe('succeeded');
  });

  it('survives a master killed with -9 mid-task: the agent reconnects and its result is accepted under the same epoch', async () => {
    const task = await sleepTask(4_000);
    await stepRunning(task.id);
    const before = await master.api.get<TaskSummary>(`/api/tasks/${task.id}`);
    await master.process.kill9();
    await master.restart();
    await waitForConnected(master, 'web1', agent.process);

    const done = await waitForTask(master, task.id, 60_000);
    expect(done.state).toBe('succeeded');
    const after = await master.api.get<TaskSummary>(`/api/tasks/${task.id}`);
    expect(after.steps).toHaveLength(1);
    expect(after.steps![0]!.attempts).toHaveLength(1);
    expect(after.steps![0]!.attempts[0]!.epoch).toBe(before.steps![0]!.attempts[0]!.epoch);
    const running = await master.api.get<{ items: TaskSummary[] }>('/api/tasks?state=running');
    expect(running.items).toHaveLength(0);
  });

  it('cancels a running step: the agent stops its process group and the task ends cancelled', async () => {
    const task = await sleepTask(120_000);
    await stepRunning(task.id);
    const started = Date.now();
    await master.api.post(`/api/tasks/${task.id}/cancel`);
    const done = await waitForTask(master, task.id, 30_000);
    expect(done.state).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(10_000);
    const server = await master.api.get<{ slotsBusy: number }>('/api/servers/web1');
    expect(server.slotsBusy).toBe(0);
  });
});
