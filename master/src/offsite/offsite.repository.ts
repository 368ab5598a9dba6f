import type { DataSource } from 'typeorm';
import { isUuid } from '../../../shared/src/validation.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import type { OffsiteCopyState } from './offsite-copy.entity.js';

export interface OffsiteTargetRow {
  id: string;
  name: string;
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string;
  pathStyle: boolean;
  accessKeyId: string;
  secretEncrypted: string;
  createdAt: Date;
}

export type NewOffsiteTarget = Omit<OffsiteTargetRow, 'id' | 'createdAt'>;

/** A target with what it holds, for people. */
export interface OffsiteTargetUsage {
  copied: number;
  pending: number;
  failed: number;
  /** Bytes of the copied objects. */
  bytes: number;
  /** The policies that name it (their scope keys: global, client:<id>, site:<id>). */
  policies: string[];
}

/** A claimed copy with what carrying it out needs: its target, its archive as stored. */
export interface ClaimedCopy {
  id: string;
  state: Extract<OffsiteCopyState, 'pending' | 'removing'>;
  attempts: number;
  archiveId: string;
  objectKey: string;
  target: OffsiteTargetRow;
  /** The archive as the store has it: null when it is not stored any more. */
  archive: { sha256: string; bytes: number } | null;
  /** Whose backup it is, for the notification of a copy given up on. */
  domain: string | null;
  clientId: string | null;
}

/** An archive's copy as the backup views and a fetch back read it. */
export interface CopyOfArchive {
  archiveId: string;
  targetId: string;
  targetName: string;
  state: OffsiteCopyState;
  objectKey: string;
  copiedAt: Date | null;
  lastError: string | null;
}

const TARGET_COLUMNS = `t.id, t.name, t.endpoint, t.region, t.bucket, t.prefix, t.path_style AS "pathStyle",
  t.access_key_id AS "accessKeyId", t.secret_encrypted AS "secretEncrypted", t.created_at AS "createdAt"`;

/** The off-site targets and the copies in them; every claim and settle is one conditional statement. */
export class OffsiteRepository {
  constructor(private readonly db: DataSource) {}

  async createTarget(target: NewOffsiteTarget): Promise<OffsiteTargetRow> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      `INSERT INTO offsite_targets (name, endpoint, region, bucket, prefix, path_style, access_key_id, secret_encrypted)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [
        target.name,
        target.endpoint,
        target.region,
        target.bucket,
        target.prefix,
        target.pathStyle,
        target.accessKeyId,
        target.secretEncrypted,
      ],
    );
    return (await this.findTarget(row!.id))!;
  }

  /** A target by name, or by id. */
  findTarget(nameOrId: string): Promise<OffsiteTargetRow | undefined> {
    return sqlOne<OffsiteTargetRow>(
      this.db,
      `SELECT ${TARGET_COLUMNS} FROM offsite_targets t WHERE t.name = $1 OR ($2::uuid IS NOT NULL AND t.id = $2::uuid)`,
      [nameOrId, isUuid(nameOrId) ? nameOrId : null],
    );
  }

  listTargets(): Promise<OffsiteTargetRow[]> {
    return sqlRows<OffsiteTargetRow>(
      this.db,
      `SELECT ${TARGET_COLUMNS} FROM offsite_targets t ORDER BY t.name`,
    );
  }

  /** What each target holds and which policies name it. */
  async usage(): Promise<Map<string, OffsiteTargetUsage>> {
    const [copies, policies] = await Promise.all([
      sqlRows<{ targetId: string; state: OffsiteCopyState; count: number; bytes: string | null }>(
        this.db,
        `SELECT target_id AS "targetId", state, count(*)::int AS count, sum(bytes)::text AS bytes
           FROM offsite_copies GROUP BY target_id, state`,
      ),
      sqlRows<{ targetId: string; scopeKey: string }>(
        this.db,
        `SELECT offsite_target_id AS "targetId", scope_key AS "scopeKey" FROM backup_policies
          WHERE offsite_target_id IS NOT NULL ORDER BY scope_key`,
      ),
    ]);
    const usage = new Map<string, OffsiteTargetUsage>();
    const of = (id: string) => {
      let known = usage.get(id);
      if (!known) usage.set(id, (known = { copied: 0, pending: 0, failed: 0, bytes: 0, policies: [] }));
      return known;
    };
    for (const row of copies) {
      const known = of(row.targetId);
      if (row.state === 'copied') {
        known.copied += row.count;
        known.bytes += Number(row.bytes ?? 0);
      } else if (row.state === 'pending') known.pending += row.count;
      else if (row.state === 'failed') known.failed += row.count;
    }
    for (const row of policies) of(row.targetId).policies.push(row.scopeKey);
    return usage;
  }

  /**
   * Removes a target and its copy rows (the objects stay in the bucket), unless a policy names it:
   * 'named' then, and nothing changes. One transaction, so a policy set meanwhile is seen.
   */
  async removeTarget(id: string): Promise<'removed' | 'named'> {
    return this.db.transaction(async (manager) => {
      const named = await sqlOne<{ id: string }>(
        manager,
        `SELECT id FROM backup_policies WHERE offsite_target_id = $1 LIMIT 1 FOR UPDATE`,
        [id],
      );
      if (named) return 'named';
      await sqlRows(manager, `DELETE FROM offsite_copies WHERE target_id = $1 RETURNING id`, [id]);
      await sqlRows(manager, `DELETE FROM offsite_targets WHERE id = $1 RETURNING id`, [id]);
      return 'removed';
    });
  }

  /**
   * Makes the copies of a backup's archives (files, dump) in the target its site's policy names —
   * the most specific policy, as for its schedule: one of a site that names none means no copy.
   * Once: recording a backup again (a replayed task) adds nothing. Returns how many were new.
   */
  async enqueueBackup(backupId: string): Promise<number> {
    const rows = await sqlRows<{ id: string }>(
      this.db,
      `INSERT INTO offsite_copies (archive_id, target_id, backup_id, object_key, next_attempt_at)
       SELECT part.id, t.id, b.id, t.prefix || b.domain || '/' || b.id || '/' || part.id, now()
         FROM backups b
         JOIN sites s ON s.id = b.site_id
         CROSS JOIN LATERAL (
           SELECT p.offsite_target_id FROM backup_policies p
            WHERE p.scope_key IN ('site:' || s.id, 'client:' || s.client_id, 'global')
            ORDER BY CASE p.scope WHEN 'site' THEN 0 WHEN 'client' THEN 1 ELSE 2 END
            LIMIT 1) policy
         JOIN offsite_targets t ON t.id = policy.offsite_target_id
         CROSS JOIN LATERAL unnest(ARRAY[b.archive_id, b.database_archive_id]) AS part(id)
        WHERE b.id = $1 AND part.id IS NOT NULL
       ON CONFLICT (archive_id, target_id) DO NOTHING
       RETURNING id`,
      [backupId],
    );
    return rows.length;
  }

  /**
   * Copies whose archive left the store (retention, a deleted backup) are to be removed from their
   * bucket. A copy claimed right now keeps its lease (GREATEST): its removal waits for the upload.
   */
  async markRemoving(): Promise<number> {
    const rows = await sqlRows<{ id: string }>(
      this.db,
      `UPDATE offsite_copies c
          SET state = 'removing', attempts = 0, last_error = NULL,
              next_attempt_at = GREATEST(c.next_attempt_at, now())
         FROM archives a
        WHERE a.id = c.archive_id AND a.state = 'deleted' AND c.state IN ('pending', 'copied', 'failed')
        RETURNING c.id`,
    );
    return rows.length;
  }

  /**
   * Claims due copies and removals: counts the attempt and moves next_attempt_at on by `leaseMs`
   * in the same statement, so another master's worker neither sees them (SKIP LOCKED) nor finds
   * them due afterwards; a master that dies mid-upload leaves them to be tried again after the lease.
   */
  async claimDue(limit: number, leaseMs: number): Promise<ClaimedCopy[]> {
    const rows = await sqlRows<
      {
        id: string;
        state: 'pending' | 'removing';
        attempts: number;
        archiveId: string;
        objectKey: string;
        archiveState: string | null;
        sha256: string | null;
        sizeBytes: string | null;
        domain: string | null;
        clientId: string | null;
      } & { [K in keyof OffsiteTargetRow as `t_${K}`]: OffsiteTargetRow[K] }
    >(
      this.db,
      `WITH due AS (
         SELECT id FROM offsite_copies
          WHERE state IN ('pending', 'removing') AND next_attempt_at <= now()
          ORDER BY next_attempt_at LIMIT $1
          FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE offsite_copies c
            SET attempts = c.attempts + 1,
                next_attempt_at = now() + $2::double precision * interval '1 millisecond'
           FROM due WHERE c.id = due.id
         RETURNING c.*
       )
       SELECT c.id, c.state, c.attempts, c.archive_id AS "archiveId", c.object_key AS "objectKey",
              a.state AS "archiveState", a.sha256, a.size_bytes::text AS "sizeBytes",
              b.domain, s.client_id AS "clientId",
              t.id AS "t_id", t.name AS "t_name", t.endpoint AS "t_endpoint", t.region AS "t_region",
              t.bucket AS "t_bucket", t.prefix AS "t_prefix", t.path_style AS "t_pathStyle",
              t.access_key_id AS "t_accessKeyId", t.secret_encrypted AS "t_secretEncrypted",
              t.created_at AS "t_createdAt"
         FROM claimed c
         JOIN offsite_targets t ON t.id = c.target_id
         LEFT JOIN archives a ON a.id = c.archive_id
         LEFT JOIN backups b ON b.id = c.backup_id
         LEFT JOIN sites s ON s.id = b.site_id`,
      [limit, leaseMs],
    );
    return rows.map((row) => ({
      id: row.id,
      state: row.state,
      attempts: row.attempts,
      archiveId: row.archiveId,
      objectKey: row.objectKey,
      target: {
        id: row.t_id,
        name: row.t_name,
        endpoint: row.t_endpoint,
        region: row.t_region,
        bucket: row.t_bucket,
        prefix: row.t_prefix,
        pathStyle: row.t_pathStyle,
        accessKeyId: row.t_accessKeyId,
        secretEncrypted: row.t_secretEncrypted,
        createdAt: new Date(row.t_createdAt),
      },
      archive:
        row.archiveState === 'stored' && row.sha256 !== null
          ? { sha256: row.sha256, bytes: Number(row.sizeBytes ?? 0) }
          : null,
      domain: row.domain,
      clientId: row.clientId,
    }));
  }

  /** Records an upload read back whole; only the worker holding this attempt's claim may. */
  async copied(id: string, attempts: number, digest: { sha256: string; bytes: number }): Promise<boolean> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      `UPDATE offsite_copies SET state = 'copied', sha256 = $3, bytes = $4, copied_at = now(),
              next_attempt_at = now(), last_error = NULL
        WHERE id = $1 AND attempts = $2 AND state = 'pending' RETURNING id`,
      [id, attempts, digest.sha256, digest.bytes],
    );
    return row !== undefined;
  }

  /** A removal done (or a copy with nothing left to copy): the row goes. */
  async drop(id: string, attempts: number): Promise<void> {
    await sqlRows(this.db, `DELETE FROM offsite_copies WHERE id = $1 AND attempts = $2 RETURNING id`, [
      id,
      attempts,
    ]);
  }

  /**
   * Records a failed attempt: tried again after `retryInMs`, or given up on (null: a copy becomes
   * 'failed'; a removal stays due, much later, since its object must not be left behind). Returns
   * whether this call gave the copy up.
   */
  async attemptFailed(
    id: string,
    attempts: number,
    error: string,
    retryInMs: number | null,
  ): Promise<boolean> {
    const row = await sqlOne<{ state: OffsiteCopyState }>(
      this.db,
      `UPDATE offsite_copies
          SET last_error = $3,
              state = CASE WHEN $4::double precision IS NULL AND state = 'pending' THEN 'failed' ELSE state END,
              next_attempt_at = now() + COALESCE($4::double precision, 86400000) * interval '1 millisecond'
        WHERE id = $1 AND attempts = $2 AND state IN ('pending', 'removing') RETURNING state`,
      [id, attempts, error.slice(0, 2000), retryInMs],
    );
    return row?.state === 'failed';
  }

  /** The copies of these archives, in every target. */
  async copiesOf(archiveIds: readonly string[]): Promise<CopyOfArchive[]> {
    if (archiveIds.length === 0) return [];
    return sqlRows<CopyOfArchive>(
      this.db,
      `SELECT c.archive_id AS "archiveId", c.target_id AS "targetId", t.name AS "targetName", c.state,
              c.object_key AS "objectKey", c.copied_at AS "copiedAt", c.last_error AS "lastError"
         FROM offsite_copies c JOIN offsite_targets t ON t.id = c.target_id
        WHERE c.archive_id = ANY($1::uuid[])
        ORDER BY t.name`,
      [archiveIds],
    );
  }
}
