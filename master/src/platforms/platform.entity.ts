import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { DeployHook } from '../../../shared/src/deploy-hooks.js';
import type { PlatformSource } from '../../../shared/src/platform-source.js';

/** building: a build task makes its codebase (it takes no site until verified). */
export const PLATFORM_STATUSES = ['new', 'building', 'verified', 'failed', 'deleted'] as const;
export type PlatformStatus = (typeof PLATFORM_STATUSES)[number];

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

  /** What Berth built it from (platform build); null for a codebase that was put there by hand. */
  @Column('jsonb', { nullable: true })
  source!: PlatformSource | null;

  /** The commit its checkout is at (a git build or pull). */
  @Column('varchar', { name: 'git_commit', length: 64, nullable: true })
  commit!: string | null;

  /** The SSH key its repository is read with, sealed with the master's SecretBox; never shown. */
  @Column('text', { name: 'deploy_key_encrypted', nullable: true })
  deployKeyEncrypted!: string | null;

  /** What runs on each site after its updates when it comes onto this platform (a site's own list wins). */
  @Column('jsonb', { name: 'deploy_hooks', default: () => "'[]'" })
  deployHooks!: DeployHook[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
