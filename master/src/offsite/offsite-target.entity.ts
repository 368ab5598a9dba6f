import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * An S3-compatible bucket backups are copied to, off the master's host. A backup policy names one
 * (offsite_target_id): each backup of its sites is copied there. The secret key is sealed with the
 * master's SecretBox, like sites' database passwords.
 */
@Entity('offsite_targets')
export class OffsiteTargetEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('uq_offsite_targets_name', { unique: true })
  @Column('varchar', { length: 63 })
  name!: string;

  @Column('varchar', { length: 500 })
  endpoint!: string;

  @Column('varchar', { length: 64 })
  region!: string;

  @Column('varchar', { length: 63 })
  bucket!: string;

  /** Prepended to every object's key ("" or ending in "/"). */
  @Column('varchar', { length: 200, default: '' })
  prefix!: string;

  @Column('boolean', { name: 'path_style', default: true })
  pathStyle!: boolean;

  @Column('varchar', { name: 'access_key_id', length: 128 })
  accessKeyId!: string;

  @Column('text', { name: 'secret_encrypted' })
  secretEncrypted!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
