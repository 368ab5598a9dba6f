import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../shared/src/package-root.js';
import { buildFixturePlatform } from '../fixtures/platforms.js';
import {
  startAgent,
  startMaster,
  waitForTask,
  type AgentHandle,
  type MasterHandle,
  type TaskSummary,
} from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { startWebStack, type WebStack } from '../support/web-stack.js';

const run = promisify(execFile);
const SITES = 20;

interface Phase {
  name: string;
  startedAt: string;
  endedAt: string | null;
}
type DetailedTask = TaskSummary & { phases: Phase[]; type: string };

/** A platform upgrade of 20 sites on one server: each site its own short window, none behind another. */
describe('platform upgrade', () => {
  let database: TestDatabase;
  let master: MasterHandle;
  let agent: AgentHandle;
  let web: WebStack;
  let root: string;

  const berth = (...args: string[]) =>
    run(process.execPath, [join(packageRoot(), 'bin', 'berth.js'), ...args], {
      env: { ...process.env, BERTH_URL: master.url, BERTH_TOKEN: master.token },
      maxBuffer: 16 * 1024 * 1024,
    });

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    root = mkdtempSync(join(tmpdir(), 'berth-root-'));
    mkdirSync(join(root, 'platforms'), { recursive: true });
    buildFixturePlatform('fixture-10.2', join(root, 'platforms', 'fixture-10-2'));
    buildFixturePlatform('fixture-10.3', join(root, 'platforms', 'fixture-10-3'));
    web = await startWebStack({ root });
    const adminDefaults = join(root, 'db-admin.cnf');
    writeFileSync(adminDefaults, '[client]\nhost=127.0.0.1\nport=3306\nuser=root\npassword=\n', {
      mode: 0o600,
    });
    master = await startMaster(database, { label: 'upgrade-master' });
    agent = await startAgent(master, {
      name: 'web1',
      label: 'upgrade-web1',
      args: [
        '--root',
        root,
        '--nginx-conf',
        web.nginxConf,
        '--php-fpm-socket',
        web.phpFpmSocket,
        '--http-port',
        `127.0.0.1:${web.port}`,
        '--db-admin-defaults',
        adminDefaults,
        '--web-user',
        'root',
      ],
    });
    for (const name of ['fixture-10-2', 'fixture-10-3']) {
      await berth('platform', 'add', name, '--server', 'web1', '--path', join(root, 'platforms', name));
    }
    const installs = await Promise.all(
      Array.from({ length: SITES }, (_, n) =>
        master.api.post<{ task: { id: string } }>('/api/sites', {
          domain: `s${n}.example`,
          platform: 'fixture-10-2',
        }),
      ),
    );
    for (const { task } of installs) expect((await waitForTask(master, task.id)).state).toBe('succeeded');
  }, 300_000);

  afterAll(async () => {
    await agent?.stop();
    await master?.stop();
    await web?.stop();
    await database?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("moves every site with its own window: the longest within twice the median, none during another site's step", async () => {
    const upgrade = await master.api.post<{ id: string }>('/api/platforms/fixture-10-2/migrate-sites', {
      to: 'fixture-10-3',
      concurrency: 3,
    });
    const done = await waitForTask(master, upgrade.id, 300_000);
    expect(done.state).toBe('succeeded');
    const summary = done.result as {
      migrated: number;
      failed: number;
      medianOfflineMs: number;
      longestOfflineMs: number;
    };
    expect(summary).toMatchObject({ migrated: SITES, failed: 0 });

    const migrates = (
      await master.api.get<{ items: DetailedTask[] }>('/api/tasks?type=site.migrate&limit=100')
    ).items;
    expect(migrates).toHaveLength(SITES);
    const detailed = await Promise.all(
      migrates.map((task) => master.api.get<DetailedTask>(`/api/tasks/${task.id}`)),
    );
    const windows = detailed.map((task) => {
      const phase = task.phases.find((item) => item.name === 'offline window');
      expect(phase?.endedAt, `${task.id} has a recorded window`).toBeTruthy();
      return { taskId: task.id, start: Date.parse(phase!.startedAt), end: Date.parse(phase!.endedAt!) };
    });
    const durations = windows.map((window) => window.end - window.start).sort((a, b) => a - b);
    const median = durations[Math.floor(durations.length / 2)]!;
    console.info(
      `platform upgrade: ${SITES} sites, offline median ${median} ms, longest ${durations.at(-1)} ms, ` +
        `upgrade took ${Date.parse(done.finishedAt!) - Date.parse(done.startedAt!)} ms`,
    );
    expect(durations.at(-1)!).toBeLessThanOrEqual(2 * median);

    // While a site is offline, no other task's step runs on its server (one server here).
    const attempts = detailed.flatMap((task) =>
      task.steps!.flatMap((step) =>
        step.attempts
          .filter((attempt) => attempt.startedAt && attempt.finishedAt)
          .map((attempt) => ({
            taskId: task.id,
            step: step.name,
            start: Date.parse(attempt.startedAt!),
            end: Date.parse(attempt.finishedAt!),
          })),
      ),
    );
    for (const window of windows) {
      const intruders = attempts.filter(
        (attempt) =>
          attempt.taskId !== window.taskId && attempt.start < window.end && attempt.end > window.start,
      );
      expect(intruders, `steps of other sites during ${window.taskId}'s window`).toEqual([]);
    }

    const sites = JSON.parse((await berth('site', 'list', '--json')).stdout) as Array<{ platform: string }>;
    expect(sites.filter((site) => site.platform === 'fixture-10-3')).toHaveLength(SITES);
    expect((await web.request('s7.example', '/')).status).toBe(200);
  });
});
