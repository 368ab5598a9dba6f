import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { DeliveryState, NotificationEvent } from '../../../shared/src/api.js';

/**
 * One event for one target, and every attempt to send it. The row is made once per target, event and
 * subject (the failed task, the missed firing) however many masters see the event
 * (uq_notification_deliveries_subject), and a worker claims it before sending, so it is sent once.
 */
@Entity('notification_deliveries')
@Index('uq_notification_deliveries_subject', ['targetId', 'event', 'subjectId'], { unique: true })
@Index('idx_notification_deliveries_due', ['nextAttemptAt'], { where: "state = 'pending'" })
// The delivery log is newest first by (created_at, id): a page is a range of it read backwards.
@Index('idx_notification_deliveries_created', ['createdAt', 'id'])
export class NotificationDeliveryEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'target_id' })
  targetId!: string;

  @Column('varchar', { length: 32 })
  event!: NotificationEvent;

  /** What the event is about: the task's id, the firing's id. */
  @Column('uuid', { name: 'subject_id' })
  subjectId!: string;

  /** The body sent, as JSON (the webhook's signature covers the exact bytes sent). */
  @Column('jsonb')
  payload!: Record<string, unknown>;

  @Column('int', { default: 0 })
  attempts!: number;

  @Column('varchar', { length: 16, default: 'pending' })
  state!: DeliveryState;

  @Column('text', { name: 'last_error', nullable: true })
  lastError!: string | null;

  /** When a worker may try (again); a claim moves it on by a lease, so a master that died retries later. */
  @Column('timestamptz', { name: 'next_attempt_at' })
  nextAttemptAt!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'delivered_at', nullable: true })
  deliveredAt!: Date | null;
}
