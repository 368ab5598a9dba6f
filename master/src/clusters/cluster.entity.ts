import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A named group of web servers that serve the same platforms behind a load balancer. */
@Entity('clusters')
export class ClusterEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('uq_clusters_name', { unique: true })
  @Column('varchar', { length: 63 })
  name!: string;

  /** When its heads were last seen to share one site directory (cluster.verify); null: not yet. */
  @Column('timestamptz', { name: 'sites_shared_at', nullable: true })
  sitesSharedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
