import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { FIXTURE_PLATFORMS, type FixturePlatformName } from '../fixtures/platforms.js';
import {
  eventually,
  waitForTask,
  type AgentHandle,
  type MasterHandle,
  type TaskSummary,
} from '../support/processes.js';
import { type WebStack } from '../support/web-stack.js';

const PLATFORMS: Record<string, FixturePlatformName> = {
  'fixture-10-2': 'fixture-10.2',
  'fixture-10-3-fails-on-live': 'fixture-10.3-fails-on-live',
  'fixture-10-3-slow': 'fixture-10.3-slow-update',
};

/** The sites, one per test, all installed on fixture-10-2. */
const SITES = {
  failure: 'fail.example',
  backup: 'k-backup.example',
  rehearsal: 'k-rehearsal.example',
  readOnly: 'k-readonly.example',
  strictRollback: 'fail-strict.example',
  orphan: 'k-orphan.example',
  offline: 'k-offline.example',
} as const;

interface Sample {
  at: number;
  status: number;
}

interface Phase {
  name: string;
  startedAt: string;
  endedAt: string | null;
}

type Task = TaskSummary & { phases: Phase[]; rollbackCompleted: boolean | null };

interface SiteView {
  platform: string;
  packages: Array<{ name: string; schemaVersion: number }>;
}

/**
 * The migrate when things go wrong, on real MariaDB, nginx and PHP-FPM, watched from outside by an
 * HTTP prober (every 20 ms) and checked with SQL: an update that fails only on the live site (so
 * inside the offline window, after its rehearsal passed), and the agent killed with SIGKILL in each
 * phase of a migrate and started again. Whatever happens, the task ends, the site answers 200 with
 * all its data, and the registry names the platform its vhost serves it from.
 */
describe('migrate failures', () => {
  let stack: HostingStack;
  let master: MasterHandle;
  let agent: AgentHandle;
  let web: WebStack;
  let root: string;

  const berth = (...args: string[]) => stack.berth(...args);
  const mariadb = (sql: string) => stack.mariadb(sql);

  beforeAll(async () => {
    stack = await startHostingStack({ label: 'migrate-failures', platforms: PLATFORMS });
    ({ master, agent, web, root } = stack);
    for (const domain of Object.values(SITES)) {
      await berth('site', 'install', domain, '--platform', 'fixture-10-2');
    }
  });

  afterAll(async () => {
    if (root) {
      for (const domain of Object.values(SITES)) {
        try {
          const { database: dbName, user } = credentialsOf(domain);
          await mariadb(`DROP DATABASE IF EXISTS \`${dbName}\``);
          for (const host of (await mariadb(`SELECT host FROM mysql.user WHERE user = '${user}'`)).split(
            '\n',
          )) {
            if (host) await mariadb(`DROP USER IF EXISTS '${user}'@'${host}'`);
          }
        } catch {
          // Not installed: nothing to drop.
        }
      }
    }
    await stack?.stop();
  });

  // --- Helpers ----------------------------------------------------------------------------------

  const show = async (domain: string) =>
    JSON.parse((await berth('site', 'show', domain, '--json')).stdout) as SiteView;

  const task = (id: string) => master.api.get<Task>(`/api/tasks/${id}`);

  const startMigrate = (domain: string, platform: string) =>
    master.api.post<{ id: string }>(`/api/sites/${encodeURIComponent(domain)}/migrate`, { platform });

  /** Polls GET / every `intervalMs` (20 ms) until stop(). */
  function probe(domain: string, intervalMs = 20) {
    const samples: Sample[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const at = Date.now();
        samples.push({ at, status: (await web.request(domain, '/')).status });
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    })();
    return {
      samples,
      stop: async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        running = false;
        await loop;
      },
    };
  }

  async function writeNodes(domain: string, titles: string[]): Promise<void> {
    for (const title of titles) {
      expect((await web.request(domain, '/node', { method: 'POST', form: { title } })).status).toBe(303);
    }
  }

  /** The site's database and user, from the credentials Berth wrote for it. */
  function credentialsOf(domain: string): { database: string; user: string } {
    const php = readFileSync(join(root, 'config', 'sites', domain, 'credentials.php'), 'utf8');
    const value = (key: string) => new RegExp(`'${key}' => '([^']+)'`).exec(php)?.[1];
    return { database: value('database')!, user: value('username')! };
  }

  const databaseOf = (domain: string) => credentialsOf(domain).database;

  async function schemaVersions(dbName: string): Promise<Record<string, number>> {
    const rows = await mariadb(
      `SELECT name, value FROM \`${dbName}\`.key_value WHERE collection = 'system.schema'`,
    );
    return Object.fromEntries(
      rows
        .split('\n')
        .map((line) => line.split('\t'))
        .map(([name, value]) => [name!, Number(/^i:(\d+);$/.exec(value!)![1])]),
    );
  }

  /** The platform the site's vhost serves it from: `root <root>/platforms/<name>/web;`. */
  function vhostPlatform(domain: string): string {
    const conf = readFileSync(join(root, 'config', 'nginx', `${domain}.conf`), 'utf8');
    const docroot = /^\s*root\s+(\S+);/m.exec(conf)?.[1];
    const match = new RegExp(`^${root}/platforms/([^/]+)/web$`).exec(docroot ?? '');
    if (!match) throw new Error(`the vhost of ${domain} has no platform docroot: ${docroot}`);
    return match[1]!;
  }

  function linkedInto(platform: string, domain: string): boolean {
    try {
      lstatSync(join(root, 'platforms', platform, 'web', 'sites', domain));
      return true;
    } catch {
      return false;
    }
  }

  async function expectNoRehearsalLeftovers(domain: string): Promise<void> {
    const rehearsal = (name: string) => name.startsWith('rehearsal-') && name.includes(domain);
    expect(readdirSync(join(root, 'sites')).filter(rehearsal)).toEqual([]);
    expect(readdirSync(join(root, 'config', 'nginx')).filter(rehearsal)).toEqual([]);
    for (const platform of Object.keys(PLATFORMS)) {
      expect(readdirSync(join(root, 'platforms', platform, 'web', 'sites')).filter(rehearsal)).toEqual([]);
    }
    const prefix = `rehearsal_${domain.replace(/[^a-z0-9]+/g, '_')}`;
    expect(
      await mariadb(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE '${prefix}%'`),
    ).toBe('0');
  }

  /**
   * The site after a failed migrate: on its old platform in the registry and in its vhost, linked
   * only there, answering 200 (maintenance off) with every node written before, writable again
   * (read-only off), its database back at the old schema versions (unless `schema` is false), the
   * registry as it was.
   */
  async function expectBackOnOldPlatform(
    domain: string,
    before: SiteView,
    titles: string[],
    { schema: checkSchema = true } = {},
  ) {
    const after = await show(domain);
    expect(after).toEqual(before);
    expect(after.platform).toBe('fixture-10-2');
    expect(vhostPlatform(domain)).toBe(after.platform);
    for (const platform of Object.keys(PLATFORMS).filter((name) => name !== 'fixture-10-2')) {
      expect(linkedInto(platform, domain), `${domain} linked into ${platform}`).toBe(false);
    }
    const page = await web.request(domain, '/');
    expect(page.status, web.logs()).toBe(200);
    for (const title of titles) expect(page.body).toContain(title);
    expect(page.body).not.toContain('[pathauto_update_');
    if (checkSchema) {
      const old = FIXTURE_PLATFORMS['fixture-10.2'].packages;
      expect(await schemaVersions(databaseOf(domain))).toMatchObject({
        system: old.system!.installedSchema,
        pathauto: old.pathauto!.installedSchema,
      });
    }
    await writeNodes(domain, [`written after the failed migrate of ${domain}`]);
    await expectNoRehearsalLeftovers(domain);
  }

  function phaseOf(found: Task, name: string): { start: number; end: number } {
    const phase = found.phases.find((item) => item.name === name);
    if (!phase?.endedAt) throw new Error(`no ended phase ${name}: ${JSON.stringify(found.phases)}`);
    return { start: Date.parse(phase.startedAt), end: Date.parse(phase.endedAt) };
  }

  /**
   * Every answer outside the recorded offline window is 200, and inside it 503 (maintenance) or 200.
   * Not strict: while the window's rollback restores the database (db.import), an answer may be a
   * 500 (tables dropped and not yet recreated): see migrate-failures-pending.e2e-spec.ts.pending.
   */
  function expectOfflineOnlyInWindow(samples: Sample[], found: Task, { strict = false } = {}): Sample[] {
    const window = phaseOf(found, 'offline window');
    const outside = samples.filter((sample) => sample.at < window.start || sample.at > window.end);
    expect(samples.length).toBeGreaterThan(20);
    expect(outside.filter((sample) => sample.status !== 200)).toEqual([]);
    const restoring = found
      .steps!.filter((step) => step.name === 'db.import')
      .flatMap((step) => step.attempts)
      .map((attempt) => ({ start: Date.parse(attempt.startedAt!), end: Date.parse(attempt.finishedAt!) }));
    const odd = samples.filter((sample) => sample.status !== 200 && sample.status !== 503);
    expect(
      strict
        ? odd
        : odd.filter(
            (sample) =>
              sample.status !== 500 ||
              !restoring.some((step) => sample.at >= step.start - 20 && sample.at <= step.end),
          ),
    ).toEqual([]);
    return samples.filter((sample) => sample.status === 503);
  }

  /**
   * Polls the task until `phase` is open (started, not ended) and the `nth` step called `step` is
   * running on the agent (and, with `logged`, has logged a line containing it); returns that snapshot.
   */
  async function whenRunning(
    id: string,
    phase: string,
    step: string,
    nth = 0,
    logged?: string,
  ): Promise<Task> {
    return eventually(
      `step ${step} #${nth} to run in phase ${phase}`,
      async () => {
        const found = await task(id);
        if (['succeeded', 'failed', 'cancelled'].includes(found.state)) {
          throw new Error(`the task ended (${found.state}: ${found.error}) before ${step} ran in ${phase}`);
        }
        const open = found.phases.some((item) => item.name === phase && item.endedAt === null);
        const running = found.steps?.filter((item) => item.name === step)[nth] as
          (NonNullable<Task['steps']>[number] & { id: string }) | undefined;
        if (!open || running?.attempts.at(-1)?.state !== 'running') return undefined;
        if (logged === undefined) return found;
        const { lines } = await master.api.get<{ lines: Array<{ stepId: string | null; text: string }> }>(
          `/api/tasks/${id}/log?limit=5000`,
        );
        return lines.some((line) => line.stepId === running.id && line.text.includes(logged))
          ? found
          : undefined;
      },
      60_000,
      10,
    );
  }

  /**
   * Holds a write lock on a table of the site's database that only a dump reads (the site never
   * does): a dump of it waits, as the dump of a large database takes long; pages are still served.
   */
  async function holdDumps(dbName: string) {
    await mariadb(`CREATE TABLE IF NOT EXISTS \`${dbName}\`.test_ballast (id INT PRIMARY KEY)`);
    const client = spawn(
      'mariadb',
      ['--protocol=tcp', '-h', '127.0.0.1', '-u', 'root', '-N', '-B', '--unbuffered', dbName],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let output = '';
    client.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    client.stdin.write("LOCK TABLES test_ballast WRITE; SELECT 'locked';\n");
    await eventually(
      'the ballast table to be locked',
      () => Promise.resolve(output.includes('locked')),
      10_000,
      10,
    );
    const exited = once(client, 'exit');
    let released: Promise<unknown> | undefined;
    return {
      release: () => {
        if (!released) {
          client.stdin.end('UNLOCK TABLES;\n');
          released = exited;
        }
        return released;
      },
    };
  }

  /** kill -9 of the agent, then started again on the same data directory. */
  async function killAndRestartAgent(afterKill?: () => Promise<unknown>): Promise<void> {
    await agent.process.kill9();
    await afterKill?.();
    await agent.restart();
  }

  // --- Tests --------------------------------------------------------------------------------------

  it('rolls back an update that fails only on the live site: old platform, data at the rollback point, registry unchanged, 503 only in the window', async () => {
    const domain = SITES.failure;
    const titles = ['failure: first node', 'failure: second node'];
    await writeNodes(domain, titles);
    const before = await show(domain);
    const prober = probe(domain);
    let found: Task;
    try {
      const started = await startMigrate(domain, 'fixture-10-3-fails-on-live');
      await waitForTask(master, started.id);
      found = await task(started.id);
    } finally {
      await prober.stop();
    }
    expect(found.state).toBe('failed');
    expect(found.rollbackCompleted).toBe(true);
    expect(found.error).toMatch(/app\.update/);
    const live = found.steps!.filter((step) => step.name === 'app.update')[1] as unknown as {
      failure: { stderrTail?: string };
    };
    expect(live.failure.stderrTail).toContain('Update failed: pathauto_update_8109');
    expect(live.failure.stderrTail).toContain('the production pattern table of sites/fail.example');
    // The rehearsal ran the same update on its copy and passed; the live run failed in the window.
    const updates = found.steps!.filter((step) => step.name === 'app.update');
    expect(updates.map((step) => step.state)).toEqual(['done', 'failed']);
    expect(found.phases.map((phase) => phase.name)).toEqual([
      'backup',
      'rehearsal',
      'read-only window',
      'rollback point',
      'offline window',
    ]);
    // The rollback point, imported back; the rehearsal copy's database was filled by the backup's
    // own dump as it was read (db.dump alsoInto), not by an import.
    const imports = found.steps!.filter((step) => step.name === 'db.import');
    expect(imports.map((step) => step.state)).toEqual(['done']);
    expect(found.steps!.find((step) => step.name === 'db.dump')?.state).toBe('done');

    await expectBackOnOldPlatform(domain, before, titles);
    const offline = expectOfflineOnlyInWindow(prober.samples, found);
    expect(offline.length).toBeGreaterThan(0);
    const window = phaseOf(found, 'offline window');
    console.info(
      `migrate failure in the window: offline window ${window.end - window.start} ms, ` +
        `${prober.samples.length} probes, ${offline.length} answered 503`,
    );
  });

  it("kill -9 of the agent during 'backup': the task fails, the site never went offline and stays on its platform", async () => {
    const domain = SITES.backup;
    const titles = ['backup: kept node'];
    await writeNodes(domain, titles);
    const dbName = databaseOf(domain);
    const before = await show(domain);
    const lock = await holdDumps(dbName);
    const prober = probe(domain);
    let found: Task;
    try {
      const { id } = await startMigrate(domain, 'fixture-10-3-slow');
      // The held tables keep the backup's dump (db.dump, after the files) running.
      const killed = await whenRunning(id, 'backup', 'db.dump');
      expect(killed.phases.map((phase) => phase.name)).toEqual(['backup']);
      await killAndRestartAgent(() => lock.release());
      await waitForTask(master, id);
      found = await task(id);
    } finally {
      await lock.release().catch(() => undefined);
      await prober.stop();
    }
    expect(found.state).toBe('failed');
    expect(found.errorCode).toBe('AGENT_LOST');
    expect(found.error).toMatch(/db\.dump/);
    // The only undo: the backup's dump, reserved and never made, is discarded.
    expect(found.rollbackCompleted).toBe(true);
    await expectBackOnOldPlatform(domain, before, titles);
    expect(prober.samples.filter((sample) => sample.status !== 200)).toEqual([]);
  });

  it("kill -9 of the agent during 'rehearsal': the task fails, the copy is cleaned up once the agent is back, the live site never went offline", async () => {
    const domain = SITES.rehearsal;
    const titles = ['rehearsal: kept node'];
    await writeNodes(domain, titles);
    const before = await show(domain);
    const prober = probe(domain);
    let found: Task;
    try {
      const { id } = await startMigrate(domain, 'fixture-10-3-slow');
      // The rehearsal's updates, on the copy (the slow update takes 2 s).
      await whenRunning(id, 'rehearsal', 'app.update', 0, 'Update started: pathauto_update_8109');
      await killAndRestartAgent();
      await waitForTask(master, id);
      found = await task(id);
    } finally {
      await prober.stop();
    }
    expect(found.state).toBe('failed');
    expect(found.errorCode).toBe('AGENT_LOST');
    expect(found.error).toMatch(/app\.update/);
    expect(found.phases.map((phase) => phase.name)).toEqual(['backup', 'rehearsal']);
    // Every clean-up step ran, on the agent that came back.
    for (const name of ['http.remove-vhost', 'site.unlink', 'site.remove', 'db.drop']) {
      expect(found.steps!.find((step) => step.name === name)?.state, name).toBe('done');
    }
    await expectBackOnOldPlatform(domain, before, titles);
    expect(prober.samples.filter((sample) => sample.status !== 200)).toEqual([]);
  });

  it("kill -9 of the agent during the 'read-only window' (its rollback point): writes are allowed again, the site never went offline", async () => {
    const domain = SITES.readOnly;
    const titles = ['read-only: kept node'];
    await writeNodes(domain, titles);
    const dbName = databaseOf(domain);
    const before = await show(domain);
    const prober = probe(domain);
    let lock: Awaited<ReturnType<typeof holdDumps>> | undefined;
    let found: Task;
    try {
      const { id } = await startMigrate(domain, 'fixture-10-3-slow');
      // The backup's dump is over once the rehearsal runs: from then on, hold the rollback point's.
      await whenRunning(id, 'rehearsal', 'app.update', 0);
      lock = await holdDumps(dbName);
      // db.dump #0 is the backup's dump, #1 the rollback point.
      const killed = await whenRunning(id, 'rollback point', 'db.dump', 1);
      expect(killed.phases.filter((phase) => phase.endedAt === null).map((phase) => phase.name)).toEqual([
        'read-only window',
        'rollback point',
      ]);
      // Read-only: writes refused, pages served.
      expect(
        (await web.request(domain, '/node', { method: 'POST', form: { title: 'refused' } })).status,
      ).toBe(403);
      await killAndRestartAgent(() => lock!.release());
      await waitForTask(master, id);
      found = await task(id);
    } finally {
      await lock?.release().catch(() => undefined);
      await prober.stop();
    }
    expect(found.state).toBe('failed');
    expect(found.errorCode).toBe('AGENT_LOST');
    expect(found.error).toMatch(/db\.dump/);
    expect(found.rollbackCompleted).toBe(true);
    expect(found.phases.map((phase) => phase.name)).not.toContain('offline window');
    await expectBackOnOldPlatform(domain, before, titles);
    expect((await web.request(domain, '/')).body).not.toContain('refused');
    expect(prober.samples.filter((sample) => sample.status !== 200)).toEqual([]);
  });

  it("kill -9 of the agent during the 'offline window' (the live updates): the window is rolled back once the agent is back, 503 only inside it", async () => {
    const domain = SITES.offline;
    const titles = ['offline: kept node'];
    await writeNodes(domain, titles);
    const before = await show(domain);
    const prober = probe(domain);
    let found: Task;
    try {
      const { id } = await startMigrate(domain, 'fixture-10-3-slow');
      // The second app.update is the live one (the first ran on the rehearsal copy).
      // Killed while pathauto_update_8109 sleeps, after system_update_10300 changed the database.
      await whenRunning(id, 'offline window', 'app.update', 1, 'Update started: pathauto_update_8109');
      await killAndRestartAgent();
      await waitForTask(master, id);
      found = await task(id);
    } finally {
      await prober.stop();
    }
    expect(found.state).toBe('failed');
    expect(found.errorCode).toBe('AGENT_LOST');
    expect(found.error).toMatch(/app\.update/);
    expect(found.rollbackCompleted).toBe(true);
    // The rollback point, imported back (the rehearsal copy was filled by the backup's dump).
    expect(found.steps!.filter((step) => step.name === 'db.import').map((step) => step.state)).toEqual([
      'done',
    ]);
    // Not the schema versions: the killed agent's drush lives on and records pathauto_update_8109
    // in the restored database once its sleep ends (migrate-failures-pending.e2e-spec.ts.pending).
    await expectBackOnOldPlatform(domain, before, titles, { schema: false });
    const offline = expectOfflineOnlyInWindow(prober.samples, found);
    expect(offline.length).toBeGreaterThan(0);
    const window = phaseOf(found, 'offline window');
    console.info(
      `agent killed in the window: offline window ${window.end - window.start} ms (rolled back), ` +
        `${offline.length} probes answered 503`,
    );
  });

  it('answers 503, never a half-restored database, while the window is rolled back', async () => {
    // The rollback replays the rollback point's dump into the live database table by table, and the
    // site's maintenance flag lives in that database: nginx must hold the site (503 from a static
    // page) while it runs. Four probers back to back, so that the import (50-100 ms) is hit.
    const domain = SITES.strictRollback;
    await writeNodes(domain, ['failure: first node']);
    const probers = [1, 2, 3, 4].map(() => probe(domain, 0));
    let found: Task;
    try {
      const started = await startMigrate(domain, 'fixture-10-3-fails-on-live');
      await waitForTask(master, started.id);
      found = await task(started.id);
    } finally {
      await Promise.all(probers.map((prober) => prober.stop()));
    }
    expect(found.state).toBe('failed');
    expect(found.rollbackCompleted).toBe(true);
    const samples = probers.flatMap((prober) => prober.samples).sort((a, b) => a.at - b.at);
    expectOfflineOnlyInWindow(samples, found, { strict: true });
  });

  it("leaves the database at the rollback point after the agent is killed in the 'offline window'", async () => {
    // Steps run in their own process group, so kill -9 of the agent leaves the live updatedb running;
    // the restarted agent must kill it before it reconnects, or it would record pathauto 8109 in the
    // database the master has since restored (a schema newer than the old platform's code).
    const domain = SITES.orphan;
    const titles = ['orphan: kept node'];
    await writeNodes(domain, titles);
    const before = await show(domain);
    let killedAt = 0;
    const { id } = await startMigrate(domain, 'fixture-10-3-slow');
    await whenRunning(id, 'offline window', 'app.update', 1, 'Update started: pathauto_update_8109');
    await killAndRestartAgent(() => Promise.resolve((killedAt = Date.now())));
    await waitForTask(master, id);
    const found = await task(id);
    expect(found.state).toBe('failed');
    expect(found.rollbackCompleted).toBe(true);
    // The update the killed agent left behind sleeps 2 s from its start: let it end.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, killedAt + 2500 - Date.now())));
    await expectBackOnOldPlatform(domain, before, titles);
  });
});
