import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One master-side effect of a task's workflow (a registry write, or a read the workflow decided on),
 * numbered in the order the workflow asked for them, with its JSON result. A replay after a master
 * restart returns the result instead of running the effect again (TaskContext.record).
 */
@Entity('task_records')
export class TaskRecordEntity {
  @PrimaryColumn('uuid', { name: 'task_id' })
  taskId!: string;

  @PrimaryColumn('int')
  seq!: number;

  @Column('varchar', { length: 64 })
  name!: string;

  @Column('jsonb', { nullable: true })
  output!: unknown;

  @Column('timestamptz', { name: 'recorded_at', default: () => 'now()' })
  recordedAt!: Date;
}
