/**
 * What a notification target can be told of. A module of its own: shared/src/api.ts holds types
 * only, and the master validates a target's events against this list at run time.
 */
export const NOTIFICATION_EVENTS = [
  'task.failed',
  'backup.failed',
  'backup.verify-failed',
  'backup.offsite-failed',
  'schedule.missed',
  'agent.disconnected',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
