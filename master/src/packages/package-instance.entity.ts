import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A package as one platform offers it (platform_id set) or as one site has it installed (site_id
 * set), with its version and schema version (the highest hook_update_N, or the one the site's
 * database records). Comparing a site's rows with a target platform's is the migrate check.
 */
@Entity('package_instances')
@Check('chk_package_instances_owner', '(platform_id IS NULL) <> (site_id IS NULL)')
@Index('uq_package_instances_platform', ['platformId', 'packageId'], {
  unique: true,
  where: 'platform_id IS NOT NULL',
})
@Index('uq_package_instances_site', ['siteId', 'packageId'], { unique: true, where: 'site_id IS NOT NULL' })
export class PackageInstanceEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'package_id' })
  packageId!: string;

  @Column('uuid', { name: 'platform_id', nullable: true })
  platformId!: string | null;

  @Column('uuid', { name: 'site_id', nullable: true })
  siteId!: string | null;

  @Column('varchar', { length: 64, nullable: true })
  version!: string | null;

  /** The highest hook_update_N (platform) or the installed schema (site); 0 when it has none. */
  @Column('int', { name: 'schema_version', default: 0 })
  schemaVersion!: number;

  /** A platform's hook_update_last_removed(); 0 when it has none (and always for a site). */
  @Column('int', { name: 'last_removed_schema', default: 0 })
  lastRemovedSchema!: number;

  /** A platform's post-update functions, or those a site has run; null for a site that did not say. */
  @Column('jsonb', { name: 'post_updates', nullable: true })
  postUpdates!: string[] | null;

  /** A platform's removed post-updates (hook_removed_post_updates()). */
  @Column('jsonb', { name: 'removed_post_updates', default: () => "'[]'" })
  removedPostUpdates!: string[];

  /** Relative to the platform root. */
  @Column('varchar', { length: 1024, nullable: true })
  path!: string | null;

  @Column('boolean', { default: true })
  enabled!: boolean;
}
