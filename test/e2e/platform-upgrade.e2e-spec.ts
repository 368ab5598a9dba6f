import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForTask, type MasterHandle, type TaskSummary } from '../support/processes.js';
import type { WebStack } from '../support/web-stack.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';

/**
 * Enough sites that concurrency 3 runs several waves and windows could meet; the bench
 * (bench/platform-upgrade.bench-spec.ts) moves a hundred.
 */
const SITES = 8;

interface Phase {
  name: string;
  startedAt: string;
  endedAt: string | null;
}
type DetailedTask = TaskSummary & { phases: Phase[]; type: string };

/** A platform upgrade of several sites on one server: each site its own short window, none behind another. */
describe('platform upgrade', () => {
  let stack: HostingStack;
  let master: MasterHandle;
  let web: WebStack;

  const berth = (...args: string[]) => stack.berth(...args);

  beforeAll(async () => {
    stack = await startHostingStack({
      label: 'upgrade',
      platforms: { 'fixture-10-2': 'fixture-10.2', 'fixture-10-3': 'fixture-10.3' },
    });
    ({ master, web } = stack);
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

  afterAll(() => stack?.stop());

  it("moves every site with its own window, none during another site's step", async () => {
    // Through the CLI, which follows the task: off a terminal it writes a line as the count of sites
    // done moves (the upgrade's own progress), and the summary table at the end.
    const cli = await berth(
      'platform',
      'migrate-sites',
      'fixture-10-2',
      '--to',
      'fixture-10-3',
      '--concurrency',
      '3',
    );
    const upgrade = { id: /^Task (\S+): /m.exec(cli.stderr)?.[1] ?? '' };
    expect(cli.stderr).toMatch(new RegExp(`^\\.\\.\\. sites: \\d+% {2}\\d+ sites / ${SITES} sites`, 'm'));
    expect(cli.stdout).toMatch(/^s0\.example +migrated +\d+ ms$/m);
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
    // How long the windows are is a speed figure: bench/platform-upgrade.bench-spec.ts measures it on
    // a quiet machine. Here only what must hold under any load: each window is its site's alone.

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
