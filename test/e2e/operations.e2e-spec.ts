import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  Backup,
  Server,
  Site,
  SiteBackupSchedule,
  SiteCron,
  StoreUsage,
  Task,
} from '../../shared/src/api.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { eventually } from '../support/processes.js';

/**
 * Backups on a schedule against a real master, agent, nginx, PHP-FPM and MariaDB, on the wall
 * clock: a per-minute global policy backs two sites up every minute, the collector (every minute
 * here) removes the oldest past retention with its files, a person's own backup stays, a site
 * whose window is closed waits, and a finished migrate leaves no rollback point in the store.
 */
describe('backups on a schedule, kept as the policy says', () => {
  let stack: HostingStack;
  const sites = ['ops-one.example', 'ops-two.example'];
  const closed = 'ops-closed.example';
  let manual: Backup;
  /** Each site's offset within an hourly period, read before its cron was set to every minute. */
  const hourlyOffsets = new Map<string, number>();
  const cronEveryMinute = async () => {
    for (const domain of [...sites, closed, 'ops-off.example']) {
      // Hourly (the default) gives each site its own second of the hour; then every minute.
      const hourly = await json<SiteCron>('site', 'cron', domain, '--every', '60');
      hourlyOffsets.set(domain, hourly.offsetSeconds);
      await stack.berth('site', 'cron', domain, '--every', '1');
    }
  };

  const json = async <T>(...args: string[]): Promise<T> =>
    JSON.parse((await stack.berth(...args, '--json')).stdout) as T;
  const backups = (domain: string) => json<Backup[]>('site', 'backups', domain);
  const stored = (archiveId: string) =>
    existsSync(join(stack.master.dataDir, 'store', 'archives', archiveId));

  beforeAll(async () => {
    stack = await startHostingStack({
      label: 'schedules',
      platforms: { 'fixture-10-2': 'fixture-10.2', 'fixture-10-3': 'fixture-10.3' },
      // The collector every minute, and an archive nothing names is garbage after 1 s.
      masterEnv: {
        BERTH_STORE_GC_SCHEDULE: '* * * * *',
        BERTH_STORE_GC_GRACE_MS: '1000',
        BERTH_SITE_CRON: 'on',
      },
    });
    for (const domain of [...sites, closed, 'ops-off.example']) {
      await stack.berth('site', 'install', domain, '--platform', 'fixture-10-2');
    }
    await stack.berth('site', 'disable', 'ops-off.example');
  });

  afterAll(() => stack?.stop());

  it('refuses a bad schedule or window with a message, and changes nothing', async () => {
    for (const [flag, value, message] of [
      ['--schedule', '*/5 * * * * *', 'five-field'],
      ['--schedule', '61 * * * *', 'not a valid cron expression'],
      ['--window', '25:00-03:00', 'HH:MM-HH:MM'],
      ['--keep-last', '0', 'at least 1'],
    ] as const) {
      const failed = await stack.berth('backup', 'policy', 'set', flag, value).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code).toBe(2);
      expect(failed?.stderr).toContain(message);
    }
    expect(await json<unknown[]>('backup', 'policy', 'list')).toEqual([]);
  });

  it(
    'backs up on schedule; retention removes the oldest, archives and rows, never a person’s own',
    {
      timeout: 360_000,
    },
    async () => {
      const personal = await json<Task>('site', 'backup', 'ops-one.example');
      expect(personal.state).toBe('succeeded');
      manual = (await backups('ops-one.example')).find((backup) => backup.reason === 'manual')!;

      // ops-closed.example: a policy of its own without a schedule for now (its window test comes later).
      await stack.berth('backup', 'policy', 'set', '--site', closed, '--schedule', 'none');
      // Every site's cron every minute too, while the backups run (checked in the cron test below):
      // the minutes this test waits for serve both.
      await cronEveryMinute();
      await stack.berth('backup', 'policy', 'set', '--schedule', '* * * * *', '--keep-last', '1');

      // Each site's scheduled backups as they come, every minute, until the collector has removed
      // the first of them: with keep-last 1, once a second one exists. The scheduled collector runs
      // every minute too, but at the minute the second backups start, so usually before they end:
      // once both sites have their second, the collector is run at once (berth store gc) rather
      // than a minute later.
      const seen = new Map<string, Map<string, Backup>>(sites.map((domain) => [domain, new Map()]));
      let collected = false;
      await eventually(
        'two scheduled backups of each site, and the first of them removed',
        async () => {
          let done = true;
          let second = true;
          for (const domain of sites) {
            const now = (await backups(domain)).filter((backup) => backup.reason === 'scheduled');
            const all = seen.get(domain)!;
            for (const backup of now) all.set(backup.id, backup);
            const first = oldest([...all.values()]);
            if (all.size < 2) second = false;
            if (all.size < 2 || !first || now.some((backup) => backup.id === first.id)) done = false;
          }
          if (!done && second && !collected) {
            collected = true;
            await stack.berth('store', 'gc');
          }
          return done;
        },
        300_000,
        2_000,
      );
      const first = new Map(sites.map((domain) => [domain, oldest([...seen.get(domain)!.values()])!]));
      const schedule = await json<SiteBackupSchedule>(
        'backup',
        'policy',
        'show',
        '--site',
        'ops-one.example',
      );
      expect(schedule.policy?.scope).toBe('global');
      // Due on the minute; waiting when another site's backup holds the server's one scheduled place.
      expect(['started', 'waiting']).toContain(schedule.lastFiring?.state);
      expect(new Date(schedule.lastFiring!.dueAt).getUTCSeconds()).toBe(0);
      // BERTH_SCHEDULED_PER_SERVER is 1: the scheduled backups of web1 (web and db server of every
      // site) never ran at the same time, and each started within a minute of its due time.
      const scheduled = (await json<Task[]>('task', 'list', '--type', 'site.backup', '--limit', '100'))
        .filter((run) => (run.params as { reason?: string }).reason === 'scheduled' && run.finishedAt)
        .sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!));
      expect(scheduled.length).toBeGreaterThanOrEqual(4);
      for (let index = 1; index < scheduled.length; index++) {
        expect(Date.parse(scheduled[index]!.startedAt!)).toBeGreaterThanOrEqual(
          Date.parse(scheduled[index - 1]!.finishedAt!),
        );
      }
      // A minute apart: one firing per due time.
      for (const domain of sites) {
        const times = [...seen.get(domain)!.values()].map((backup) => Date.parse(backup.createdAt)).sort();
        for (let index = 1; index < times.length; index++) {
          expect(times[index]! - times[index - 1]!).toBeGreaterThan(30_000);
        }
      }

      for (const domain of sites) {
        const gone = first.get(domain)!;
        expect(stored(gone.archiveId)).toBe(false);
        expect(stored(gone.databaseArchiveId!)).toBe(false);
        const left = (await backups(domain)).filter((backup) => backup.reason === 'scheduled');
        expect(left.length).toBeGreaterThanOrEqual(1);
        expect(left.length).toBeLessThanOrEqual(2); // the newest, and one made since the collector's plan
        for (const backup of left) expect(stored(backup.archiveId)).toBe(true);
      }
      // A person's own backup is never retention's.
      expect((await backups('ops-one.example')).map((backup) => backup.id)).toContain(manual.id);
      expect(stored(manual.archiveId)).toBe(true);
      const collectors = (await json<Task[]>('task', 'list', '--type', 'store.gc', '--limit', '20')).filter(
        (run) => run.state === 'succeeded',
      );
      expect(collectors.length).toBeGreaterThan(0);
      expect(
        collectors.some((run) => ((run.result as { backupsRemoved?: number }).backupsRemoved ?? 0) > 0),
      ).toBe(true);
    },
  );

  it("runs every enabled site's cron on its period at its own offset, and skips a disabled one", async () => {
    const domains = [...sites, closed];
    // Each site's own second of the hour (from its id), not all at :00.
    expect(new Set(hourlyOffsets.values()).size).toBeGreaterThan(1);
    for (const offset of hourlyOffsets.values()) expect(offset).toBeLessThan(3600);
    // Every minute since the scheduled-backup test: its runs have happened while it waited.
    await eventually(
      'a scheduled cron run of every enabled site',
      async () => {
        for (const domain of domains) {
          const site = await json<Site>('site', 'show', domain);
          if (site.cron?.lastRun?.state !== 'succeeded') return false;
        }
        return true;
      },
      150_000,
      2_000,
    );
    const runs = await json<Task[]>('task', 'list', '--type', 'site.cron', '--limit', '100');
    expect(new Set(runs.map((run) => run.targetName))).toEqual(new Set(domains));
    expect(runs.every((run) => run.state !== 'failed')).toBe(true);
    const shown = await json<Site>('site', 'show', 'ops-one.example');
    expect(shown.cron).toMatchObject({ everyMinutes: 1, failuresInARow: 0 });
    expect(shown.cron!.lastRun!.durationMs).toBeGreaterThan(0);
    // And now, asked for.
    const now = await json<Task>('site', 'cron', 'ops-one.example');
    expect(now).toMatchObject({ type: 'site.cron', state: 'succeeded' });
    for (const domain of [...domains, 'ops-off.example'])
      await stack.berth('site', 'cron', domain, '--every', '0');
  }, 200_000);

  it('keeps a site whose window is closed waiting, with no task', async () => {
    // Due daily at this minute, in a window that opens in two hours (the server's time zone).
    const server = await json<Server>('server', 'show', 'web1');
    const now = DateTime.now().setZone(server.timeZone);
    const opens = now.plus({ hours: 2 });
    await stack.berth(
      'backup',
      'policy',
      'set',
      '--site',
      closed,
      '--schedule',
      `${now.minute} ${now.hour} * * *`,
      '--window',
      `${opens.toFormat('HH:mm')}-${opens.plus({ hours: 1 }).toFormat('HH:mm')}`,
    );
    const schedule = await eventually(
      'the firing of ops-closed.example to be recorded',
      async () => {
        const shown = await json<SiteBackupSchedule>('backup', 'policy', 'show', '--site', closed);
        return shown.lastFiring ? shown : undefined;
      },
      40_000,
      1_000,
    );
    expect(schedule.policy).toMatchObject({ scope: 'site', target: closed });
    expect(schedule.lastFiring).toMatchObject({ state: 'waiting', taskId: null });
    expect(Date.parse(schedule.lastFiring!.opensAt)).toBeGreaterThan(Date.now() + 3_600_000);
    expect((await backups(closed)).filter((backup) => backup.reason === 'scheduled')).toEqual([]);
  });

  it('removes a finished migrate’s rollback point from the store, keeping its backup', async () => {
    await stack.berth('backup', 'policy', 'unset', '--site', closed);
    await stack.berth('backup', 'policy', 'unset');
    const migrate = await json<Task>('site', 'migrate', closed, '--platform', 'fixture-10-3');
    expect(migrate.state).toBe('succeeded');
    const { rollbackArchiveId, backupArchiveId } = migrate.params as {
      rollbackArchiveId: string;
      backupArchiveId: string;
    };
    expect(stored(rollbackArchiveId)).toBe(false);
    expect(stored(backupArchiveId)).toBe(true);
    expect((await backups(closed)).map((backup) => backup.archiveId)).toContain(backupArchiveId);
  });

  it('reports what the store holds, per client and per site', async () => {
    const usage = await json<StoreUsage>('store', 'usage');
    let bytes = 0;
    let count = 0;
    for (const domain of [...sites, closed]) {
      const list = await backups(domain);
      count += list.length;
      bytes += list.reduce((sum, backup) => sum + backup.bytes, 0);
    }
    expect(usage.backups).toEqual({ count, bytes });
    expect(usage.totalBytes).toBeGreaterThanOrEqual(bytes);
    expect(usage.byClient).toEqual([{ client: null, backups: count, bytes }]);
    expect(usage.topSites.map((site) => site.domain).sort()).toEqual([...sites, closed].sort());
  });

  it('starts a failed task again as a new task linked to it, and refuses one that succeeded', async () => {
    const codebase = join(stack.root, 'platforms', 'fixture-10-3');
    renameSync(codebase, `${codebase}.away`);
    let failedId: string;
    try {
      const failed = await stack.berth('platform', 'verify', 'fixture-10-3', '--json').then(
        () => undefined,
        (error: { code: number; stdout: string }) => error,
      );
      expect(failed?.code).toBe(1);
      const task = JSON.parse(failed!.stdout) as Task;
      expect(task).toMatchObject({ type: 'platform.verify', state: 'failed' });
      failedId = task.id;
    } finally {
      renameSync(`${codebase}.away`, codebase);
    }
    const again = await json<Task>('task', 'retry', failedId);
    expect(again).toMatchObject({ type: 'platform.verify', state: 'succeeded', retryOf: failedId });
    expect(again.id).not.toBe(failedId);
    const refused = await stack.berth('task', 'retry', again.id).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toContain('only a failed or cancelled task can be retried');
  });
});

function oldest(backups: Backup[]): Backup | undefined {
  return [...backups].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))[0];
}
