import { CronExpressionParser } from 'cron-parser';
import { DateTime } from 'luxon';

/**
 * Backup policies as plain rules (no registry): when a site's scheduled backup is due, the window
 * it may start in, and which of its backups retention keeps. Times are evaluated in the time zone
 * of the site's web server, as an operator reads "02:00".
 */

export type PolicyScope = 'global' | 'client' | 'site';

export interface PolicyRules {
  /** A cron expression (5 fields, minute resolution); null: no scheduled backups, retention only. */
  schedule: string | null;
  /** Start only between these local times ("HH:MM"); null: any time. May cross midnight. */
  window: { start: string; end: string } | null;
  keep: RetentionRule;
  /** When the newest backup is restore-tested (same window); null: never on its own. */
  verifySchedule: string | null;
}

/** Grandfather-father-son: the newest N, and the newest of each of the last D days, W weeks, M months. */
export interface RetentionRule {
  last: number;
  daily: number;
  weekly: number;
  monthly: number;
}

/** A policy as stored, with what it applies to. */
export interface ScopedPolicy extends PolicyRules {
  id: string;
  scope: PolicyScope;
  clientId: string | null;
  siteId: string | null;
}

/** What a due time is computed from: a schedule and its window (a policy's backups, or its restore tests). */
export type ScheduleRules = Pick<PolicyRules, 'schedule' | 'window'>;

/** One due time of a schedule: when it may start, and when waiting for it ends ("missed"). */
export interface Firing {
  dueAt: Date;
  /** The window opens (dueAt itself when it is inside the window or there is none). */
  opensAt: Date;
  /** The window closes, or the next due time comes: a firing not started by then is missed. */
  expiresAt: Date;
}

const HH_MM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const KEEP_MAX = 1000;

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/** A cron expression Berth accepts: five fields (or a macro such as @daily), nothing below a minute. */
export function checkSchedule(input: unknown): Checked<string> {
  if (typeof input !== 'string' || input.trim() === '' || input.length > 100) {
    return { ok: false, message: 'the schedule must be a cron expression such as "0 2 * * *"' };
  }
  const expression = input.trim().replace(/\s+/g, ' ');
  if (!expression.startsWith('@') && expression.split(' ').length !== 5) {
    return {
      ok: false,
      message: `"${expression}" is not a five-field cron expression (minute hour day-of-month month day-of-week)`,
    };
  }
  try {
    const parsed = CronExpressionParser.parse(expression, { strict: false });
    const seconds = parsed.fields.second.values;
    if (seconds.length !== 1 || seconds[0] !== 0) {
      return {
        ok: false,
        message: `"${expression}" fires more than once a minute: the finest is every minute`,
      };
    }
  } catch (error) {
    return {
      ok: false,
      message: `"${expression}" is not a valid cron expression: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  return { ok: true, value: expression };
}

/** "01:00-05:00" (or "22:00-04:00", across midnight); the two ends differ. */
export function checkWindow(input: unknown): Checked<{ start: string; end: string }> {
  const match = typeof input === 'string' ? /^(\d{2}:\d{2})-(\d{2}:\d{2})$/.exec(input.trim()) : null;
  if (!match || !HH_MM.test(match[1]!) || !HH_MM.test(match[2]!)) {
    return {
      ok: false,
      message: 'the window must be HH:MM-HH:MM in the server\'s time zone, such as "01:00-05:00"',
    };
  }
  if (match[1] === match[2]) {
    return {
      ok: false,
      message: 'a window that opens and closes at the same time is empty: leave it out for any time',
    };
  }
  return { ok: true, value: { start: match[1]!, end: match[2]! } };
}

export function checkKeep(name: string, input: unknown): Checked<number> {
  if (typeof input !== 'number' || !Number.isInteger(input) || input < 0 || input > KEEP_MAX) {
    return { ok: false, message: `${name} must be a whole number from 0 to ${KEEP_MAX}` };
  }
  return { ok: true, value: input };
}

/** The most specific policy wins: the site's own, else its client's, else the global default. */
export function effectivePolicy<P extends ScopedPolicy>(
  policies: readonly P[],
  site: { id: string; clientId: string | null },
): P | undefined {
  return (
    policies.find((policy) => policy.scope === 'site' && policy.siteId === site.id) ??
    (site.clientId === null
      ? undefined
      : policies.find((policy) => policy.scope === 'client' && policy.clientId === site.clientId)) ??
    policies.find((policy) => policy.scope === 'global')
  );
}

/**
 * The latest due time of a schedule at `now`, with its window: null when there is none yet, or
 * when the window would not open before the schedule is due again (a due time outside the window
 * is not a firing: an hourly schedule with a night window backs up at night only).
 */
export function latestFiring(rules: ScheduleRules, timeZone: string, now: Date): Firing | null {
  return latestFiringUntil(rules, timeZone, now).firing;
}

/** latestFiring, with until when it stays the answer (the next due time): what a cache keeps. */
export function latestFiringUntil(
  rules: ScheduleRules,
  timeZone: string,
  now: Date,
): { firing: Firing | null; validUntil: Date } {
  const never = { firing: null, validUntil: new Date(8.64e15) };
  if (rules.schedule === null) return never;
  // prev() is strictly before its date: a schedule due this very millisecond counts as due.
  const probe = CronExpressionParser.parse(rules.schedule, {
    currentDate: new Date(now.getTime() + 1),
    tz: timeZone,
  });
  let dueAt: Date;
  try {
    dueAt = probe.prev().toDate();
  } catch {
    return never;
  }
  const nextDue = CronExpressionParser.parse(rules.schedule, { currentDate: dueAt, tz: timeZone })
    .next()
    .toDate();
  if (!rules.window) return { firing: { dueAt, opensAt: dueAt, expiresAt: nextDue }, validUntil: nextDue };
  const window = windowAfter(rules.window, timeZone, dueAt);
  if (window.opensAt >= nextDue) return { firing: null, validUntil: nextDue };
  return {
    firing: {
      dueAt,
      opensAt: window.opensAt,
      expiresAt: window.closesAt < nextDue ? window.closesAt : nextDue,
    },
    validUntil: nextDue,
  };
}

/** The next due time after `now` (for people reading a policy). */
export function nextDue(rules: ScheduleRules, timeZone: string, now: Date): Date | null {
  if (rules.schedule === null) return null;
  try {
    return CronExpressionParser.parse(rules.schedule, { currentDate: now, tz: timeZone }).next().toDate();
  } catch {
    return null;
  }
}

/** The window that contains `at`, or else the next one to open, as instants. */
export function windowAfter(
  window: { start: string; end: string },
  timeZone: string,
  at: Date,
): { opensAt: Date; closesAt: Date } {
  const local = DateTime.fromJSDate(at, { zone: timeZone });
  const [startHour, startMinute] = window.start.split(':').map(Number) as [number, number];
  const [endHour, endMinute] = window.end.split(':').map(Number) as [number, number];
  // The window that opened yesterday may still be open (one across midnight), so start there.
  for (let days = -1; days <= 1; days++) {
    const day = local.plus({ days });
    const opens = day.set({ hour: startHour, minute: startMinute, second: 0, millisecond: 0 });
    let closes = day.set({ hour: endHour, minute: endMinute, second: 0, millisecond: 0 });
    if (closes <= opens) closes = closes.plus({ days: 1 });
    if (closes.toMillis() > at.getTime()) {
      return {
        opensAt: new Date(Math.max(opens.toMillis(), at.getTime())),
        closesAt: closes.toJSDate(),
      };
    }
  }
  throw new Error(`no window ${window.start}-${window.end} found around ${at.toISOString()}`);
}

/**
 * Which backups retention keeps (borg's and restic's rule): the newest `last`, and the newest
 * backup of each of the most recent `daily` days (weeks, months) that have backups, calendar
 * periods in the server's time zone. The newest backup is always kept.
 */
export function retainedBackups<B extends { id: string; createdAt: Date }>(
  backups: readonly B[],
  keep: RetentionRule,
  timeZone: string,
): Set<string> {
  const newestFirst = [...backups].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const kept = new Set<string>(newestFirst.slice(0, Math.max(1, keep.last)).map((backup) => backup.id));
  const periods: Array<[number, (at: DateTime) => string]> = [
    [keep.daily, (at) => at.toFormat('yyyy-MM-dd')],
    [keep.weekly, (at) => `${at.weekYear}-W${at.weekNumber}`],
    [keep.monthly, (at) => at.toFormat('yyyy-MM')],
  ];
  for (const [count, periodOf] of periods) {
    const seen = new Set<string>();
    for (const backup of newestFirst) {
      if (seen.size >= count) break;
      const period = periodOf(DateTime.fromJSDate(backup.createdAt, { zone: timeZone }));
      if (seen.has(period)) continue;
      seen.add(period);
      kept.add(backup.id);
    }
  }
  return kept;
}
