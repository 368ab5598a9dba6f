import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { PackageType } from '../../../shared/src/api.js';

export type { PackageType };

/** A module, theme, profile or core, by machine name. Its releases are per platform and per site. */
@Entity('packages')
@Index('uq_packages_name_type', ['name', 'type'], { unique: true })
export class PackageEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('varchar', { length: 128 })
  name!: string;

  @Column('varchar', { length: 16 })
  type!: PackageType;

  @Column('varchar', { name: 'title', length: 255, nullable: true })
  title!: string | null;
}
