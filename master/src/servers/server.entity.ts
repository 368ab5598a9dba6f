import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { ServerRole } from '../../../shared/src/server-roles.js';
import type { ServiceInfo } from '../../../shared/src/steps.js';

/** A host running `berth agent`. Its agent enrolls once, then dials in with its client certificate. */
@Entity('servers')
export class ServerEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('uq_servers_name', { unique: true })
  @Column('varchar', { length: 253 })
  name!: string;

  @Column('uuid', { name: 'cluster_id', nullable: true })
  clusterId!: string | null;

  /** How many steps may run on this server at once; the rows of server_slots enforce it. */
  @Column('int', { default: 1 })
  slots!: number;

  /** The services the last probe found (http, db, php, tools). */
  @Column('jsonb', { default: () => "'[]'" })
  services!: ServiceInfo[];

  @Column('varchar', { name: 'agent_version', length: 64, nullable: true })
  agentVersion!: string | null;

  @Column('varchar', { length: 253, nullable: true })
  hostname!: string | null;

  /**
   * The IP address the other servers reach it at, as its agent reports it (hello, verify): a db
   * server's sites connect to it, a web server's database users are granted from it.
   */
  @Column('varchar', { length: 45, nullable: true })
  address!: string | null;

  /** What it offers to sites (http, db), as its agent reports it. */
  @Column('jsonb', { default: () => "'[]'" })
  roles!: ServerRole[];

  /** sha256 of the DER of the certificate the agent holds now; older certificates are refused. */
  @Column('varchar', { name: 'certificate_sha256', length: 64, nullable: true })
  certificateSha256!: string | null;

  @Column('timestamptz', { name: 'certificate_expires_at', nullable: true })
  certificateExpiresAt!: Date | null;

  @Column('timestamptz', { name: 'enrolled_at', nullable: true })
  enrolledAt!: Date | null;

  @Column('timestamptz', { name: 'last_seen_at', nullable: true })
  lastSeenAt!: Date | null;

  @Column('timestamptz', { name: 'verified_at', nullable: true })
  verifiedAt!: Date | null;

  /**
   * A head of a cluster that a task went on without (--without-head): since when. Site tasks leave
   * it out until `cluster sync` brought its links, vhosts and settings up to date.
   */
  @Column('timestamptz', { name: 'stale_since', nullable: true })
  staleSince!: Date | null;

  /**
   * The IANA time zone its agent reports (hello): backup windows and schedules of its sites are
   * read in it, as the operator of that server reads "02:00". Null until the agent said: UTC.
   */
  @Column('varchar', { name: 'time_zone', length: 64, nullable: true })
  timeZone!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
