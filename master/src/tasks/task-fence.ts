import type { EntityManager } from 'typeorm';
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
  constructor(
    readonly taskId: string,
    readonly epoch: string,
    readonly currentEpoch: string | null,
  ) {
    super(
      `task ${taskId} is no longer this master's (it held epoch ${epoch}, the task is at ` +
        `${currentEpoch ?? 'none'}): another master adopted it`,
    );
    this.name = 'OwnershipLostError';
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
  if (row?.epoch !== fence.epoch) throw new OwnershipLostError(fence.taskId, fence.epoch, row?.epoch ?? null);
}
