import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { PolicyScope } from './backup-policy.js';

/**
 * When a site is backed up on its own and how many of its backups are kept. One global default,
 * one per client, one per site at most (scope_key): the most specific applies (backup-policy.ts).
 */
@Entity('backup_policies')
export class BackupPolicyEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** "global", "client:<id>" or "site:<id>": one policy per scope. */
  @Index('uq_backup_policies_scope', { unique: true })
  @Column('varchar', { name: 'scope_key', length: 80 })
  scopeKey!: string;

  @Column('varchar', { length: 16 })
  scope!: PolicyScope;

  @Column('uuid', { name: 'client_id', nullable: true })
  clientId!: string | null;

  @Column('uuid', { name: 'site_id', nullable: true })
  siteId!: string | null;

  /** Five-field cron expression in the web server's time zone; null: retention only. */
  @Column('varchar', { length: 100, nullable: true })
  schedule!: string | null;

  /** "HH:MM": a scheduled backup starts only between the two (null: any time). */
  @Column('varchar', { name: 'window_start', length: 5, nullable: true })
  windowStart!: string | null;

  @Column('varchar', { name: 'window_end', length: 5, nullable: true })
  windowEnd!: string | null;

  /**
   * Five-field cron expression: when the site's newest backup is restore-tested (site.backup-verify),
   * in the same window as the backups; null: never on its own.
   */
  @Column('varchar', { name: 'verify_schedule', length: 100, nullable: true })
  verifySchedule!: string | null;

  /** The off-site target (offsite_targets) each backup of the policy's sites is copied to; null: none. */
  @Column('uuid', { name: 'offsite_target_id', nullable: true })
  offsiteTargetId!: string | null;

  @Column('int', { name: 'keep_last', default: 7 })
  keepLast!: number;

  @Column('int', { name: 'keep_daily', default: 0 })
  keepDaily!: number;

  @Column('int', { name: 'keep_weekly', default: 0 })
  keepWeekly!: number;

  @Column('int', { name: 'keep_monthly', default: 0 })
  keepMonthly!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
