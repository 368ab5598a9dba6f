import { describe, expect, it } from 'vitest';
import { aStep, aTask } from '../testing/factories.js';
import { ProgressReporter, RateMeter, activeStep, describeProgress, renderBar } from './progress.js';

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
    const text = describeProgress({ stepName: 's', phase: null, done: 3, total: 10, unit: 'sites' }, 1, {
      bar: true,
    });
    expect(text).toBe(`${renderBar(0.3, 24)} 30%  3 sites / 10 sites  ETA 7.0s`);
  });

  it('shows only the amount when the total is unknown', () => {
    expect(
      describeProgress({ stepName: 's', phase: null, done: 2 * MiB, total: null, unit: 'bytes' }, 0, {
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
