import { StepErrorCode } from '../../../../../shared/src/errors.js';
import type { DeployHook } from '../../../../../shared/src/deploy-hooks.js';
import type { TaskType } from '../../../../../shared/src/tasks.js';
import { StepFailedError, type TaskContext } from '../../../tasks/workflow.js';
import type { BinlogPosition } from '../../../../../shared/src/steps.js';
import type { RecordedBackup, SitePlace } from '../site-steps.js';
import { MIGRATE_PHASES } from './migrate-phases.js';

// What the tasks that change a live site's code share (a migrate, a deploy): writes held, the
// updates and hooks, and a window's undo list.

/**
 * The database updates, then the deploy hooks in their order (the task's, fixed at queue time):
 * the first hook that fails fails the task, in the rehearsal before anything live changed, in the
 * window with every undo.
 */
export async function updateAndHooks(
  context: TaskContext<TaskType>,
  server: string,
  on: { domain: string; platform: string },
  hooks: readonly DeployHook[] | undefined,
): Promise<void> {
  await context.step(server, 'app.update', on);
  for (const hook of hooks ?? []) await context.step(server, 'app.hook', { ...on, hook });
}

/** Read-only mode where the site has it (module readonlymode); false when maintenance must do. */
async function holdWrites(context: TaskContext<TaskType>, place: SitePlace): Promise<boolean> {
  try {
    await context.step(place.web, 'app.readonly', { ...place.on, on: true });
    return true;
  } catch (error) {
    if (!(error instanceof StepFailedError && error.failure.code === StepErrorCode.NotFound)) throw error;
    await context.log('the site has no read-only mode (module readonlymode): maintenance holds the writes');
    return false;
  }
}

/**
 * Writes held until the task ends (read-only, else maintenance), allowed again if it rolls back:
 * nothing acknowledged after the rollback point that follows can be lost. True when read-only.
 */
export async function holdWritesForTask(context: TaskContext<TaskType>, place: SitePlace): Promise<boolean> {
  const readOnly = await holdWrites(context, place);
  context.onRollback('writes allowed again', async () => {
    await context.step(place.web, readOnly ? 'app.readonly' : 'app.maintenance', { ...place.on, on: false });
  });
  if (!readOnly) await context.step(place.web, 'app.maintenance', { ...place.on, on: true });
  return readOnly;
}

/**
 * How a window's rollback puts the site's database back. `dump`: a dump taken once writes were held
 * (they wait for all of it). `binlog`: the backup's dump, taken online, and the db server's binary
 * log from that dump's snapshot to the moment writes were held (db.rewind); writes wait for no copy.
 */
export type RollbackPoint =
  | { kind: 'dump'; archiveId: string }
  | { kind: 'binlog'; archiveId: string; from: BinlogPosition; to: BinlogPosition };

/**
 * The rollback point, once writes are held: the binary log's position when the backup's dump says
 * where its snapshot was in a row-based log (`byLog`) and the server still has that log; else the
 * database dumped into the archive reserved for it, saying why.
 */
export async function takeRollbackPoint(
  context: TaskContext<TaskType>,
  place: SitePlace,
  options: { archiveId: string; backup: RecordedBackup; byLog: boolean },
): Promise<RollbackPoint> {
  return context.phase(MIGRATE_PHASES.rollbackPoint, async () => {
    const since = options.byLog ? backupBinlogPosition(options.backup) : null;
    if (since && options.backup.databaseArchiveId) {
      try {
        const to = await context.step(place.db, 'db.binlog-mark', { database: place.database.name, since });
        await context.log(
          `rollback point: the backup and ${place.dbName}'s binary log up to ${to.file}:${to.position} (no dump while writes wait)`,
        );
        return { kind: 'binlog', archiveId: options.backup.databaseArchiveId, from: since, to };
      } catch (error) {
        if (!(error instanceof StepFailedError)) throw error;
        await context.log(
          `the binary log cannot be the rollback point (${error.message}): dumping the database`,
        );
      }
    } else if (options.byLog) {
      await context.log(
        `${place.dbName} keeps no row-based binary log: the rollback point is a dump while writes wait ` +
          '(log_bin = ON and binlog_format = ROW hold them only for the updates)',
      );
    }
    await context.step(place.db, 'db.dump', { database: place.database.name, archiveId: options.archiveId });
    return { kind: 'dump', archiveId: options.archiveId };
  });
}

/** The undo that puts the site's database back to its rollback point. */
export function restoreRollbackPointUndo(
  context: TaskContext<TaskType>,
  place: SitePlace,
  point: RollbackPoint,
): Undo {
  const database = place.database.name;
  return [
    'database back to the rollback point',
    () =>
      point.kind === 'binlog'
        ? context.step(place.db, 'db.rewind', {
            database,
            archiveId: point.archiveId,
            from: point.from,
            to: point.to,
          })
        : context.step(place.db, 'db.import', { database, archiveId: point.archiveId }),
  ];
}

/** Where the backup's dump says its snapshot was in the db server's binary log; null when nowhere. */
function backupBinlogPosition(backup: RecordedBackup): BinlogPosition | null {
  const database = backup.manifest.database as { binlog?: BinlogPosition } | undefined;
  return database?.binlog ?? null;
}

/** A named undo action of a window, as its list registers them. */
export type Undo = [string, () => Promise<unknown>];

/** Registers a window's undo actions so that they run in the list's order (newest first: last to first). */
export function registerUndo(context: TaskContext<TaskType>, undo: Undo[]): void {
  for (const [name, action] of [...undo].reverse()) {
    context.onRollback(name, async () => {
      await action();
    });
  }
}
