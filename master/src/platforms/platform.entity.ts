import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type PlatformStatus = 'new' | 'verified' | 'failed' | 'deleted';

/** One codebase at one build, read-only on every web server that serves it. */
@Entity('platforms')
export class PlatformEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('uq_platforms_name', { unique: true })
  @Column('varchar', { length: 63 })
  name!: string;

  /** The web server that holds it (or one head of its cluster). */
  @Index('idx_platforms_server')
  @Column('uuid', { name: 'server_id' })
  serverId!: string;

  @Column('uuid', { name: 'cluster_id', nullable: true })
  clusterId!: string | null;

  @Column('varchar', { length: 1024 })
  path!: string;

  /** The document root inside the codebase ("web" for composer layouts, "" for the root). */
  @Column('varchar', { name: 'docroot', length: 255, default: '' })
  docroot!: string;

  @Column('varchar', { name: 'core_version', length: 64, nullable: true })
  coreVersion!: string | null;

  @Column('varchar', { length: 16, default: 'new' })
  status!: PlatformStatus;

  /** A locked platform takes no new sites. */
  @Column('boolean', { default: false })
  locked!: boolean;

  @Column('timestamptz', { name: 'verified_at', nullable: true })
  verifiedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
