import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { NotificationEvent, NotificationKind } from '../../../shared/src/api.js';

/**
 * Where notifications go: a webhook URL or an email address, for the admins (client_id null: every
 * event) or for one client (only the events of its own sites and tasks).
 */
@Entity('notification_targets')
export class NotificationTargetEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('varchar', { length: 16 })
  kind!: NotificationKind;

  /** The webhook's URL (http or https); null for an email target. */
  @Column('text', { nullable: true })
  url!: string | null;

  /** The email address; null for a webhook. */
  @Column('varchar', { length: 320, nullable: true })
  address!: string | null;

  /** The client whose events it hears; null: the admins', every event. */
  @Index('idx_notification_targets_client')
  @Column('uuid', { name: 'client_id', nullable: true })
  clientId!: string | null;

  /** The events it wants; null: all of them (and those added later). */
  @Column('jsonb', { nullable: true })
  events!: NotificationEvent[] | null;

  /** The webhook's HMAC key, encrypted with the master's SecretBox like sites' passwords; never logged. */
  @Column('text', { name: 'secret_encrypted', nullable: true })
  secretEncrypted!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
