import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A backup of a site: an archive in the store with its manifest (sizes, sha256, packages, schema). */
@Entity('backups')
export class BackupEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('idx_backups_site')
  @Column('uuid', { name: 'site_id' })
  siteId!: string;

  /** The domain at backup time; the site row may be gone (a delete keeps its last backup). */
  @Column('varchar', { length: 253 })
  domain!: string;

  /** One backup per archive: a task that records its backup again after a restart finds it. */
  @Index('uq_backups_archive', { unique: true })
  @Column('uuid', { name: 'archive_id' })
  archiveId!: string;

  /**
   * The database dump, an archive of its own made by the db server's agent; null for the backups
   * from before, whose site archive holds it as database.sql.
   */
  @Column('uuid', { name: 'database_archive_id', nullable: true })
  databaseArchiveId!: string | null;

  @Column('uuid', { name: 'task_id', nullable: true })
  taskId!: string | null;

  @Column('varchar', { length: 32, default: 'manual' })
  reason!: string;

  @Column('jsonb')
  manifest!: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** When a restore test (site.backup-verify) last restored it and the copy answered; null: never. */
  @Column('timestamptz', { name: 'verified_at', nullable: true })
  verifiedAt!: Date | null;

  /** When a restore test last failed on it (a damaged archive, a copy that did not answer). */
  @Column('timestamptz', { name: 'verify_failed_at', nullable: true })
  verifyFailedAt!: Date | null;
}
