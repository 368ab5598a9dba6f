import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * pending: to be uploaded (or being: a claim holds it); copied: uploaded and read back with the
 * archive's sha256; failed: given up on after its attempts (and told); removing: its archive left
 * the store, so the object goes too, then the row.
 */
export type OffsiteCopyState = 'pending' | 'copied' | 'failed' | 'removing';

/**
 * One archive of the store in one off-site target: made once per archive and target
 * (uq_offsite_copies_archive) when its backup is recorded, claimed by one master's worker before
 * it is uploaded or removed (the same claim-and-lease as notification deliveries).
 */
@Entity('offsite_copies')
@Index('uq_offsite_copies_archive', ['archiveId', 'targetId'], { unique: true })
@Index('idx_offsite_copies_due', ['nextAttemptAt'], { where: "state IN ('pending', 'removing')" })
export class OffsiteCopyEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'archive_id' })
  archiveId!: string;

  @Column('uuid', { name: 'target_id' })
  targetId!: string;

  /** The backup the archive is part of (whose site and client a failure is told to). */
  @Column('uuid', { name: 'backup_id' })
  backupId!: string;

  /** The object's key in the target's bucket (its prefix included). */
  @Column('varchar', { name: 'object_key', length: 600 })
  objectKey!: string;

  @Column('varchar', { length: 16, default: 'pending' })
  state!: OffsiteCopyState;

  /** What was read back from the bucket once copied. */
  @Column('varchar', { length: 64, nullable: true })
  sha256!: string | null;

  @Column('bigint', { nullable: true })
  bytes!: string | null;

  @Column('int', { default: 0 })
  attempts!: number;

  @Column('text', { name: 'last_error', nullable: true })
  lastError!: string | null;

  @Column('timestamptz', { name: 'next_attempt_at' })
  nextAttemptAt!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'copied_at', nullable: true })
  copiedAt!: Date | null;
}
