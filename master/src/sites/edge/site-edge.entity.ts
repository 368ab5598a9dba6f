import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { HttpsMode } from '../../../../shared/src/site-edge.js';

/**
 * Another name of a site: served by it, or answered with a 301 to its domain. The name is the key:
 * one name belongs to one site (a site's own domain is checked against the sites table).
 */
@Entity('site_aliases')
export class SiteAliasEntity {
  @PrimaryColumn('varchar', { length: 253 })
  name!: string;

  @Index('idx_site_aliases_site')
  @Column('uuid', { name: 'site_id' })
  siteId!: string;

  /** Answered with a permanent redirect to the site's domain instead of served. */
  @Column('boolean', { default: false })
  redirect!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/** A site's HTTPS and PHP pool settings (shared/src/site-edge.ts); no row: plain HTTP, shared pool. */
@Entity('site_edges')
export class SiteEdgeEntity {
  @PrimaryColumn('uuid', { name: 'site_id' })
  siteId!: string;

  /** null: HTTPS off. */
  @Column('varchar', { name: 'https_mode', length: 16, nullable: true })
  httpsMode!: HttpsMode | null;

  @Column('boolean', { name: 'https_redirect', default: false })
  httpsRedirect!: boolean;

  @Column('boolean', { name: 'https_hsts', default: false })
  httpsHsts!: boolean;

  /** The uid (and gid) of the site's pool user, from site_pool_uid_seq; null: the shared pool. */
  @Index('uq_site_edges_pool_uid', { unique: true })
  @Column('int', { name: 'pool_uid', nullable: true })
  poolUid!: number | null;

  @Column('jsonb', { name: 'pool_settings', default: {} })
  poolSettings!: Record<string, string>;

  /**
   * The certificate chain the operator uploaded (https mode `uploaded`), and its key sealed with the
   * SecretBox: kept so that a server the site moves to, or a new head, can be given them too.
   */
  @Column('text', { name: 'uploaded_certificate', nullable: true })
  uploadedCertificate!: string | null;

  @Column('text', { name: 'uploaded_key_encrypted', nullable: true })
  uploadedKeyEncrypted!: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/**
 * The certificate a server serves a site with. Its key never left that server's agent: each server
 * of a site (each head of a cluster) has a key and a certificate of its own.
 */
@Entity('certificates')
export class CertificateEntity {
  @PrimaryColumn('uuid', { name: 'site_id' })
  siteId!: string;

  @PrimaryColumn('uuid', { name: 'server_id' })
  serverId!: string;

  /** The names it covers (subject alternative names), the site's domain first. */
  @Column('jsonb')
  names!: string[];

  @Column('varchar', { length: 16 })
  mode!: HttpsMode;

  @Column('varchar', { length: 128 })
  serial!: string;

  @Column('varchar', { length: 500 })
  issuer!: string;

  @Column('timestamptz', { name: 'not_before' })
  notBefore!: Date;

  @Index('idx_certificates_not_after')
  @Column('timestamptz', { name: 'not_after' })
  notAfter!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/** The master's account at an ACME directory (Let's Encrypt), its key sealed with the SecretBox. */
@Entity('acme_accounts')
export class AcmeAccountEntity {
  @PrimaryColumn('varchar', { name: 'directory_url', length: 500 })
  directoryUrl!: string;

  @Column('text', { name: 'key_encrypted' })
  keyEncrypted!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
