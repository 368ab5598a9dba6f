import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixturePlatform } from '../fixtures/platforms.js';
import { startHostingAgent } from '../support/hosting-stack.js';
import { startMasterGroup, type MasterGroup } from '../support/master-group.js';
import { eventually, type AgentHandle, type MasterHandle } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { startWebStack, type WebStack } from '../support/web-stack.js';

/**
 * Three masters on one PostgreSQL, the agent given all three addresses, a 30-site platform upgrade
 * while the masters are killed with -9 in turn and one is paused (SIGSTOP) past its lease. Then a
 * history check over the registry and the agent's own log.
 */

const SITES = 30;
/** Short, so that a dead master's tasks are adopted in about two seconds. */
const MASTER_LEASE_MS = 1_500;

interface Row {
  [column: string]: unknown;
}

describe('several masters on one PostgreSQL', () => {
  let database: TestDatabase;
  let root: string;
  let web: WebStack;
  let agent: AgentHandle;
  let group: MasterGroup | undefined;
  const masters: MasterHandle[] = [];
  let sql: pg.Client;
  /** Masters paused now (SIGSTOP): no API call goes to them. */
  const paused = new Set<MasterHandle>();

  const query = async <T extends Row>(text: string, params: unknown[] = []) =>
    (await sql.query<T>(text, params)).rows;
  /** The API of a master that answers now. */
  const api = () => {
    const live = masters.find((master) => master.process.running && !paused.has(master));
    if (!live) throw new Error('no master is running');
    return live.api;
  };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    root = mkdtempSync(join(tmpdir(), 'berth-ha-root-'));
    mkdirSync(join(root, 'platforms'), { recursive: true });
    buildFixturePlatform('fixture-10.2', join(root, 'platforms', 'fixture-10-2'));
    buildFixturePlatform('fixture-10.3', join(root, 'platforms', 'fixture-10-3'));
    web = await startWebStack({ root });
    group = await startMasterGroup(database, {
      count: 3,
      label: 'ha',
      env: { BERTH_MASTER_LEASE_MS: String(MASTER_LEASE_MS) },
    });
    masters.push(...group.masters);
    const first = masters[0]!;
    agent = await startHostingAgent(first, {
      name: 'web1',
      label: 'ha-web1',
      root,
      web,
      slots: 2,
      masters: group.grpcAddresses,
    });
    for (const name of ['fixture-10-2', 'fixture-10-3']) {
      await first.api.post('/api/platforms', {
        name,
        server: 'web1',
        path: join(root, 'platforms', name),
      });
    }
    await eventually(
      'both platforms to be verified',
      async () =>
        (await query(`SELECT 1 FROM platforms WHERE verified_at IS NOT NULL AND name LIKE 'fixture-10-%'`))
          .length === 2,
      120_000,
    );
    // The installs asked of each master in turn.
    for (let n = 0; n < SITES; n++) {
      await masters[n % masters.length]!.api.post('/api/sites', {
        domain: `ha${n}.example`,
        platform: 'fixture-10-2',
      });
    }
    await eventually(
      'every install to succeed',
      async () => {
        const rows = await query<{ state: string; n: number }>(
          `SELECT state, count(*)::int AS n FROM tasks WHERE type = 'site.install' GROUP BY state`,
        );
        const failed = rows.find((row) => row.state === 'failed' || row.state === 'cancelled');
        if (failed) throw new Error(`installs failed: ${JSON.stringify(rows)}`);
        return rows.find((row) => row.state === 'succeeded')?.n === SITES;
      },
      300_000,
    );
  }, 420_000);

  afterAll(async () => {
    for (const master of paused) master.process.child.kill('SIGCONT');
    await agent?.stop();
    await group?.stop();
    await web?.stop();
    await sql?.end();
    await database?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('upgrades the platform of 30 sites while masters are killed in turn and one is paused', async () => {
    // All three alive, the agent on one of them, one running the periodic work.
    const listed = await api().get<{ items: Array<{ id: string; agents: number; periodic: boolean }> }>(
      '/api/masters',
    );
    expect(listed.items.map((master) => master.id)).toEqual(['m1', 'm2', 'm3']);
    expect(listed.items.reduce((sum, master) => sum + master.agents, 0)).toBe(1);
    expect(listed.items.filter((master) => master.periodic)).toHaveLength(1);

    const { id: upgradeId } = await api().post<{ id: string }>('/api/platforms/fixture-10-2/migrate-sites', {
      to: 'fixture-10-3',
      concurrency: 3,
    });
    const migrated = async () =>
      (
        await query<{ n: number }>(
          `SELECT count(*)::int AS n FROM tasks WHERE parent_task_id = $1 AND state IN ('succeeded', 'failed')`,
          [upgradeId],
        )
      )[0]!.n;
    const masterNamed = (id: unknown) => masters[Number(String(id).slice(1)) - 1]!;
    const runnerOfUpgrade = async () =>
      masterNamed((await query(`SELECT runner_id FROM tasks WHERE id = $1`, [upgradeId]))[0]!.runner_id);
    const holderOfAgent = async () =>
      masterNamed(
        (
          await query(
            `SELECT master_id FROM agent_connections c JOIN servers s ON s.id = c.server_id WHERE s.name = 'web1'`,
          )
        )[0]?.master_id ?? 'm1',
      );
    const upgradeDone = async () =>
      ['succeeded', 'failed'].includes(
        String((await query(`SELECT state FROM tasks WHERE id = $1`, [upgradeId]))[0]!.state),
      );
    /** Waits until `count` sites are done with (or the upgrade is over): false if it is over. */
    const reach = (count: number) =>
      eventually(
        `${count} sites migrated`,
        async () => (await upgradeDone()) || (await migrated()) >= count,
        300_000,
      ).then(async () => !(await upgradeDone()));

    const killed = new Set<MasterHandle>();
    const kill = async (master: MasterHandle, why: string) => {
      console.info(`several masters: kill -9 ${master.process.label} (${why}) at ${await migrated()} sites`);
      await master.process.kill9();
      killed.add(master);
      // Started again moments later, as systemd would: on its own data directory it takes its name
      // back at once.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await master.restart();
    };

    // 1. The master running the upgrade itself.
    if (await reach(3)) await kill(await runnerOfUpgrade(), 'runs the upgrade');
    // 2. Pause the master running the upgrade now, for three of its leases, then let it go on.
    let pausedMaster: MasterHandle | undefined;
    /** The paused process itself (a later kill and restart gives the handle a new one). */
    let pausedProcess: MasterHandle['process'] | undefined;
    if (await reach(8)) {
      pausedMaster = await runnerOfUpgrade();
      pausedProcess = pausedMaster.process;
      console.info(`several masters: SIGSTOP ${pausedMaster.process.label} at ${await migrated()} sites`);
      paused.add(pausedMaster);
      pausedMaster.process.child.kill('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, 3 * MASTER_LEASE_MS + 500));
      pausedMaster.process.child.kill('SIGCONT');
      paused.delete(pausedMaster);
    }
    // 3. The master holding the agent's stream.
    if (await reach(13)) await kill(await holderOfAgent(), "holds the agent's stream");
    // 4. Every master not killed yet, one after the other.
    for (const threshold of [18, 23]) {
      const next = masters.find((master) => !killed.has(master));
      if (next && (await reach(threshold))) await kill(next, 'its turn');
    }

    await eventually('the upgrade to end', upgradeDone, 600_000);
    console.info(`several masters: masters killed ${killed.size}, upgrade over`);
    expect(killed.size).toBeGreaterThanOrEqual(2);

    // ---- the history check ----
    // No task stuck or lost: every task has ended.
    expect(
      await query(
        `SELECT id, type, state FROM tasks WHERE state NOT IN ('succeeded', 'failed', 'cancelled')`,
      ),
    ).toEqual([]);
    // No step ran twice: at most one attempt of a step is done, and an attempt given again was
    // settled (lost, failed) before its next one.
    expect(
      await query(
        `SELECT step_id, count(*)::int AS done FROM step_attempts WHERE state = 'done' GROUP BY step_id HAVING count(*) > 1`,
      ),
    ).toEqual([]);
    expect(
      await query(
        `SELECT a.id FROM step_attempts a JOIN step_attempts b ON b.step_id = a.step_id AND b.attempt_no > a.attempt_no
          WHERE a.state NOT IN ('lost', 'failed')`,
      ),
    ).toEqual([]);
    // The agent's own log: no step succeeded there under two attempts or two epochs, and every
    // attempt it ran under an epoch the registry gave that attempt.
    const agentLines = agent.process
      .text()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(
        (line) => JSON.parse(line) as { msg?: string; stepId?: string; attemptId?: string; epoch?: string },
      );
    const succeeded = new Map<string, Set<string>>();
    for (const line of agentLines) {
      if (line.msg !== 'step succeeded' || !line.stepId) continue;
      const runs = succeeded.get(line.stepId) ?? new Set();
      runs.add(`${line.attemptId}@${line.epoch}`);
      succeeded.set(line.stepId, runs);
    }
    expect(succeeded.size).toBeGreaterThan(SITES);
    expect([...succeeded].filter(([, runs]) => runs.size > 1)).toEqual([]);
    const epochs = new Map(
      (await query<{ id: string; epoch: string }>(`SELECT id, epoch::text AS epoch FROM step_attempts`)).map(
        (row) => [row.id, row.epoch],
      ),
    );
    const started = agentLines.filter((line) => line.msg === 'step started');
    expect(started.filter((line) => epochs.get(line.attemptId!) !== line.epoch)).toEqual([]);

    // Every site on its new platform, or rolled back (its migrate failed with its rollback done) and
    // still on the old one; and every one serves.
    const sites = await query<{
      domain: string;
      platform: string;
      migrate: string | null;
      rolledBack: boolean | null;
    }>(
      `SELECT s.domain, p.name AS platform, t.state AS migrate, t.rollback_completed AS "rolledBack"
         FROM sites s JOIN platforms p ON p.id = s.platform_id
         LEFT JOIN tasks t ON t.parent_task_id = $1 AND t.target_id = s.id`,
      [upgradeId],
    );
    expect(sites).toHaveLength(SITES);
    for (const site of sites) {
      if (site.platform !== 'fixture-10-3') {
        expect(site, `${site.domain} stayed on its platform`).toMatchObject({
          migrate: 'failed',
          rolledBack: true,
        });
      }
      expect((await web.request(site.domain, '/')).status, `${site.domain} serves`).toBe(200);
    }
    const moved = sites.filter((site) => site.platform === 'fixture-10-3').length;
    console.info(`several masters: ${moved} of ${SITES} sites on the new platform, the rest rolled back`);
    expect(moved).toBeGreaterThan(SITES / 2);

    // The paused master came back to find its tasks adopted: the registry refused its late writes
    // (the renewal of its holds, or a workflow write, whichever it made first) and it stopped
    // running them.
    if (pausedProcess) {
      const stopped = pausedProcess
        .text()
        .split('\n')
        .filter((line) => line.includes('stopped running a task another master adopted'))
        .map((line) => JSON.parse(line) as { taskId: string; writeRefused: boolean });
      console.info(
        `several masters: the paused master gave up ${stopped.length} task(s), ` +
          `${stopped.filter((line) => line.writeRefused).length} on a refused workflow write, the others on a ` +
          'refused renewal of their hold',
      );
      expect(stopped.length).toBeGreaterThan(0);
    }
  }, 900_000);
});
