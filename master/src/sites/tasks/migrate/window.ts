import { StepErrorCode } from '../../../../../shared/src/errors.js';
import type { DeployHook } from '../../../../../shared/src/deploy-hooks.js';
import type { TaskType } from '../../../../../shared/src/tasks.js';
import { StepFailedError, type TaskContext } from '../../../tasks/workflow.js';
import type { SitePlace } from '../site-steps.js';
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

/** The rollback point: the site's database dumped once writes are held, into the archive reserved for it. */
export async function dumpRollbackPoint(
  context: TaskContext<TaskType>,
  place: SitePlace,
  archiveId: string,
): Promise<void> {
  await context.phase(MIGRATE_PHASES.rollbackPoint, () =>
    context.step(place.db, 'db.dump', { database: place.database.name, archiveId }),
  );
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
