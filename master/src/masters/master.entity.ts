import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A master process on this registry, by its name (BERTH_MASTER_ID). The row says it is alive
 * (`seen_at`, renewed every third of a lease) and which process holds the name now (`instance`):
 * a master started again under the same name takes the row over, and the older process, finding
 * its instance gone, stops.
 */
@Entity('masters')
export class MasterEntity {
  @PrimaryColumn('varchar', { length: 64 })
  id!: string;

  @Column('uuid')
  instance!: string;

  /**
   * Its host and data directory ("host:/var/lib/berth/master"). The data directory is locked to one
   * process, so a process with the same home is the same master started again: it takes its name
   * back at once, where a process from elsewhere must wait until the name's holder is silent.
   */
  @Column('varchar', { length: 512 })
  home!: string;

  /** Where its REST API and its gRPC port listen, for people and for `berth master list`. */
  @Column('varchar', { name: 'http_url', length: 255, nullable: true })
  httpUrl!: string | null;

  @Column('int', { name: 'grpc_port', nullable: true })
  grpcPort!: number | null;

  @Column('timestamptz', { name: 'started_at' })
  startedAt!: Date;

  @Column('timestamptz', { name: 'seen_at' })
  seenAt!: Date;
}

/**
 * Work that runs once across all masters (schedules, the lease sweep, releases): held by one
 * master at a time for a lease, renewed by it, taken by another when it lapses.
 */
@Entity('master_leases')
export class MasterLeaseEntity {
  @PrimaryColumn('varchar', { length: 64 })
  name!: string;

  @Column('varchar', { length: 64 })
  holder!: string;

  @Column('uuid')
  instance!: string;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;
}

/**
 * Which master holds each agent's control stream: a step for that server is sent by that master,
 * whichever master runs its task. A row whose master is no longer alive counts for nothing.
 */
@Entity('agent_connections')
export class AgentConnectionEntity {
  @PrimaryColumn('uuid', { name: 'server_id' })
  serverId!: string;

  @Column('varchar', { name: 'master_id', length: 64 })
  masterId!: string;

  @Column('uuid')
  instance!: string;

  @Column('timestamptz', { name: 'connected_at' })
  connectedAt!: Date;
}
