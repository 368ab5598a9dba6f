import { describe, expect, it } from 'vitest';
import { cronOffsetSeconds, latestCronFiring } from './site-cron.js';

const ids = Array.from({ length: 300 }, (_, n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`);

describe('site cron', () => {
  it('gives each site a stable offset within its period', () => {
    expect(cronOffsetSeconds(ids[0]!, 60)).toBe(cronOffsetSeconds(ids[0]!, 60));
    for (const id of ids) {
      const offset = cronOffsetSeconds(id, 60);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(3600);
    }
  });

  it('spreads 300 hourly sites over the hour instead of starting them all at :00', () => {
    const perMinute = new Map<number, number>();
    for (const id of ids) {
      const minute = Math.floor(cronOffsetSeconds(id, 60) / 60);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    }
    // 5 a minute on average; no minute holds more than a few times that.
    expect(perMinute.size).toBeGreaterThan(45);
    expect(Math.max(...perMinute.values())).toBeLessThan(20);
  });

  it('is due at the offset of each period, until the next one', () => {
    const id = ids[7]!;
    const offset = cronOffsetSeconds(id, 60) * 1000;
    const hour = Date.parse('2026-12-04T10:00:00Z');
    const firing = latestCronFiring(id, 60, new Date(hour + offset + 5_000));
    expect(firing).toEqual({
      dueAt: new Date(hour + offset),
      opensAt: new Date(hour + offset),
      expiresAt: new Date(hour + offset + 3600_000),
    });
    // Just before this hour's offset, the last one is still the previous hour's.
    expect(latestCronFiring(id, 60, new Date(hour + offset - 1))?.dueAt).toEqual(
      new Date(hour - 3600_000 + offset),
    );
  });

  it('is off at 0 minutes', () => {
    expect(latestCronFiring(ids[0]!, 0, new Date())).toBeNull();
  });
});
