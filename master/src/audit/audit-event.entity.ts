import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { TokenRole } from '../auth/api-token.entity.js';

/**
 * One change asked of the REST API (a POST, PUT, PATCH or DELETE), whatever its outcome: who asked
 * (the token as it was then; nothing for a request without a valid token), what and on which target,
 * from where, and how it ended. Append-only (see AuditRepository).
 */
@Entity('audit_events')
// The listing is newest first by (at, id), with or without a filter: a page is a range of it read
// backwards from the cursor.
@Index('idx_audit_events_at', ['at', 'id'])
export class AuditEventEntity {
  /** Increasing in the order the events were written; ties of `at` are broken by it. */
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  /** When the request arrived. */
  @Column('timestamptz')
  at!: Date;

  /** The API token (no foreign key: the record outlives anything done to the token). */
  @Column('uuid', { name: 'token_id', nullable: true })
  tokenId!: string | null;

  @Column('varchar', { name: 'token_name', length: 63, nullable: true })
  tokenName!: string | null;

  @Column('varchar', { length: 16, nullable: true })
  role!: TokenRole | null;

  /** A client token's client. */
  @Column('uuid', { name: 'client_id', nullable: true })
  clientId!: string | null;

  @Column('varchar', { length: 8 })
  method!: string;

  /** The route's pattern, e.g. /api/sites/:domain/backup; null when no route matched. */
  @Column('varchar', { length: 255, nullable: true })
  route!: string | null;

  /** The path as requested, without its query. */
  @Column('varchar', { length: 2048 })
  path!: string;

  /** The route's parameters, e.g. { "domain": "a.example" }. */
  @Column('jsonb', { default: () => "'{}'" })
  target!: Record<string, string>;

  /** The allow-listed fields of the query and body (never the body itself: it may hold secrets). */
  @Column('jsonb', { nullable: true })
  summary!: Record<string, unknown> | null;

  @Column('varchar', { length: 64, nullable: true })
  address!: string | null;

  /** The HTTP status sent; null when the caller went away before an answer. */
  @Column('smallint', { nullable: true })
  status!: number | null;

  /** The `code` of an error answer (AUTH_MISSING_TOKEN, SITE_NOT_FOUND, ...). */
  @Column('varchar', { name: 'error_code', length: 64, nullable: true })
  errorCode!: string | null;

  /** The task the request created, when its answer is one (or holds one as `task`). */
  @Column('uuid', { name: 'task_id', nullable: true })
  taskId!: string | null;

  @Column('integer', { name: 'duration_ms' })
  durationMs!: number;
}
