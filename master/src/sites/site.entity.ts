import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { DeployHook } from '../../../shared/src/deploy-hooks.js';
import type { SiteStatus } from '../../../shared/src/site-actions.js';

export type { SiteStatus };

/** A domain with its site directory, its database and its vhost. */
@Entity('sites')
export class SiteEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('uq_sites_domain', { unique: true })
  @Column('varchar', { length: 253 })
  domain!: string;

  @Index('idx_sites_platform')
  @Column('uuid', { name: 'platform_id' })
  platformId!: string;

  @Index('idx_sites_client')
  @Column('uuid', { name: 'client_id', nullable: true })
  clientId!: string | null;

  @Column('uuid', { name: 'db_server_id' })
  dbServerId!: string;

  /** How the site's web server reaches its database server. */
  @Column('varchar', { name: 'db_host', length: 253, default: '127.0.0.1' })
  dbHost!: string;

  @Column('int', { name: 'db_port', default: 3306 })
  dbPort!: number;

  @Column('varchar', { name: 'db_name', length: 64 })
  dbName!: string;

  @Column('varchar', { name: 'db_user', length: 32 })
  dbUser!: string;

  /** The database password, encrypted with the master's key (AES-256-GCM); never logged. */
  @Column('text', { name: 'db_password_encrypted' })
  dbPasswordEncrypted!: string;

  /** Drupal's hash_salt, encrypted like the password: settings are regenerated, the salt must not change. */
  @Column('text', { name: 'hash_salt_encrypted', nullable: true })
  hashSaltEncrypted!: string | null;

  @Column('varchar', { length: 64, default: 'standard' })
  profile!: string;

  @Column('varchar', { length: 16, default: 'installing' })
  status!: SiteStatus;

  /**
   * The platform the site left for one on another server: the old server keeps its copy, and its
   * vhost passes requests on, until the site is released from it (site.release-old).
   */
  @Column('uuid', { name: 'previous_platform_id', nullable: true })
  previousPlatformId!: string | null;

  /** When the master releases the site from its previous server by itself. */
  @Column('timestamptz', { name: 'release_old_after', nullable: true })
  releaseOldAfter!: Date | null;

  @Column('timestamptz', { name: 'verified_at', nullable: true })
  verifiedAt!: Date | null;

  /** Drupal's cron runs every this many minutes while the site is enabled (0: never on its own). */
  @Column('int', { name: 'cron_every_minutes', default: 60 })
  cronEveryMinutes!: number;

  /** The site's own deploy hooks, in order; null: its platform's. */
  @Column('jsonb', { name: 'deploy_hooks', nullable: true })
  deployHooks!: DeployHook[] | null;

  /** The site's own repository (its modules, themes, config sync directory), checked out in its directory. */
  @Column('varchar', { name: 'repository_url', length: 500, nullable: true })
  repositoryUrl!: string | null;

  /** The ref of its repository last deployed (or installed), and the commit it named then. */
  @Column('varchar', { name: 'code_ref', length: 200, nullable: true })
  codeRef!: string | null;

  @Column('varchar', { name: 'code_commit', length: 64, nullable: true })
  codeCommit!: string | null;

  /** The SSH key its repository is read with, sealed with the master's SecretBox; never shown. */
  @Column('text', { name: 'repository_key_encrypted', nullable: true })
  repositoryKeyEncrypted!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
