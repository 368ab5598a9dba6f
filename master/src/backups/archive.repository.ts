import type { DataSource } from 'typeorm';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import type { ArchiveState } from './archive.entity.js';

export interface ArchiveInfo {
  id: string;
  state: ArchiveState;
  serverId: string;
  attemptId: string | null;
  purpose: string;
  sha256: string | null;
  /** Decimal string (bigint). */
  sizeBytes: string | null;
  createdAt: Date;
  storedAt: Date | null;
}

/** The attempt a transfer claims to belong to, already checked to be well formed. */
export interface TransferRef {
  stepId: string;
  attemptId: string;
  /** Decimal string (bigint). */
  epoch: string;
}

/**
 * The one rule for transfers: the attempt belongs to the step, runs on the caller's server under
 * the epoch it names, is still active, and its step's params name this archive. $1 = archive id,
 * $2 = step id, $3 = attempt id, $4 = epoch, $5 = caller's server id; `a` is the archives row.
 */
const ATTEMPT_NAMES_ARCHIVE = `EXISTS (
  SELECT 1 FROM step_attempts sa JOIN task_steps ts ON ts.id = sa.step_id
   WHERE sa.id = $3 AND sa.step_id = $2 AND sa.server_id = $5 AND sa.epoch = $4::bigint
     AND sa.state IN ('assigned', 'running')
     AND ts.params->>'archiveId' = a.id::text)`;

const INFO_COLUMNS = `a.id, a.state, a.server_id AS "serverId", a.attempt_id AS "attemptId", a.purpose, a.sha256,
  a.size_bytes::text AS "sizeBytes", a.created_at AS "createdAt", a.stored_at AS "storedAt"`;

/** Named queries over the archives of the master's store. */
export class ArchiveRepository {
  constructor(private readonly db: DataSource) {}

  async reserve(serverId: string, purpose: string, attemptId: string | null): Promise<string> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      `INSERT INTO archives (server_id, purpose, attempt_id, state) VALUES ($1, $2, $3, 'reserved') RETURNING id`,
      [serverId, purpose, attemptId],
    );
    if (!row) throw new Error('INSERT INTO archives returned no row');
    return row.id;
  }

  find(archiveId: string): Promise<ArchiveInfo | undefined> {
    return sqlOne<ArchiveInfo>(this.db, `SELECT ${INFO_COLUMNS} FROM archives a WHERE a.id = $1`, [
      archiveId,
    ]);
  }

  /**
   * May the caller upload this archive now? It must be reserved for the caller's server. Says what
   * the archive is for and which task the uploading attempt belongs to (for metrics and logs).
   */
  mayUpload(
    archiveId: string,
    ref: TransferRef,
    serverId: string,
  ): Promise<{ purpose: string; taskId: string } | undefined> {
    return sqlOne<{ purpose: string; taskId: string }>(
      this.db,
      `SELECT a.purpose, (SELECT sa.task_id FROM step_attempts sa WHERE sa.id = $3) AS "taskId"
         FROM archives a
        WHERE a.id = $1 AND a.state = 'reserved' AND a.server_id = $5 AND ${ATTEMPT_NAMES_ARCHIVE}`,
      [archiveId, ref.stepId, ref.attemptId, ref.epoch, serverId],
    );
  }

  /**
   * Records a complete upload, checking the upload rule again in the same statement: an attempt
   * that lost its epoch while it was uploading does not get its archive stored.
   */
  async markStored(
    archiveId: string,
    ref: TransferRef,
    serverId: string,
    stored: { sha256: string; sizeBytes: string },
  ): Promise<boolean> {
    const rows = await sqlRows<{ id: string }>(
      this.db,
      `UPDATE archives a SET state = 'stored', sha256 = $6, size_bytes = $7::bigint, stored_at = now()
        WHERE a.id = $1 AND a.state = 'reserved' AND a.server_id = $5 AND ${ATTEMPT_NAMES_ARCHIVE}
        RETURNING a.id`,
      [archiveId, ref.stepId, ref.attemptId, ref.epoch, serverId, stored.sha256, stored.sizeBytes],
    );
    return rows.length === 1;
  }

  /**
   * The stored archive the caller's attempt may download (any server's, if its step names it), with
   * the task of that attempt.
   */
  mayDownload(
    archiveId: string,
    ref: TransferRef,
    serverId: string,
  ): Promise<(ArchiveInfo & { taskId: string }) | undefined> {
    return sqlOne<ArchiveInfo & { taskId: string }>(
      this.db,
      `SELECT ${INFO_COLUMNS}, (SELECT sa.task_id FROM step_attempts sa WHERE sa.id = $3) AS "taskId"
         FROM archives a WHERE a.id = $1 AND a.state = 'stored' AND ${ATTEMPT_NAMES_ARCHIVE}`,
      [archiveId, ref.stepId, ref.attemptId, ref.epoch, serverId],
    );
  }

  async markManyDeleted(archiveIds: readonly string[]): Promise<void> {
    await sqlRows(this.db, `UPDATE archives SET state = 'deleted' WHERE id = ANY($1::uuid[]) RETURNING id`, [
      archiveIds,
    ]);
  }

  async markDeleted(archiveId: string): Promise<void> {
    await sqlRows(this.db, `UPDATE archives SET state = 'deleted' WHERE id = $1 RETURNING id`, [archiveId]);
  }
}
