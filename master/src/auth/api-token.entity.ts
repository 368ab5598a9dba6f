import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type TokenRole = 'admin' | 'client';

/** A bearer token for the REST API. Only its sha256 is stored; the token is shown once. */
@Entity('api_tokens')
// The token list is newest first by (created_at, id): a page is a range of it read backwards.
@Index('idx_api_tokens_created', ['createdAt', 'id'])
export class ApiTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('varchar', { length: 63 })
  name!: string;

  @Index('uq_api_tokens_hash', { unique: true })
  @Column('varchar', { name: 'token_sha256', length: 64 })
  tokenSha256!: string;

  @Column('varchar', { length: 16 })
  role!: TokenRole;

  /** For a client token: the only client whose sites it sees. */
  @Column('uuid', { name: 'client_id', nullable: true })
  clientId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'last_used_at', nullable: true })
  lastUsedAt!: Date | null;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt!: Date | null;
}
