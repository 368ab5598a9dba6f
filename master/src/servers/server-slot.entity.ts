import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One step slot of a server. A server with N slots has exactly N rows, and a row holds at most one
 * attempt (or one task, for a task that reserves its servers for an offline window): so the
 * database itself guarantees that no more than N steps run on a server at once.
 */
@Entity('server_slots')
export class ServerSlotEntity {
  @PrimaryColumn('uuid', { name: 'server_id' })
  serverId!: string;

  @PrimaryColumn('int', { name: 'slot_no' })
  slotNo!: number;

  @Index('uq_server_slots_attempt', { unique: true, where: 'attempt_id IS NOT NULL' })
  @Column('uuid', { name: 'attempt_id', nullable: true })
  attemptId!: string | null;

  /** A task that holds this slot for its whole window; its steps on this server run in it. */
  @Column('uuid', { name: 'task_id', nullable: true })
  taskId!: string | null;

  @Column('timestamptz', { name: 'taken_at', nullable: true })
  takenAt!: Date | null;
}
