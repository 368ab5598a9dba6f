import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  startAgent,
  startMaster,
  type AgentHandle,
  type MasterHandle,
} from '../test/support/processes.js';
import { createTestDatabase, type TestDatabase } from '../test/support/test-database.js';
import { quantile, recordResult, round } from './support/results.js';

const MB = 1024 * 1024;
/** Agent counts measured; 500 agent processes do not fit on a 2-core machine (see README). */
const AGENT_COUNTS = [1, 50];
const TASKS = 200;
/** Agents started at once: more only makes them time each other out on 2 cores. */
const START_BATCH = 10;

interface TaskDetail {
  id: string;
  state: string;
  error: string | null;
  createdAt: string;
  steps: Array<{ attempts: Array<{ startedAt: string | null; finishedAt: string | null }> }>;
}

/**
 * Step dispatch latency of the control plane: one master on PostgreSQL, N real agent processes
 * (one slot each, --debug-steps), debug.noop tasks one in flight per agent. Dispatch = task
 * created → attempt started on the agent; round trip = task created → attempt finished. The times
 * are the registry's, so the client's polling does not count.
 */
describe('step dispatch latency', () => {
  let database: TestDatabase;
  let master: MasterHandle;
  const agents: AgentHandle[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    master = await startMaster(database, { label: 'bench-dispatch-master' });
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    await master?.stop();
    await database?.drop();
  });

  const addAgents = async (count: number) => {
    while (agents.length < count) {
      const batch = Array.from({ length: Math.min(START_BATCH, count - agents.length) }, (_, index) =>
        startAgent(master, { name: `agent${agents.length + index + 1}`, label: `bench-dispatch-agent` }),
      );
      agents.push(...(await Promise.all(batch)));
    }
  };

  /** Runs `total` debug.noop tasks, at most one per agent in flight, and returns their details. */
  const runNoops = async (total: number): Promise<TaskDetail[]> => {
    const ids: string[] = [];
    for (let offset = 0; offset < total; offset += agents.length) {
      const wave = await Promise.all(
        agents
          .slice(0, Math.min(agents.length, total - offset))
          .map((agent) =>
            master.api.post<{ id: string }>('/api/tasks', { type: 'debug.noop', server: agent.name }),
          ),
      );
      const waveIds = new Set(wave.map((task) => task.id));
      ids.push(...waveIds);
      // One list request per poll, not one per task: the poller should not be the load.
      await eventually(
        `${waveIds.size} debug.noop tasks to finish`,
        async () => {
          const recent = await master.api.get<{ items: Array<{ id: string; state: string }> }>(
            `/api/tasks?limit=${Math.max(waveIds.size * 2, 50)}`,
          );
          const done = recent.items.filter(
            (task) => waveIds.has(task.id) && ['succeeded', 'failed', 'cancelled'].includes(task.state),
          );
          return done.length === waveIds.size;
        },
        120_000,
        25,
      );
    }
    const details: TaskDetail[] = [];
    for (const id of ids) details.push(await master.api.get<TaskDetail>(`/api/tasks/${id}`));
    return details;
  };

  it('measures p50/p99 dispatch and round trip with 1 and 50 agents, and the master RSS', async () => {
    const figures: Record<string, number | string> = {};
    for (const count of AGENT_COUNTS) {
      const startedAt = performance.now();
      await addAgents(count);
      const startSeconds = (performance.now() - startedAt) / 1000;
      await runNoops(count * 2); // warm-up: every agent's stream and the master's code paths
      const tasks = await runNoops(TASKS);
      const failed = tasks.filter((task) => task.state !== 'succeeded');
      expect(failed.map((task) => `${task.id}: ${task.state} ${task.error}`)).toEqual([]);
      const dispatch: number[] = [];
      const roundTrip: number[] = [];
      for (const task of tasks) {
        const attempt = task.steps[0]?.attempts.at(-1);
        expect(
          attempt?.startedAt && attempt.finishedAt,
          `task ${task.id} has no finished attempt`,
        ).toBeTruthy();
        dispatch.push(Date.parse(attempt!.startedAt!) - Date.parse(task.createdAt));
        roundTrip.push(Date.parse(attempt!.finishedAt!) - Date.parse(task.createdAt));
      }
      expect(Math.min(...dispatch)).toBeGreaterThanOrEqual(0);
      figures[`agents${count}DispatchP50Ms`] = quantile(dispatch, 0.5);
      figures[`agents${count}DispatchP99Ms`] = quantile(dispatch, 0.99);
      figures[`agents${count}RoundTripP50Ms`] = quantile(roundTrip, 0.5);
      figures[`agents${count}RoundTripP99Ms`] = quantile(roundTrip, 0.99);
      figures[`agents${count}MasterRssMB`] = round(master.process.rssBytes() / MB, 1);
      figures[`agents${count}StartSeconds`] = round(startSeconds, 1);
    }
    // The baseline is the single agent: how much a full machine of agents slows each dispatch.
    figures.agents50VsAgents1DispatchP50 = round(
      Number(figures.agents50DispatchP50Ms) / Math.max(1, Number(figures.agents1DispatchP50Ms)),
    );
    figures.agents500 = 'not run: 500 agent processes (~50 MB each) do not fit a 2-core machine';
    recordResult('dispatch', figures);
  });
});
