import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { StepFailure } from '../../../shared/src/errors.js';
import type { StepState } from '../../../shared/src/tasks.js';

/**
 * One step of a task, numbered in the order the task's workflow asked for it. The number is what
 * lets a restarted master replay a workflow: a step already done returns its recorded output.
 */
@Entity('task_steps')
@Index('uq_task_steps_seq', ['taskId', 'seq'], { unique: true })
export class TaskStepEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'task_id' })
  taskId!: string;

  @Column('int')
  seq!: number;

  @Index('idx_task_steps_server')
  @Column('uuid', { name: 'server_id' })
  serverId!: string;

  @Column('varchar', { length: 64 })
  name!: string;

  /** Parameters as sent to the agent; secrets are never stored here. */
  @Column('jsonb', { default: () => "'{}'" })
  params!: Record<string, unknown>;

  @Column('varchar', { length: 16, default: 'pending' })
  state!: StepState;

  @Column('jsonb', { nullable: true })
  output!: unknown;

  @Column('jsonb', { nullable: true })
  failure!: StepFailure | null;

  @Column('int', { name: 'timeout_ms' })
  timeoutMs!: number;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;
}
