import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForTask, type TaskSummary } from '../test/support/processes.js';
import { startHostingServers, type HostingServers } from './support/hosting-servers.js';
import { quantile, recordResult, round, type Figures } from './support/results.js';

/** Sites per run, half on each server (BERTH_BENCH_UPGRADE_SITES; validate with e.g. 8). */
const SITES = Number(process.env.BERTH_BENCH_UPGRADE_SITES ?? 100);
/** Steps each server runs at once. */
const SLOTS = 2;
const SERVERS = ['web1', 'web2'] as const;
/** Two identical sets of sites: `a` for the bounded-concurrency run, `b` for the one-at-a-time baseline. */
const SETS = ['a', 'b'] as const;
type SetName = (typeof SETS)[number];

const MASTER_ENV = { BERTH_HEARTBEAT_MS: '2000', BERTH_LEASE_MS: '15000' };

interface Phase {
  name: string;
  startedAt: string;
  endedAt: string | null;
}
type DetailedTask = TaskSummary & { phases: Phase[]; type: string; createdAt: string };
interface UpgradeSummary {
  migrated: number;
  failed: number;
  sites: Array<{ domain: string; taskId: string | null; state: string; reason?: string }>;
}

const domainOf = (set: SetName, server: string, n: number) => `u${set}${server.slice(3)}n${n}.bench`;
const sourcePlatform = (server: string, set: SetName) => `${server}-${set}-10-2`;
const targetPlatform = (server: string) => `${server}-10-3`;

/**
 * Platform upgrade of many small sites on two servers: every site of a fixture-10.2 platform moves to
 * a fixture-10.3 platform on its server, each with its own migrate (backup, rehearsal, read-only and
 * offline window). Run: `berth platform migrate-sites` on both servers at once, default concurrency.
 * Baseline: an identical second set of sites, upgraded one at a time (--concurrency 1, one server
 * after the other). Both sets are installed before either run, so each run sees the same sites on
 * the servers; the baseline runs first, so that anything left behind by a run weighs on the
 * bounded-concurrency run, not on its baseline. Offline windows are the migrate tasks' recorded
 * "offline window" phases (the master's record, not an outside prober: a prober on 100 sites would
 * be the load).
 */
describe('platform upgrade of many sites on two servers', () => {
  let stack: HostingServers;
  let installSeconds = 0;

  beforeAll(async () => {
    if (!Number.isInteger(SITES) || SITES < 2 || SITES % 2 !== 0) {
      throw new Error(`BERTH_BENCH_UPGRADE_SITES must be an even whole number of at least 2, got ${SITES}`);
    }
    stack = await startHostingServers({
      label: 'bench-upgrade',
      masterEnv: MASTER_ENV,
      servers: SERVERS.map((name) => ({
        name,
        slots: SLOTS,
        platforms: {
          [sourcePlatform(name, 'a')]: 'fixture-10.2',
          [sourcePlatform(name, 'b')]: 'fixture-10.2',
          [targetPlatform(name)]: 'fixture-10.3',
        },
      })),
    });
    const installStarted = performance.now();
    const installs: Array<{ domain: string; taskId: string }> = [];
    for (const set of SETS) {
      for (const server of SERVERS) {
        for (let n = 1; n <= SITES / 2; n++) {
          const domain = domainOf(set, server, n);
          const { task } = await stack.master.api.post<{ task: { id: string } }>('/api/sites', {
            domain,
            platform: sourcePlatform(server, set),
          });
          installs.push({ domain, taskId: task.id });
        }
      }
    }
    for (const install of installs) {
      const task = await waitForTask(stack.master, install.taskId, 1_800_000);
      expect(task.state, `install of ${install.domain}: ${task.error}`).toBe('succeeded');
    }
    installSeconds = round((performance.now() - installStarted) / 1000, 1);
  }, 3_600_000);

  afterAll(async () => {
    if (!stack) return;
    // The sites' databases, users and rehearsal copies: every name this benchmark's domains produce.
    const pattern = '(^|_)u[ab][0-9]+n[0-9]+_bench_[0-9a-f]{8}$';
    const databases = await stack
      .mariadb(`SELECT schema_name FROM information_schema.schemata WHERE schema_name REGEXP '${pattern}'`)
      .catch(() => '');
    for (const name of databases.split('\n').filter((line) => /^[a-z0-9_]+$/.test(line))) {
      await stack.mariadb(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
    }
    const users = await stack
      .mariadb(`SELECT user, host FROM mysql.user WHERE user REGEXP '${pattern}'`)
      .catch(() => '');
    for (const line of users.split('\n')) {
      const [user, host] = line.split('\t');
      if (user && host && /^[a-z0-9_]+$/.test(user) && /^[A-Za-z0-9.%:_-]+$/.test(host)) {
        await stack.mariadb(`DROP USER IF EXISTS '${user}'@'${host}'`).catch(() => undefined);
      }
    }
    await stack.stop();
  }, 600_000);

  /** Starts `berth platform migrate-sites` and follows it to its end; returns the final task. */
  const migrateSites = async (server: string, set: SetName, concurrency?: number) => {
    const args = [
      'platform',
      'migrate-sites',
      sourcePlatform(server, set),
      '--to',
      targetPlatform(server),
      '--json',
    ];
    if (concurrency !== undefined) args.push('--concurrency', String(concurrency));
    const { stdout } = await stack
      .berth(...args)
      .catch((error: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(
          `berth ${args.join(' ')} failed: ${error.stderr || error.message}\n${error.stdout ?? ''}`,
        );
      });
    return JSON.parse(stdout) as { id: string };
  };

  /** Checks that a run moved every site of its set, and returns its wall time and offline windows. */
  const outcome = async (set: SetName, upgradeIds: string[]) => {
    const upgrades = await Promise.all(
      upgradeIds.map((id) => stack.master.api.get<DetailedTask>(`/api/tasks/${id}`)),
    );
    const migrateIds: string[] = [];
    for (const upgrade of upgrades) {
      const summary = upgrade.result as UpgradeSummary | null;
      const failures = summary?.sites.filter((site) => site.state !== 'migrated') ?? [];
      expect(
        failures.map((site) => `${site.domain}: ${site.reason}`),
        `sites that failed in ${upgrade.id}`,
      ).toEqual([]);
      expect(upgrade.state, `platform upgrade ${upgrade.id}: ${upgrade.error}`).toBe('succeeded');
      expect(summary?.migrated).toBe(SITES / 2);
      migrateIds.push(...(summary?.sites ?? []).map((site) => site.taskId!));
    }
    const migrates = await Promise.all(
      migrateIds.map((id) => stack.master.api.get<DetailedTask>(`/api/tasks/${id}`)),
    );
    expect(migrates.filter((task) => task.state !== 'succeeded').map((task) => task.id)).toEqual([]);
    const offline = migrates.map((task) => {
      const window = task.phases.find((phase) => phase.name === 'offline window');
      expect(window?.endedAt, `${task.id} recorded its offline window`).toBeTruthy();
      return Date.parse(window!.endedAt!) - Date.parse(window!.startedAt);
    });
    const perSite = migrates.map((task) => Date.parse(task.finishedAt!) - Date.parse(task.startedAt!));

    // Every site of the set is on its server's new platform, and answers there.
    const sites = (
      await stack.master.api.get<{ items: Array<{ domain: string; platform: string }> }>('/api/sites')
    ).items;
    for (const server of SERVERS) {
      const expected = Array.from({ length: SITES / 2 }, (_, index) => domainOf(set, server, index + 1));
      const wrong = expected.filter(
        (domain) => sites.find((site) => site.domain === domain)?.platform !== targetPlatform(server),
      );
      expect(wrong, `sites of set ${set} not on ${targetPlatform(server)}`).toEqual([]);
      const web = stack.servers.find((candidate) => candidate.name === server)!.web;
      const page = await web.request(expected[0]!, '/');
      expect(page.status, `${expected[0]} after the upgrade`).toBe(200);
    }
    const start = Math.min(...upgrades.map((task) => Date.parse(task.createdAt)));
    const end = Math.max(...upgrades.map((task) => Date.parse(task.finishedAt!)));
    return {
      wallSeconds: round((end - start) / 1000, 1),
      longestOfflineMs: Math.max(...offline),
      medianOfflineMs: quantile(offline, 0.5),
      medianSiteMigrateSeconds: round(quantile(perSite, 0.5) / 1000, 1),
    };
  };

  it('upgrades both servers at once with the default concurrency, next to one site at a time', async () => {
    // Baseline: one site at a time, one server after the other.
    const baselineIds: string[] = [];
    for (const server of SERVERS) baselineIds.push((await migrateSites(server, 'b', 1)).id);
    const baseline = await outcome('b', baselineIds);

    // Run: both servers' platforms at once, the default (bounded) concurrency.
    const runIds = (await Promise.all(SERVERS.map((server) => migrateSites(server, 'a')))).map(
      (task) => task.id,
    );
    const bounded = await outcome('a', runIds);

    const figures: Figures = {
      sites: SITES,
      servers: SERVERS.length,
      slotsPerServer: SLOTS,
      concurrency: 'default (2 per platform), both platforms at once',
      wallSeconds: bounded.wallSeconds,
      longestOfflineMs: bounded.longestOfflineMs,
      medianOfflineMs: bounded.medianOfflineMs,
      medianSiteMigrateSeconds: bounded.medianSiteMigrateSeconds,
      baselineWallSeconds: baseline.wallSeconds,
      baselineLongestOfflineMs: baseline.longestOfflineMs,
      baselineMedianOfflineMs: baseline.medianOfflineMs,
      baselineMedianSiteMigrateSeconds: baseline.medianSiteMigrateSeconds,
      wallVsBaseline: round(bounded.wallSeconds / baseline.wallSeconds),
      longestOfflineVsBaseline: round(bounded.longestOfflineMs / Math.max(1, baseline.longestOfflineMs)),
      installSecondsBothSets: installSeconds,
      offlineSource: "the migrate tasks' recorded 'offline window' phases",
    };
    recordResult('platform-upgrade', figures);
  }, 3_600_000);
});
