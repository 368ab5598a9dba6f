import { describe, expect, it } from 'vitest';
import {
  checkSchedule,
  checkWindow,
  effectivePolicy,
  latestFiring,
  retainedBackups,
  windowAfter,
  type PolicyRules,
  type ScopedPolicy,
} from './backup-policy.js';

const at = (iso: string) => new Date(iso);
/** The message of a refusal ('' when it was accepted). */
const failure = (checked: { ok: true } | { ok: false; message: string }) =>
  checked.ok ? '' : checked.message;
const KEEP = { last: 7, daily: 0, weekly: 0, monthly: 0 };
const rules = (schedule: string | null, window: PolicyRules['window'] = null): PolicyRules => ({
  schedule,
  window,
  keep: KEEP,
  verifySchedule: null,
});

describe('checkSchedule', () => {
  it('takes five-field expressions and macros, normalising spaces', () => {
    expect(checkSchedule(' 0  2 * * * ')).toEqual({ ok: true, value: '0 2 * * *' });
    expect(checkSchedule('@daily')).toEqual({ ok: true, value: '@daily' });
  });

  it('refuses six fields, sub-minute macros, bad values and non-strings, saying why', () => {
    expect(failure(checkSchedule('*/5 * * * * *'))).toContain('five-field');
    expect(failure(checkSchedule('@secondly'))).toContain('every minute');
    expect(failure(checkSchedule('61 * * * *'))).toContain('not a valid');
    expect(checkSchedule(7)).toMatchObject({ ok: false });
    expect(checkSchedule('')).toMatchObject({ ok: false });
  });
});

describe('checkWindow', () => {
  it('takes HH:MM-HH:MM, across midnight too', () => {
    expect(checkWindow('01:00-05:00')).toEqual({ ok: true, value: { start: '01:00', end: '05:00' } });
    expect(checkWindow('22:30-04:00')).toEqual({ ok: true, value: { start: '22:30', end: '04:00' } });
  });

  it('refuses bad times and an empty window', () => {
    expect(checkWindow('1:00-5:00')).toMatchObject({ ok: false });
    expect(checkWindow('24:00-05:00')).toMatchObject({ ok: false });
    expect(failure(checkWindow('03:00-03:00'))).toContain('empty');
  });
});

describe('latestFiring', () => {
  it('is the latest due time, open until the next one when there is no window', () => {
    expect(latestFiring(rules('0 2 * * *'), 'UTC', at('2026-12-04T10:00:00Z'))).toEqual({
      dueAt: at('2026-12-04T02:00:00Z'),
      opensAt: at('2026-12-04T02:00:00Z'),
      expiresAt: at('2026-12-05T02:00:00Z'),
    });
  });

  it('counts a schedule due this very instant as due', () => {
    expect(latestFiring(rules('* * * * *'), 'UTC', at('2026-12-04T10:07:00Z'))?.dueAt).toEqual(
      at('2026-12-04T10:07:00Z'),
    );
  });

  it("reads the schedule in the server's time zone", () => {
    // 02:00 in Paris in winter is 01:00 UTC.
    expect(latestFiring(rules('0 2 * * *'), 'Europe/Paris', at('2026-12-04T10:00:00Z'))?.dueAt).toEqual(
      at('2026-12-04T01:00:00Z'),
    );
  });

  it('waits for the window to open and expires when it closes', () => {
    const firing = latestFiring(
      rules('0 0 * * *', { start: '01:00', end: '05:00' }),
      'UTC',
      at('2026-12-04T00:30:00Z'),
    );
    expect(firing).toEqual({
      dueAt: at('2026-12-04T00:00:00Z'),
      opensAt: at('2026-12-04T01:00:00Z'),
      expiresAt: at('2026-12-04T05:00:00Z'),
    });
  });

  it('is open at once when due inside a window across midnight', () => {
    const firing = latestFiring(
      rules('0 23 * * *', { start: '22:00', end: '04:00' }),
      'UTC',
      at('2026-12-04T23:10:00Z'),
    );
    expect(firing).toEqual({
      dueAt: at('2026-12-04T23:00:00Z'),
      opensAt: at('2026-12-04T23:00:00Z'),
      expiresAt: at('2026-12-05T04:00:00Z'),
    });
  });

  it('is no firing when the window opens only after the next due time (hourly, night window)', () => {
    const night = { start: '01:00', end: '03:00' };
    expect(latestFiring(rules('0 * * * *', night), 'UTC', at('2026-12-04T10:30:00Z'))).toBeNull();
    expect(latestFiring(rules('0 * * * *', night), 'UTC', at('2026-12-04T01:30:00Z'))).toEqual({
      dueAt: at('2026-12-04T01:00:00Z'),
      opensAt: at('2026-12-04T01:00:00Z'),
      expiresAt: at('2026-12-04T02:00:00Z'),
    });
  });

  it('is none without a schedule', () => {
    expect(latestFiring(rules(null), 'UTC', at('2026-12-04T10:00:00Z'))).toBeNull();
  });
});

describe('windowAfter', () => {
  it('follows the local clock across a daylight saving change', () => {
    // Europe/Paris moves to summer time on 2026-03-29: 01:00-05:00 local is 00:00-03:00 UTC that night.
    expect(windowAfter({ start: '01:00', end: '05:00' }, 'Europe/Paris', at('2026-03-28T23:00:00Z'))).toEqual(
      {
        opensAt: at('2026-03-29T00:00:00Z'),
        closesAt: at('2026-03-29T03:00:00Z'),
      },
    );
  });
});

describe('effectivePolicy', () => {
  const policy = (
    id: string,
    scope: ScopedPolicy['scope'],
    clientId: string | null,
    siteId: string | null,
  ) => ({
    id,
    scope,
    clientId,
    siteId,
    ...rules('0 2 * * *'),
  });
  const all = [
    policy('g', 'global', null, null),
    policy('c', 'client', 'acme', null),
    policy('s', 'site', null, 'site-1'),
  ];

  it("takes the site's own, else its client's, else the global one", () => {
    expect(effectivePolicy(all, { id: 'site-1', clientId: 'acme' })?.id).toBe('s');
    expect(effectivePolicy(all, { id: 'site-2', clientId: 'acme' })?.id).toBe('c');
    expect(effectivePolicy(all, { id: 'site-3', clientId: null })?.id).toBe('g');
    expect(effectivePolicy(all.slice(1), { id: 'site-3', clientId: 'other' })).toBeUndefined();
  });
});

describe('retainedBackups', () => {
  // One backup every 6 hours for 40 days, newest 2026-12-04T18:00Z.
  const backups = Array.from({ length: 160 }, (_, index) => ({
    id: `b${index}`,
    createdAt: new Date(Date.parse('2026-12-04T18:00:00Z') - index * 6 * 3600_000),
  }));

  it('keeps the newest N', () => {
    expect([...retainedBackups(backups, { last: 3, daily: 0, weekly: 0, monthly: 0 }, 'UTC')]).toEqual([
      'b0',
      'b1',
      'b2',
    ]);
  });

  it('keeps the newest of each of the last D days, W weeks and M months, as a union', () => {
    const kept = retainedBackups(backups, { last: 1, daily: 3, weekly: 2, monthly: 2 }, 'UTC');
    // Daily: 12-04 18:00 (b0), 12-03 18:00 (b4), 12-02 18:00 (b8). Weekly (ISO weeks start Monday
    // 11-30): this week's newest is b0, last week's is Sunday 11-29 18:00 (b20). Monthly: December's
    // is b0, November's is 11-30 18:00 (b16).
    expect([...kept].sort()).toEqual(['b0', 'b16', 'b20', 'b4', 'b8'].sort());
  });

  it('reads days in the time zone given', () => {
    // In Pacific/Kiritimati (UTC+14), 12-04 18:00Z is already 12-05 08:00; 12-04 06:00Z is 12-04 20:00.
    const kept = retainedBackups(backups, { last: 1, daily: 2, weekly: 0, monthly: 0 }, 'Pacific/Kiritimati');
    expect([...kept].sort()).toEqual(['b0', 'b2']);
  });

  it('always keeps the newest backup', () => {
    expect([...retainedBackups(backups, { last: 0, daily: 0, weekly: 0, monthly: 0 }, 'UTC')]).toEqual([
      'b0',
    ]);
  });
});
