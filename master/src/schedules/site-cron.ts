import { createHash } from 'node:crypto';
import type { Firing } from './backup-policy.js';

/** The longest period a site's cron may have: a week. */
export const CRON_MAX_MINUTES = 7 * 24 * 60;

/**
 * Where in each period a site's cron falls, in whole seconds: from a hash of its id, so it stays
 * the same across masters and restarts and 300 hourly sites on one server do not all start at :00.
 */
export function cronOffsetSeconds(siteId: string, everyMinutes: number): number {
  const hash = createHash('sha256').update(siteId).digest().readUInt32BE(0);
  return hash % (everyMinutes * 60);
}

/**
 * The latest cron run due for a site at `now`: due times are `offset + k * period` from the epoch;
 * a run not started before the next one is due is missed. Null when cron is off (0 minutes).
 */
export function latestCronFiring(siteId: string, everyMinutes: number, now: Date): Firing | null {
  if (everyMinutes <= 0) return null;
  const period = everyMinutes * 60_000;
  const offset = cronOffsetSeconds(siteId, everyMinutes) * 1000;
  const due = Math.floor((now.getTime() - offset) / period) * period + offset;
  return { dueAt: new Date(due), opensAt: new Date(due), expiresAt: new Date(due + period) };
}
