import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** The owner of sites. API tokens may act for one client, seeing only its sites. */
@Entity('clients')
export class ClientEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('uq_clients_name', { unique: true })
  @Column('varchar', { length: 63 })
  name!: string;

  @Column('varchar', { length: 254, nullable: true })
  email!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
