import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One log line of a task: from a step's process (stdout, stderr), the agent, or the master itself. */
@Entity('task_logs')
@Index('idx_task_logs_task', ['taskId', 'id'])
// A resent line (after a reconnect) has the same attempt and sequence number and is dropped.
@Index('uq_task_logs_attempt_seq', ['attemptId', 'seq'], { unique: true, where: 'attempt_id IS NOT NULL' })
export class TaskLogEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  @Column('uuid', { name: 'task_id' })
  taskId!: string;

  @Column('uuid', { name: 'step_id', nullable: true })
  stepId!: string | null;

  @Column('uuid', { name: 'attempt_id', nullable: true })
  attemptId!: string | null;

  @Column('bigint', { nullable: true })
  seq!: string | null;

  /** "stdout", "stderr", "agent" or "master". */
  @Column('varchar', { length: 8 })
  stream!: string;

  @Column('text')
  text!: string;

  @Column('timestamptz', { default: () => 'now()' })
  at!: Date;
}
