import { describe, expect, it } from 'vitest';
import { Backoff, RECONNECT_BACKOFF } from './backoff.js';

describe('Backoff', () => {
  it('doubles its ceiling from the base up to the cap', () => {
    const backoff = new Backoff({ ...RECONNECT_BACKOFF, random: () => 0.999999 });
    const delays = Array.from({ length: 10 }, () => backoff.nextDelayMs());
    expect(delays).toEqual([249, 499, 999, 1999, 3999, 7999, 9999, 9999, 9999, 9999]);
  });

  it('uses full jitter: every delay lies in [0, ceiling)', () => {
    const backoff = new Backoff(RECONNECT_BACKOFF);
    for (let i = 0; i < 200; i += 1) {
      const ceiling = backoff.ceilingMs();
      const delay = backoff.nextDelayMs();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(ceiling);
      expect(ceiling).toBeLessThanOrEqual(10_000);
    }
  });

  it('gives zero when the random source gives zero (no floor beyond jitter)', () => {
    const backoff = new Backoff({ ...RECONNECT_BACKOFF, random: () => 0 });
    expect([backoff.nextDelayMs(), backoff.nextDelayMs()]).toEqual([0, 0]);
  });

  it('starts again from the base after a reset', () => {
    const backoff = new Backoff({ ...RECONNECT_BACKOFF, random: () => 0.5 });
    backoff.nextDelayMs();
    backoff.nextDelayMs();
    backoff.nextDelayMs();
    expect(backoff.attempt).toBe(3);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.nextDelayMs()).toBe(125);
  });

  it('refuses a cap below the base', () => {
    expect(() => new Backoff({ baseMs: 100, capMs: 50 })).toThrow(/invalid backoff/);
  });
});
