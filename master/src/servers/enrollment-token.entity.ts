import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A one-time token that lets an agent enroll as a server. Only the token's sha256 is stored. */
@Entity('enrollment_tokens')
export class EnrollmentTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('idx_enrollment_tokens_server')
  @Column('uuid', { name: 'server_id' })
  serverId!: string;

  @Index('uq_enrollment_tokens_hash', { unique: true })
  @Column('varchar', { name: 'token_sha256', length: 64 })
  tokenSha256!: string;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;

  @Column('timestamptz', { name: 'used_at', nullable: true })
  usedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
