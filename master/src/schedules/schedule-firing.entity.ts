import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** backup and verify: a site's policy's backups and restore tests; cron: its Drupal cron. */
export type FiringKind = 'backup' | 'verify' | 'cron' | 'store-gc';
export type FiringState = 'waiting' | 'started' | 'missed';

/**
 * One due time of a schedule for one target: the row is the firing, so a due time starts one task
 * however many masters see it (uq_schedule_firings_due) and whichever master was up at the time.
 */
@Entity('schedule_firings')
@Index('uq_schedule_firings_due', ['kind', 'targetId', 'dueAt'], { unique: true })
@Index('idx_schedule_firings_waiting', ['opensAt'], { where: "state = 'waiting'" })
export class ScheduleFiringEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('varchar', { length: 32 })
  kind!: FiringKind;

  /** The site backed up or whose cron runs; the nil uuid for the store's own jobs. */
  @Column('uuid', { name: 'target_id' })
  targetId!: string;

  @Column('uuid', { name: 'policy_id', nullable: true })
  policyId!: string | null;

  @Column('timestamptz', { name: 'due_at' })
  dueAt!: Date;

  /** Its window opens (the due time when it is inside the window). */
  @Column('timestamptz', { name: 'opens_at' })
  opensAt!: Date;

  /** Its window closes or the schedule is due again: still waiting then, it is missed. */
  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;

  @Column('varchar', { length: 16, default: 'waiting' })
  state!: FiringState;

  @Index('idx_schedule_firings_task')
  @Column('uuid', { name: 'task_id', nullable: true })
  taskId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** Started or missed at. */
  @Column('timestamptz', { name: 'settled_at', nullable: true })
  settledAt!: Date | null;
}
