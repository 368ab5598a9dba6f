import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { AttemptState } from '../../../shared/src/tasks.js';

/**
 * One assignment of a step to its server's agent. Its epoch is the fencing token: unique and
 * increasing, carried by every message about the attempt; anything with another epoch is stale.
 */
@Entity('step_attempts')
@Index('idx_step_attempts_server_state', ['serverId', 'state'])
export class StepAttemptEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('idx_step_attempts_step')
  @Column('uuid', { name: 'step_id' })
  stepId!: string;

  @Column('uuid', { name: 'task_id' })
  taskId!: string;

  @Column('uuid', { name: 'server_id' })
  serverId!: string;

  @Column('int', { name: 'attempt_no' })
  attemptNo!: number;

  @Index('uq_step_attempts_epoch', { unique: true })
  @Column('bigint', { default: () => "nextval('attempt_epoch_seq')" })
  epoch!: string;

  @Column('varchar', { length: 16, default: 'pending' })
  state!: AttemptState;

  @Column('timestamptz', { name: 'lease_expires_at', nullable: true })
  leaseExpiresAt!: Date | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  /** A retry (RETRYABLE_STEPS) is not sent before this: its backoff. Null for a first attempt. */
  @Column('timestamptz', { name: 'not_before', nullable: true })
  notBefore!: Date | null;

  @Column('timestamptz', { name: 'assigned_at', nullable: true })
  assignedAt!: Date | null;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt!: Date | null;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;

  /** Why it failed or was lost, for a person. */
  @Column('text', { nullable: true })
  error!: string | null;
}
