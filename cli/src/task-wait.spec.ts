import { describe, expect, it } from 'vitest';
import type { Task } from './api-types.js';
import { useCliHarness } from './testing/cli-harness.js';
import { aStep, aTask } from './testing/factories.js';
import type { FakeRoutes } from './testing/fake-master.js';

const TASK_ID = '6f1c2d3e-0000-4000-8000-000000000009';
const MiB = 1024 * 1024;
const startedAt = '2025-01-01T10:00:00.000Z';

/** A migrate as the master shows it over five polls: backup upload, rehearsal, offline window, done. */
function migrateRoutes(): FakeRoutes {
  let polls = 0;
  const base: Partial<Task> = {
    id: TASK_ID,
    type: 'site.migrate',
    targetKind: 'site',
    targetName: 'a.example',
    startedAt,
  };
  const phase = (name: string, from: number, to: number | null) => ({
    name,
    startedAt: new Date(Date.parse(startedAt) + from * 1000).toISOString(),
    endedAt: to === null ? null : new Date(Date.parse(startedAt) + to * 1000).toISOString(),
  });
  const archive = aStep({ id: 's1', seq: 1, name: 'site.archive', state: 'running' });
  const states: Array<Partial<Task>> = [
    {
      state: 'running',
      phases: [phase('backup', 0, null)],
      steps: [archive],
      progress: { stepName: 'site.archive', phase: 'upload', done: 8 * MiB, total: 32 * MiB, unit: 'bytes' },
    },
    {
      state: 'running',
      phases: [phase('backup', 0, null)],
      steps: [archive],
      progress: { stepName: 'site.archive', phase: 'upload', done: 16 * MiB, total: 32 * MiB, unit: 'bytes' },
    },
    {
      state: 'running',
      phases: [phase('backup', 0, 2), phase('rehearsal', 2, null)],
      steps: [
        { ...archive, state: 'done' },
        aStep({ id: 's2', seq: 2, name: 'app.update', state: 'running' }),
      ],
    },
    {
      state: 'running',
      phases: [phase('backup', 0, 2), phase('rehearsal', 2, 4), phase('offline window', 4, null)],
      steps: [
        { ...archive, state: 'done' },
        aStep({ id: 's3', seq: 3, name: 'app.update', state: 'running' }),
      ],
    },
  ];
  const finished: Partial<Task> = {
    state: 'succeeded',
    finishedAt: '2025-01-01T10:00:06.000Z',
    phases: [phase('backup', 0, 2), phase('rehearsal', 2, 4), phase('offline window', 4, 5)],
  };
  const current = () => aTask({ ...base, ...(states[polls - 1] ?? finished) });
  return {
    'POST /api/sites/a.example/migrate': () => ({ status: 202, body: aTask({ ...base, state: 'queued' }) }),
    [`GET /api/tasks/${TASK_ID}`]: () => {
      polls++;
      return { body: current() };
    },
    [`GET /api/tasks/${TASK_ID}/log`]: () => ({
      body: { lines: [], next: '', taskState: polls > states.length ? 'succeeded' : 'running' },
    }),
  };
}

describe('following a migrate', () => {
  const cli = useCliHarness('follow');

  function run(argv: string[], tty: boolean) {
    let now = Date.parse(startedAt);
    return cli.run(migrateRoutes(), argv, {
      tty,
      // Each poll a second later, so that the rate is measured.
      prepare: (io) => (io.now = () => (now += 500)),
    });
  }

  it('on a terminal, shows each phase with its step, and the bytes, rate and ETA of the upload', async () => {
    const { code, stdout, stderr } = await run(['site', 'migrate', 'a.example', '--platform', 'd103'], true);
    expect(code).toBe(0);
    const frames = stderr.split('\r\x1b[2K');
    expect(
      frames.some((frame) =>
        /backup › site\.archive · upload {2}\[█+░+\] 25% {2}8\.00 MiB \/ 32\.0 MiB/.test(frame),
      ),
    ).toBe(true);
    expect(
      frames.some((frame) => /backup › site\.archive · upload .* 50% .*MiB\/s {2}ETA \d/.test(frame)),
    ).toBe(true);
    expect(frames.some((frame) => frame.includes('rehearsal › app.update on web1'))).toBe(true);
    expect(frames.some((frame) => frame.includes('offline window › app.update on web1'))).toBe(true);
    // The status line is gone before the outcome; the phase timings go to stdout.
    expect(stderr.endsWith('\r\x1b[2K')).toBe(true);
    expect(stdout).toContain(`Task ${TASK_ID} succeeded in 6.0s (site.migrate on site a.example)`);
    expect(stdout).toMatch(/offline window +1\.00 s/);
  });

  it('off a terminal, writes one plain line per phase and step', async () => {
    const { code, stderr } = await run(['site', 'migrate', 'a.example', '--platform', 'd103'], false);
    expect(code).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`Task ${TASK_ID}: site.migrate on site a.example`);
    expect(lines.slice(1).map((line) => line.replace(/ \([^)]*\)$/, ''))).toEqual([
      '... backup › site.archive / upload: 25%  8.00 MiB / 32.0 MiB  ETA --',
      '... rehearsal › app.update on web1',
      '... offline window › app.update on web1',
    ]);
  });

  it('with --json, prints only the final task on stdout and still the progress on stderr', async () => {
    const { code, stdout, stderr } = await run(
      ['site', 'migrate', 'a.example', '--platform', 'd103', '--json'],
      false,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ id: TASK_ID, state: 'succeeded' });
    expect(stderr).toContain('... rehearsal › app.update on web1');
  });
});
