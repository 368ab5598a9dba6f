import { afterAll, describe, expect, it } from 'vitest';
import {
  eventually,
  startAgent,
  startMaster,
  type AgentHandle,
  type MasterHandle,
} from '../test/support/processes.js';
import { createTestDatabase, type TestDatabase } from '../test/support/test-database.js';
import { cpuPercent, postgresBackends } from './support/cpu.js';
import { LightAgentFleet } from './support/light-agents.js';
import { quantile, recordResult, round, type Figures } from './support/results.js';

const MB = 1024 * 1024;

/** Comma-separated agent counts from the environment, or the default. */
function counts(variable: string, fallback: number[]): number[] {
  const text = process.env[variable]?.trim();
  if (!text) return fallback;
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < 1)) {
    throw new Error(`${variable} must be comma-separated whole numbers, got "${text}"`);
  }
  return values.sort((a, b) => a - b);
}

/** Real agent processes (~50 MB each): 500 of them do not fit a 2-core, 24 GiB machine. */
const REAL_AGENT_COUNTS = counts('BERTH_BENCH_DISPATCH_REAL', [1, 50]);
/** Light agents (agent/src/testing/light-agent.ts): 50 server identities per process. */
const LIGHT_AGENT_COUNTS = counts('BERTH_BENCH_DISPATCH_LIGHT', [1, 50, 500]);
/** Tasks measured per agent count, at least one per agent. */
const TASKS = Number(process.env.BERTH_BENCH_DISPATCH_TASKS ?? 200);
/** Tasks measured one at a time per agent count. */
const ONE_AT_A_TIME_TASKS = 100;
/** How long the master's and PostgreSQL's CPU is sampled with every agent connected and idle. */
const IDLE_SAMPLE_MS = 10_000;
/** Real agents started at once: more only makes them time each other out on 2 cores. */
const START_BATCH = 10;
/**
 * The master's production heartbeat and lease (not the tests' fast ones): every connected agent
 * costs a heartbeat, and a lease renewal, this often.
 */
const MASTER_ENV = { BERTH_HEARTBEAT_MS: '2000', BERTH_LEASE_MS: '15000' };

interface TaskDetail {
  id: string;
  state: string;
  error: string | null;
  createdAt: string;
  steps: Array<{ attempts: Array<{ startedAt: string | null; finishedAt: string | null }> }>;
}

interface Latencies {
  dispatch: number[];
  roundTrip: number[];
}

/**
 * Step dispatch latency of the control plane: one master on PostgreSQL, N connected agents, debug.noop
 * tasks. Dispatch = task created → attempt started on the agent; round trip = task created → attempt
 * finished; the times are the registry's, so the client's polling does not count. Two loads:
 * waves of one task per agent at once (a burst as wide as the fleet), and one task at a time (what N
 * idle connected agents cost each dispatch). Two kinds of agents: real agent processes (1 and 50),
 * and light agents (1, 50 and 500; many per process, the real protocol, no step runners), so that
 * the two can be compared at 50.
 */
describe('step dispatch latency', () => {
  const figures: Figures = {};
  const cleanups: Array<() => Promise<void>> = [];

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  const startBenchMaster = async (
    label: string,
  ): Promise<{ master: MasterHandle; database: TestDatabase }> => {
    const database: TestDatabase = await createTestDatabase('postgres');
    cleanups.push(() => database.drop());
    const master = await startMaster(database, { label, env: MASTER_ENV });
    cleanups.push(() => master.stop());
    return { master, database };
  };

  it('real agent processes: 1 and 50', async () => {
    const { master, database } = await startBenchMaster('bench-dispatch-master');
    const agents: AgentHandle[] = [];
    cleanups.push(async () => {
      for (const agent of agents) await agent.stop();
    });
    for (const count of REAL_AGENT_COUNTS) {
      const startedAt = performance.now();
      while (agents.length < count) {
        const batch = Array.from({ length: Math.min(START_BATCH, count - agents.length) }, (_, index) =>
          startAgent(master, { name: `agent${agents.length + index + 1}`, label: 'bench-dispatch-agent' }),
        );
        agents.push(...(await Promise.all(batch)));
      }
      const startSeconds = (performance.now() - startedAt) / 1000;
      const exited = agents.filter((agent) => !agent.process.running).map((agent) => agent.name);
      expect(exited, 'agent processes that exited').toEqual([]);
      await measure(
        master,
        database,
        `agents${count}`,
        agents.map((agent) => agent.name),
      );
      expect(agents.filter((agent) => !agent.process.running).map((agent) => agent.name)).toEqual([]);
      figures[`agents${count}MasterRssMB`] = round(master.process.rssBytes() / MB, 1);
      figures[`agents${count}StartSeconds`] = round(startSeconds, 1);
    }
    ratio('agents50VsAgents1DispatchP50', 'agents50DispatchP50Ms', 'agents1DispatchP50Ms');
    ratio(
      'agents50VsAgents1OneAtATimeDispatchP50',
      'agents50OneAtATimeDispatchP50Ms',
      'agents1OneAtATimeDispatchP50Ms',
    );
    figures.agents500 =
      'real agents not run: 500 agent processes (~50 MB each) do not fit a 2-core machine; see light500';
    recordResult('dispatch', figures);
  });

  it('light agents (many per process, real protocol, no step runners): 1, 50 and 500', async () => {
    const { master, database } = await startBenchMaster('bench-dispatch-light-master');
    const fleet = new LightAgentFleet(master, { prefix: 'light' });
    cleanups.push(() => fleet.stop());
    for (const count of LIGHT_AGENT_COUNTS) {
      const startedAt = performance.now();
      await fleet.add(count - fleet.names.length);
      const startSeconds = (performance.now() - startedAt) / 1000;
      await measure(master, database, `light${count}`, fleet.names);
      await fleet.assertHealthy();
      figures[`light${count}MasterRssMB`] = round(master.process.rssBytes() / MB, 1);
      figures[`light${count}StartSeconds`] = round(startSeconds, 1);
      figures[`light${count}AgentProcesses`] = fleet.processCount;
      figures[`light${count}AgentProcessesRssMB`] = round(fleet.rssBytes() / MB, 1);
    }
    ratio('light50VsLight1DispatchP50', 'light50DispatchP50Ms', 'light1DispatchP50Ms');
    ratio('light500VsLight1DispatchP50', 'light500DispatchP50Ms', 'light1DispatchP50Ms');
    ratio(
      'light500VsLight1OneAtATimeDispatchP50',
      'light500OneAtATimeDispatchP50Ms',
      'light1OneAtATimeDispatchP50Ms',
    );
    ratio('light50VsAgents50DispatchP50', 'light50DispatchP50Ms', 'agents50DispatchP50Ms');
    recordResult('dispatch', figures);
  });

  /** A ratio of two figures already measured (a baseline of 0 ms counts as 1 ms). */
  const ratio = (name: string, figure: string, baseline: string) => {
    if (typeof figures[figure] !== 'number' || typeof figures[baseline] !== 'number') return;
    figures[name] = round(Number(figures[figure]) / Math.max(1, Number(figures[baseline])));
  };

  /**
   * Warms up, samples the idle CPU of the master and its PostgreSQL backends (heartbeats and lease
   * renewals: the fixed cost of each connected agent), then measures waves and one-at-a-time
   * dispatch over `servers`; fills `figures`.
   */
  const measure = async (master: MasterHandle, database: TestDatabase, prefix: string, servers: string[]) => {
    await runWaves(master, servers, Math.max(servers.length, 10)); // every stream and code path once
    const backends = await postgresBackends(database.url!);
    const [masterCpu, postgresCpu] = await Promise.all([
      cpuPercent([master.process.pid], IDLE_SAMPLE_MS),
      cpuPercent(backends, IDLE_SAMPLE_MS),
    ]);
    figures[`${prefix}IdleMasterCpuPct`] = masterCpu;
    figures[`${prefix}IdlePostgresCpuPct`] = postgresCpu;
    const waves = latencies(await runWaves(master, servers, Math.max(TASKS, servers.length)));
    figures[`${prefix}DispatchP50Ms`] = quantile(waves.dispatch, 0.5);
    figures[`${prefix}DispatchP99Ms`] = quantile(waves.dispatch, 0.99);
    figures[`${prefix}RoundTripP50Ms`] = quantile(waves.roundTrip, 0.5);
    figures[`${prefix}RoundTripP99Ms`] = quantile(waves.roundTrip, 0.99);
    const single = latencies(await runOneAtATime(master, servers, ONE_AT_A_TIME_TASKS));
    figures[`${prefix}OneAtATimeDispatchP50Ms`] = quantile(single.dispatch, 0.5);
    figures[`${prefix}OneAtATimeDispatchP99Ms`] = quantile(single.dispatch, 0.99);
    figures[`${prefix}OneAtATimeRoundTripP50Ms`] = quantile(single.roundTrip, 0.5);
  };
});

const createNoop = (master: MasterHandle, server: string) =>
  master.api.post<{ id: string }>('/api/tasks', { type: 'debug.noop', server });

/** Runs `total` debug.noop tasks in waves of one per server (at most one in flight on each). */
async function runWaves(master: MasterHandle, servers: string[], total: number): Promise<TaskDetail[]> {
  const ids: string[] = [];
  for (let offset = 0; offset < total; offset += servers.length) {
    const wave = await Promise.all(
      servers.slice(0, Math.min(servers.length, total - offset)).map((server) => createNoop(master, server)),
    );
    ids.push(...wave.map((task) => task.id));
    // Two cheap filtered lists per poll (only this benchmark's tasks exist): the poller is not the load.
    await eventually(
      `${wave.length} debug.noop tasks to finish`,
      async () => {
        for (const state of ['queued', 'running']) {
          const { items } = await master.api.get<{ items: unknown[] }>(
            `/api/tasks?type=debug.noop&state=${state}&limit=1`,
          );
          if (items.length > 0) return false;
        }
        return true;
      },
      180_000,
      50,
    );
  }
  return details(master, ids);
}

/** Runs `total` debug.noop tasks one after another, round robin over the servers. */
async function runOneAtATime(master: MasterHandle, servers: string[], total: number): Promise<TaskDetail[]> {
  const ids: string[] = [];
  for (let index = 0; index < total; index++) {
    const { id } = await createNoop(master, servers[index % servers.length]!);
    ids.push(id);
    await eventually(
      `debug.noop task ${id} to finish`,
      async () => {
        const task = await master.api.get<{ state: string }>(`/api/tasks/${id}`);
        return ['succeeded', 'failed', 'cancelled'].includes(task.state);
      },
      60_000,
      5,
    );
  }
  return details(master, ids);
}

/** Every task's detail; fails the benchmark when any did not succeed (broken, not slow). */
async function details(master: MasterHandle, ids: string[]): Promise<TaskDetail[]> {
  const tasks: TaskDetail[] = [];
  for (const id of ids) tasks.push(await master.api.get<TaskDetail>(`/api/tasks/${id}`));
  const failed = tasks.filter((task) => task.state !== 'succeeded');
  expect(failed.map((task) => `${task.id}: ${task.state} ${task.error}`)).toEqual([]);
  return tasks;
}

function latencies(tasks: TaskDetail[]): Latencies {
  const result: Latencies = { dispatch: [], roundTrip: [] };
  for (const task of tasks) {
    const attempt = task.steps[0]?.attempts.at(-1);
    expect(attempt?.startedAt && attempt.finishedAt, `task ${task.id} has no finished attempt`).toBeTruthy();
    result.dispatch.push(Date.parse(attempt!.startedAt!) - Date.parse(task.createdAt));
    result.roundTrip.push(Date.parse(attempt!.finishedAt!) - Date.parse(task.createdAt));
  }
  expect(Math.min(...result.dispatch)).toBeGreaterThanOrEqual(0);
  return result;
}
