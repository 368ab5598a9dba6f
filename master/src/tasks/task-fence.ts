import type { DataSource, EntityManager } from 'typeorm';
import { sqlOne } from '../infra/db/sql.js';

/** Which task a write is for, and the owner epoch the writing master holds it under. */
export interface TaskFence {
  taskId: string;
  epoch: string;
}

/**
 * A master wrote for a task another master has taken since (it was paused or cut off past its
 * hold): the write was refused, and the run that tried it stops without finishing the task.
 */
export class OwnershipLostError extends Error {
  /**
   * `currentEpoch`: the epoch a refused write found (a write was refused); null when the loss was
   * found otherwise: a renewal that no longer matched, or this master stopping (`stopping`).
   */
  constructor(
    readonly taskId: string,
    readonly epoch: string,
    readonly currentEpoch: string | null,
    readonly stopping = false,
  ) {
    super(
      stopping
        ? `this master is stopping: task ${taskId} is left for another master (or this one, started again) to adopt`
        : currentEpoch === null
          ? `task ${taskId} is no longer this master's: the renewal of its hold under epoch ${epoch} was ` +
            'refused (the hold had lapsed and another master adopted the task)'
          : `a write for task ${taskId} was refused: this master held it at epoch ${epoch}, another master ` +
            `adopted it (epoch ${currentEpoch})`,
    );
    this.name = 'OwnershipLostError';
  }

  /** True when a workflow write was refused (rather than the hold's renewal, or a stop). */
  get writeRefused(): boolean {
    return this.currentEpoch !== null;
  }
}

/**
 * Checks, inside the write's transaction, that the task is still held under the fence's epoch, and
 * keeps it so until the transaction ends: the row is share-locked, so an adoption (which bumps the
 * epoch) waits for the write to commit and then sees it, or comes first and the write is refused.
 */
export async function holdFence(manager: EntityManager, fence: TaskFence): Promise<void> {
  const row = await sqlOne<{ epoch: string }>(
    manager,
    `SELECT owner_epoch::text AS epoch FROM tasks WHERE id = $1 FOR SHARE`,
    [fence.taskId],
  );
  if (row?.epoch !== fence.epoch) {
    throw new OwnershipLostError(fence.taskId, fence.epoch, row?.epoch ?? 'none (the task is gone)');
  }
}

/**
 * Runs `write` in a transaction that first holds the fence (see holdFence), when there is one: the
 * form of every write a workflow run makes for its task.
 */
export function fencedTransaction<T>(
  db: DataSource,
  fence: TaskFence | undefined,
  write: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  return db.transaction(async (manager) => {
    if (fence) await holdFence(manager, fence);
    return write(manager);
  });
}
