/**
 * The phases a migrate records on its task, in order. The offline window is the one users and
 * monitoring care about: the time the site answers 503, which the metrics and a platform upgrade's
 * summary read from the task.
 */
export const MIGRATE_PHASES = {
  /** The online backup, deployed as the rehearsal. */
  backup: 'backup',
  /** The updates on a throwaway copy on the target; the live site is untouched. */
  rehearsal: 'rehearsal',
  /** A move to another server: the site's files copied there while it serves. */
  copy: 'copy to the new server',
  /** A cluster: the target's link and vhost prepared on every head, `nginx -t` on each. */
  prepare: 'prepare every head',
  /** Writes held (read-only, pages served) from the rollback point to the end of the window. */
  readOnlyWindow: 'read-only window',
  rollbackPoint: 'rollback point',
  /** A database moving to another db server: the rollback point imported there. */
  databaseCopy: 'copy the database',
  /** Blue-green: the updates on the database's copy under the target platform, a hidden site. */
  green: 'updates on the copy',
  /** Blue-green: code and database switched to the copy in one reload, read-only ended. */
  switch: 'switch to the copy',
  /** Maintenance: the site answers 503 while it is moved and its database updated. */
  offlineWindow: 'offline window',
} as const;

export const OFFLINE_WINDOW_PHASE = MIGRATE_PHASES.offlineWindow;
