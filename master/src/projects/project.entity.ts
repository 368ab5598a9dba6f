import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Sites grouped as environments: code deployed up the list (dev, test, live), data synced down it. */
@Entity('projects')
export class ProjectEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('uq_projects_name', { unique: true })
  @Column('varchar', { length: 63 })
  name!: string;

  /** The client it belongs to (its environments' sites are that client's); null: an admin's. */
  @Column('uuid', { name: 'client_id', nullable: true })
  clientId!: string | null;

  /** The drush command that scrubs a copy synced down (shared/src/environments.ts). */
  @Column('varchar', { length: 100, default: 'sql:sanitize' })
  sanitize!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/** One environment of a project: a name, its place in the list, and its site (in one project only). */
@Entity('environments')
@Index('uq_environments_name', ['projectId', 'name'], { unique: true })
export class EnvironmentEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'project_id' })
  projectId!: string;

  @Column('varchar', { length: 32 })
  name!: string;

  /** 1 for the first (dev), counting up towards live: data is synced only to a lower one. */
  @Column('int')
  position!: number;

  @Index('uq_environments_site', { unique: true })
  @Column('uuid', { name: 'site_id' })
  siteId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
