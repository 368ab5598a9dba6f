import { describe, expect, it } from 'vitest';
import { aStep, aTask } from '../testing/factories.js';
import {
  ProgressReporter,
  RateMeter,
  activeStep,
  currentPhase,
  currentProgress,
  describeProgress,
  renderBar,
} from './progress.js';

const MiB = 1024 * 1024;

describe('RateMeter', () => {
  it('measures over its window, not since the start', () => {
    const meter = new RateMeter(2_000);
    meter.sample(0, 0);
    meter.sample(1_000, 1 * MiB);
    meter.sample(5_000, 2 * MiB);
    meter.sample(6_000, 12 * MiB);
    // Samples older than 2 s are dropped: (12 - 2) MiB over 1 s.
    expect(meter.rate()).toBe(10 * MiB);
  });

  it('starts over when the amount goes back (a new step or phase)', () => {
    const meter = new RateMeter();
    meter.sample(0, 100);
    meter.sample(1_000, 200);
    meter.sample(2_000, 0);
    expect(meter.rate()).toBe(0);
  });
});

describe('describeProgress', () => {
  it('shows bytes with percentage, amounts, rate and ETA', () => {
    const text = describeProgress(
      { stepName: 'transfer', phase: 'send', done: 64 * MiB, total: 256 * MiB, unit: 'bytes' },
      16 * MiB,
      { bar: false },
    );
    expect(text).toBe('25%  64.0 MiB / 256 MiB  16.0 MiB/s  ETA 12s');
  });

  it('shows other units as counts, without a rate', () => {
    const text = describeProgress({ stepName: 's', phase: '', done: 3, total: 10, unit: 'sites' }, 1, {
      bar: true,
    });
    expect(text).toBe(`${renderBar(0.3, 24)} 30%  3 sites / 10 sites  ETA 7.0s`);
  });

  it('shows only the amount when the total is unknown (0 on the wire)', () => {
    expect(
      describeProgress({ stepName: 's', phase: '', done: 2 * MiB, total: 0, unit: 'bytes' }, 0, {
        bar: true,
      }),
    ).toBe('2.00 MiB');
  });
});

describe('ProgressReporter', () => {
  const running = aTask({
    state: 'running',
    startedAt: '2025-01-01T10:00:00.000Z',
    progress: {
      stepName: 'server.transfer',
      phase: 'upload',
      done: 10 * MiB,
      total: 100 * MiB,
      unit: 'bytes',
    },
  });

  it('off a terminal, writes plain lines with no control characters', () => {
    let written = '';
    let now = Date.parse('2025-01-01T10:00:01.000Z');
    const reporter = new ProgressReporter(
      { write: (chunk: string) => (written += chunk), isTTY: false },
      () => now,
    );
    reporter.update(aTask({ state: 'queued' }));
    reporter.update(running);
    reporter.log('10:00:01 [server.transfer] sending');
    now += 1_000;
    reporter.update({ ...running, progress: { ...running.progress!, done: 20 * MiB } });
    reporter.finish();
    // eslint-disable-next-line no-control-regex
    expect(written).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    const lines = written.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\.\.\. queued, waiting for a slot/);
    expect(lines[1]).toBe('... server.transfer / upload: 10%  10.0 MiB / 100 MiB  ETA -- (1.0s)');
    expect(lines[2]).toBe('10:00:01 [server.transfer] sending');
    // Same step and phase one second later: no new line until a few seconds passed.
    expect(lines).toHaveLength(3);
  });

  it('on a terminal, redraws one status line and prints log lines above it', () => {
    let written = '';
    const now = Date.parse('2025-01-01T10:00:02.000Z');
    const reporter = new ProgressReporter(
      { write: (chunk: string) => (written += chunk), isTTY: true, columns: 200 },
      () => now,
    );
    reporter.update(running);
    reporter.log('a log line');
    reporter.finish();
    const parts = written.split('\r\x1b[2K');
    expect(parts[1]).toContain('server.transfer · upload');
    expect(parts[1]).toContain('10%  10.0 MiB / 100 MiB');
    // Status cleared, the line printed, status drawn again, then cleared for good.
    expect(parts[2]).toBe('a log line\n');
    expect(parts[3]).toContain('server.transfer · upload');
    expect(parts[4]).toBe('');
  });
});

describe('activeStep', () => {
  it('names the step a task without progress is on, and says when it waits for its agent', () => {
    const done = aStep({ id: 'a', seq: 1, name: 'server.probe', state: 'done' });
    expect(activeStep(aTask({ state: 'running', steps: [done] }))).toBeUndefined();
    expect(
      activeStep(
        aTask({
          state: 'running',
          steps: [done, aStep({ id: 'b', seq: 2, name: 'db.dump', state: 'pending' })],
        }),
      ),
    ).toBe("db.dump on web1: waiting for web1's agent or a free slot");
    expect(activeStep(aTask({ state: 'running', steps: [aStep({ state: 'running' })] }))).toBe(
      'server.probe on web1',
    );
  });
});

describe('following a long task (a migrate)', () => {
  const startedAt = '2025-01-01T10:00:00.000Z';
  const at = (seconds: number) => Date.parse(startedAt) + seconds * 1000;
  const backup = { name: 'backup', startedAt, endedAt: '2025-01-01T10:00:10.000Z' };
  const rehearsal = { name: 'rehearsal', startedAt: '2025-01-01T10:00:10.000Z', endedAt: null };
  const archive = aStep({ id: 'a', seq: 1, name: 'site.archive', state: 'done' });
  const extract = aStep({ id: 'b', seq: 2, name: 'site.extract', state: 'running' });
  const extracting = (done: number) =>
    aTask({
      type: 'site.migrate',
      state: 'running',
      startedAt,
      phases: [backup, rehearsal],
      steps: [archive, extract],
      progress: { stepName: 'site.extract', phase: 'extract', done, total: 100 * MiB, unit: 'bytes' },
    });

  function recorder(tty: boolean) {
    let written = '';
    let now = at(20);
    const reporter = new ProgressReporter(
      { write: (chunk: string) => (written += chunk), isTTY: tty, columns: 200 },
      () => now,
    );
    return {
      reporter,
      advance: (seconds: number) => (now += seconds * 1000),
      text: () => written,
    };
  }

  it('on a terminal, shows the phase, the step, a bar with bytes, the rate and the ETA', () => {
    const { reporter, advance, text } = recorder(true);
    reporter.update(extracting(20 * MiB));
    advance(2);
    reporter.update(extracting(40 * MiB));
    const frames = text().split('\r\x1b[2K').filter(Boolean);
    expect(frames.at(-1)).toMatch(
      new RegExp(
        `^. rehearsal › site\\.extract · extract  \\[█{10}░{14}\\] 40%  40\\.0 MiB / 100 MiB  10\\.0 MiB/s  ETA 6\\.0s  22s$`,
      ),
    );
  });

  it('on a narrow terminal, shrinks the bar, then drops it and the amounts, before it cuts off the rate and the ETA', () => {
    for (const [columns, bar] of [
      [120, /\[█{10}░{14}\] 40% {2}40\.0 MiB \/ 100 MiB/],
      [105, /\[█{4}░{6}\] 40% {2}40\.0 MiB \/ 100 MiB/],
      [95, /extract {2}40% {2}40\.0 MiB \/ 100 MiB/],
      [72, /extract {2}40% {2}10\.0 MiB\/s/],
    ] as const) {
      let written = '';
      let now = at(20);
      const reporter = new ProgressReporter(
        { write: (chunk: string) => (written += chunk), isTTY: true, columns },
        () => now,
      );
      reporter.update(extracting(20 * MiB));
      now += 2000;
      reporter.update(extracting(40 * MiB));
      const last = written.split('\r\x1b[2K').filter(Boolean).at(-1) ?? '';
      expect(last).toMatch(bar);
      expect(last).toMatch(/10\.0 MiB\/s {2}ETA 6\.0s {2}22s$/);
      expect([...last].length).toBeLessThan(columns);
    }
  });

  it('off a terminal, writes a line when the phase or step changes, every 5 s while bytes move', () => {
    const { reporter, advance, text } = recorder(false);
    reporter.update(extracting(20 * MiB));
    advance(2);
    reporter.update(extracting(40 * MiB));
    advance(4);
    reporter.update(extracting(80 * MiB));
    advance(1);
    const offline = aTask({
      type: 'site.migrate',
      state: 'running',
      startedAt,
      phases: [
        backup,
        { ...rehearsal, endedAt: '2025-01-01T10:00:25.000Z' },
        { name: 'read-only window', startedAt: '2025-01-01T10:00:25.000Z', endedAt: null },
        { name: 'offline window', startedAt: '2025-01-01T10:00:26.000Z', endedAt: null },
      ],
      steps: [
        archive,
        { ...extract, state: 'done' },
        aStep({ id: 'c', seq: 3, name: 'app.update', state: 'running' }),
      ],
      // The extract's progress is the last the master heard: stale once its step is done.
      progress: extracting(100 * MiB).progress,
    });
    reporter.update(offline);
    expect(text().trimEnd().split('\n')).toEqual([
      '... rehearsal › site.extract / extract: 20%  20.0 MiB / 100 MiB  ETA -- (20s)',
      '... rehearsal › site.extract / extract: 80%  80.0 MiB / 100 MiB  10.0 MiB/s  ETA 2.0s (26s)',
      '... offline window › app.update on web1 (27s)',
    ]);
  });

  it('off a terminal, says every 30 s that a step without progress still runs', () => {
    const { reporter, advance, text } = recorder(false);
    const updating = aTask({
      state: 'running',
      startedAt,
      phases: [{ name: 'offline window', startedAt, endedAt: null }],
      steps: [aStep({ name: 'app.update', state: 'running' })],
    });
    reporter.update(updating);
    for (let second = 0; second < 65; second += 5) {
      advance(5);
      reporter.update(updating);
    }
    expect(text().trimEnd().split('\n')).toEqual([
      '... offline window › app.update on web1 (20s)',
      '... offline window › app.update on web1 (50s)',
      '... offline window › app.update on web1 (1m 20s)',
    ]);
  });
});

describe('currentPhase and currentProgress', () => {
  it('names the innermost open phase of a running task', () => {
    const open = (name: string) => ({ name, startedAt: '2025-01-01T10:00:00.000Z', endedAt: null });
    expect(
      currentPhase(aTask({ state: 'running', phases: [open('read-only window'), open('offline window')] })),
    ).toBe('offline window');
    expect(currentPhase(aTask({ state: 'succeeded', phases: [open('backup')] }))).toBeUndefined();
    expect(currentPhase(aTask({ state: 'running', phases: [] }))).toBeUndefined();
  });

  it('keeps progress for a step that runs or that the task does not list, and drops it once its step is done', () => {
    const progress = { stepName: 'db.dump', phase: 'dump', done: 1, total: 2, unit: 'bytes' };
    expect(currentProgress(aTask({ progress, steps: [] }))).toBe(progress);
    expect(currentProgress(aTask({ progress, steps: [aStep({ name: 'db.dump', state: 'running' })] }))).toBe(
      progress,
    );
    expect(
      currentProgress(aTask({ progress, steps: [aStep({ name: 'db.dump', state: 'done' })] })),
    ).toBeNull();
  });
});
