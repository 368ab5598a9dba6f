import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type ArchiveState = 'reserved' | 'stored' | 'deleted';

/**
 * A file in the master's store. The master reserves it for one attempt before the agent uploads;
 * it becomes "stored" only once the bytes arrived whole and their sha256 matched.
 */
@Entity('archives')
export class ArchiveEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('varchar', { length: 16, default: 'reserved' })
  state!: ArchiveState;

  /** The attempt allowed to upload it (while reserved). */
  @Index('idx_archives_attempt')
  @Column('uuid', { name: 'attempt_id', nullable: true })
  attemptId!: string | null;

  @Column('uuid', { name: 'server_id' })
  serverId!: string;

  @Column('varchar', { length: 64, nullable: true })
  sha256!: string | null;

  @Column('bigint', { name: 'size_bytes', nullable: true })
  sizeBytes!: string | null;

  /** What it holds: "backup", "transfer-check" ... */
  @Column('varchar', { length: 32 })
  purpose!: string;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'stored_at', nullable: true })
  storedAt!: Date | null;
}
