import { describe, expect, it } from 'vitest';
import { useCliHarness } from './testing/cli-harness.js';
import { aTask } from './testing/factories.js';
import type { FakeRoutes } from './testing/fake-master.js';
import { durationMs } from './parsers.js';

const TASK_ID = '6f1c2d3e-0000-4000-8000-0000000000e1';
/** A backup that never ends. */
const running = aTask({
  id: TASK_ID,
  type: 'site.backup',
  targetKind: 'site',
  targetName: 'a.example',
  state: 'running',
});
const routes: FakeRoutes = {
  'POST /api/sites/a.example/backups': () => ({ status: 202, body: running }),
  [`GET /api/tasks/${TASK_ID}`]: () => ({ body: running }),
  [`GET /api/tasks/${TASK_ID}/log`]: () => ({ body: { lines: [], next: '0', taskState: 'running' } }),
};

describe('--timeout', () => {
  const cli = useCliHarness('timeout');

  it('stops waiting for a task after the time given, with exit code 124, the task left running', async () => {
    const started = Date.now();
    const { code, stderr, requests } = await cli.run(
      routes,
      ['--timeout', '1', 'site', 'backup', 'a.example'],
      {
        prepare: (io) => {
          io.pollIntervalMs = 20;
        },
      },
    );
    expect(code).toBe(124);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(stderr).toContain(
      `Stopped waiting after 1.0s (--timeout); task ${TASK_ID} keeps running on the master`,
    );
    expect(stderr).toContain(`berth task log ${TASK_ID} --follow`);
    // Nothing was cancelled.
    expect(requests.some((request) => request.path.endsWith('/cancel'))).toBe(false);
  });

  it('applies to following a task log too', async () => {
    const { code, stderr } = await cli.run(routes, ['task', 'log', TASK_ID, '--follow', '--timeout', '1'], {
      prepare: (io) => {
        io.pollIntervalMs = 20;
      },
    });
    expect(code).toBe(124);
    expect(stderr).toContain('(--timeout)');
  });

  it('takes seconds, minutes and hours, and refuses anything else with exit 2', async () => {
    expect([durationMs('90'), durationMs('90s'), durationMs('5m'), durationMs('1h')]).toEqual([
      90_000, 90_000, 300_000, 3_600_000,
    ]);
    const { code, stderr } = await cli.run(routes, ['--timeout', '5 minutes', 'site', 'backup', 'a.example']);
    expect(code).toBe(2);
    expect(stderr).toContain('expected a duration such as 90, 90s, 5m or 1h');
  });
});
