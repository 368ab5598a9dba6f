import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startMasterGroup, type MasterGroup } from '../test/support/master-group.js';
import { eventually } from '../test/support/processes.js';
import { createTestDatabase, type TestDatabase } from '../test/support/test-database.js';
import { LightAgentFleet } from './support/light-agents.js';
import { quantile, recordResult, round, type Figures } from './support/results.js';

const MB = 1024 * 1024;
/** The production heartbeat, attempt lease and master lease (not the tests' fast ones). */
const MASTER_ENV = { BERTH_HEARTBEAT_MS: '2000', BERTH_LEASE_MS: '15000', BERTH_MASTER_LEASE_MS: '10000' };
const DISPATCH_AGENTS = Number(process.env.BERTH_BENCH_HA_AGENTS ?? 500);
const RSS_AGENTS = Number(process.env.BERTH_BENCH_HA_RSS_AGENTS ?? 1000);
/** Bursts of one task per agent, measured after one to warm up. */
const WAVES = 2;
/** Tasks asked one after the other, for each of local and cross-master dispatch. */
const ONE_AT_A_TIME = 40;

/**
 * Several masters on one PostgreSQL (README, "High availability"): step dispatch with 1, 2 and 3
 * masters and 500 light agents spread over them (each given every address, starting at a random
 * one); the memory of 2 masters holding 1,000 agents; and failover, from kill -9 of the master
 * holding N running tasks until another has adopted all N.
 */
describe('several masters', () => {
  const figures: Figures = {};
  const cleanups: Array<() => Promise<void>> = [];

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    recordResult('several-masters', figures);
  });

  async function setUp(label: string, count: number) {
    const database: TestDatabase = await createTestDatabase('postgres');
    cleanups.push(() => database.drop());
    const group = await startMasterGroup(database, { count, label, env: MASTER_ENV });
    cleanups.push(() => group.stop());
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    cleanups.push(() => sql.end());
    return { database, group, sql };
  }

  async function spreadOf(sql: pg.Client): Promise<string> {
    const { rows } = await sql.query<{ master: string; agents: number }>(
      `SELECT master_id AS master, count(*)::int AS agents FROM agent_connections GROUP BY master_id ORDER BY 1`,
    );
    return rows.map((row) => `${row.master}:${row.agents}`).join(' ');
  }

  for (const count of [1, 2, 3]) {
    it(`dispatches to ${DISPATCH_AGENTS} light agents through ${count} master(s)`, async () => {
      const { group, sql } = await setUp(`bench-ha${count}`, count);
      const fleet = new LightAgentFleet(group.masters[0]!, {
        prefix: `ha${count}-`,
        masters: group.grpcAddresses,
      });
      cleanups.push(() => fleet.stop());
      await fleet.add(DISPATCH_AGENTS);
      figures[`masters${count}Spread`] = await spreadOf(sql);
      const dispatch: number[] = [];
      for (let wave = 0; wave <= WAVES; wave++) {
        const ids = await burst(group, fleet.names);
        await eventually(
          `${ids.length} tasks to finish`,
          async () => {
            const { rows } = await sql.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM tasks WHERE id = ANY($1::uuid[]) AND state IN ('succeeded','failed','cancelled')`,
              [ids],
            );
            return rows[0]!.n === ids.length;
          },
          180_000,
          100,
        );
        const { rows } = await sql.query<{ state: string; ms: number }>(
          `SELECT t.state, EXTRACT(EPOCH FROM a.started_at - t.created_at) * 1000 AS ms
             FROM tasks t JOIN step_attempts a ON a.task_id = t.id WHERE t.id = ANY($1::uuid[])`,
          [ids],
        );
        expect(rows.filter((row) => row.state !== 'succeeded')).toEqual([]);
        if (wave > 0) dispatch.push(...rows.map((row) => Number(row.ms)));
      }
      figures[`masters${count}DispatchP50Ms`] = round(quantile(dispatch, 0.5));
      figures[`masters${count}DispatchP99Ms`] = round(quantile(dispatch, 0.99));
      if (count > 1) {
        // One task at a time, asked of the master holding the agent's stream (local) or of another
        // (cross: the step goes out through the other master, woken by a notification).
        const holders = new Map(
          (
            await sql.query<{ name: string; master: string }>(
              `SELECT s.name, c.master_id AS master FROM agent_connections c JOIN servers s ON s.id = c.server_id`,
            )
          ).rows.map((row) => [row.name, row.master]),
        );
        for (const kind of ['local', 'cross'] as const) {
          const latencies: number[] = [];
          for (let index = 0; index < ONE_AT_A_TIME; index++) {
            const server = fleet.names[index % fleet.names.length]!;
            const holder = holders.get(server);
            const asked = group.masters.find((master, at) =>
              kind === 'local' ? `m${at + 1}` === holder : `m${at + 1}` !== holder,
            )!;
            const { id } = await asked.api.post<{ id: string }>('/api/tasks', { type: 'debug.noop', server });
            latencies.push(await dispatchedAfter(sql, id));
          }
          figures[`masters${count}OneAtATime${kind === 'local' ? 'Local' : 'Cross'}P50Ms`] = round(
            quantile(latencies, 0.5),
          );
          figures[`masters${count}OneAtATime${kind === 'local' ? 'Local' : 'Cross'}P99Ms`] = round(
            quantile(latencies, 0.99),
          );
        }
      }
      figures[`masters${count}RssMB`] = group.masters
        .map((master) => round(master.process.rssBytes() / MB, 0))
        .join(' / ');
      await fleet.stop();
    });
  }

  it(`holds ${RSS_AGENTS} light agents on 2 masters`, async () => {
    const { group, sql } = await setUp('bench-ha-rss', 2);
    const fleet = new LightAgentFleet(group.masters[0]!, { prefix: 'rss-', masters: group.grpcAddresses });
    cleanups.push(() => fleet.stop());
    await fleet.add(RSS_AGENTS);
    // One task per agent once, so that every stream has carried a step.
    const ids = await burst(group, fleet.names);
    await eventually(
      `${ids.length} tasks to finish`,
      async () => {
        const { rows } = await sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM tasks WHERE id = ANY($1::uuid[]) AND state = 'succeeded'`,
          [ids],
        );
        return rows[0]!.n === ids.length;
      },
      300_000,
      250,
    );
    figures.rss1000Spread = await spreadOf(sql);
    figures.rss1000MasterRssMB = group.masters
      .map((master) => round(master.process.rssBytes() / MB, 0))
      .join(' / ');
    await fleet.stop();
  });

  for (const tasks of [1, 100]) {
    it(`adopts ${tasks} running task(s) after kill -9 of their master`, async () => {
      // The victim alone first, so that it starts (and holds) every task.
      const { group, sql } = await setUp(`bench-ha-failover${tasks}`, 1);
      const victim = group.masters[0]!;
      // A step for a server without an agent waits for one (BERTH_AGENT_WAIT_MS): each task runs,
      // held by its master, until that master dies.
      const ids: string[] = [];
      for (let n = 0; n < tasks; n++) {
        await victim.api.post('/api/servers', { name: `idle${n}`, slots: 1 });
        ids.push(
          (await victim.api.post<{ id: string }>('/api/tasks', { type: 'debug.noop', server: `idle${n}` }))
            .id,
        );
      }
      const heldBy = async (master: string) =>
        (
          await sql.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM tasks WHERE id = ANY($1::uuid[]) AND state = 'running' AND runner_id = $2`,
            [ids, master],
          )
        ).rows[0]!.n;
      await eventually(`${tasks} tasks running on m1`, async () => (await heldBy('m1')) === tasks, 60_000);
      await group.add();
      const killedAt = performance.now();
      await victim.process.kill9();
      await eventually(
        `${tasks} tasks adopted by m2`,
        async () => (await heldBy('m2')) === tasks,
        60_000,
        50,
      );
      figures[`failover${tasks}Seconds`] = round((performance.now() - killedAt) / 1000, 2);
    });
  }
});

/** Waits for a task to succeed; its dispatch latency (created → started on the agent), in ms. */
async function dispatchedAfter(sql: pg.Client, taskId: string): Promise<number> {
  const { ms } = await eventually(
    `task ${taskId} to finish`,
    async () => {
      const { rows } = await sql.query<{ state: string; ms: number }>(
        `SELECT t.state, EXTRACT(EPOCH FROM a.started_at - t.created_at) * 1000 AS ms
           FROM tasks t JOIN step_attempts a ON a.task_id = t.id WHERE t.id = $1`,
        [taskId],
      );
      const row = rows[0];
      if (row?.state === 'failed' || row?.state === 'cancelled')
        throw new Error(`task ${taskId} ${row.state}`);
      return row?.state === 'succeeded' ? { ms: Number(row.ms) } : undefined;
    },
    30_000,
    5,
  );
  return ms;
}

/** One debug.noop task per server, asked of the masters in turn. */
async function burst(group: MasterGroup, servers: string[]): Promise<string[]> {
  const asked = await Promise.all(
    servers.map((server, index) =>
      group.masters[index % group.masters.length]!.api.post<{ id: string }>('/api/tasks', {
        type: 'debug.noop',
        server,
      }),
    ),
  );
  return asked.map((task) => task.id);
}
