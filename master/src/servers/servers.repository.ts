import type { ServerRole } from '../../../shared/src/server-roles.js';
import { In, type DataSource } from 'typeorm';
import type { ServiceInfo } from '../../../shared/src/steps.js';
import { isUuid } from '../../../shared/src/validation.js';
import { containsPattern, splitPage } from '../infra/db/keyset.js';
import { sqlRows } from '../infra/db/sql.js';
import { ServerEntity } from './server.entity.js';

/** A page of the server list: filters, and where the previous page ended (by name, the order). */
export interface ServerPageQuery {
  /** It offers this role (its roles hold it). */
  role?: ServerRole;
  /**
   * Whether its agent is connected: its id is among `ids` (connected) or not. Which agents are
   * connected is known to the masters alive (MasterPresence), not from a column of servers.
   */
  connected?: { ids: readonly string[]; is: boolean };
  /** A piece of the name, anywhere in it (case-insensitive). */
  q?: string;
  /** The last name of the previous page: this page starts after it. */
  after?: string;
  limit: number;
}

/** Named queries over servers and their slots. */
export class ServersRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * One page of servers in name order, filtered in the query. Keyset paging (after the last name
   * seen): a server added or removed between two pages moves no other one across a page boundary.
   */
  async page(query: ServerPageQuery): Promise<{ servers: ServerEntity[]; more: boolean }> {
    const builder = this.db.getRepository(ServerEntity).createQueryBuilder('s');
    if (query.role !== undefined)
      builder.andWhere('s.roles @> CAST(:roles AS jsonb)', { roles: JSON.stringify([query.role]) });
    if (query.connected !== undefined) {
      builder.andWhere(
        query.connected.is
          ? 's.id = ANY(CAST(:connectedIds AS uuid[]))'
          : 'NOT (s.id = ANY(CAST(:connectedIds AS uuid[])))',
        { connectedIds: [...query.connected.ids] },
      );
    }
    if (query.q) builder.andWhere("s.name ILIKE :pattern ESCAPE '\\'", { pattern: containsPattern(query.q) });
    if (query.after !== undefined) builder.andWhere('s.name > :after', { after: query.after });
    const rows = await builder
      .orderBy('s.name', 'ASC')
      .limit(query.limit + 1)
      .getMany();
    const { rows: servers, more } = splitPage(rows, query.limit);
    return { servers, more };
  }

  /** Creates a server with its slot rows, in one transaction. */
  async create(input: { name: string; slots: number }): Promise<ServerEntity> {
    return this.db.transaction(async (manager) => {
      const servers = manager.getRepository(ServerEntity);
      const server = await servers.save(
        servers.create({ name: input.name, slots: input.slots, services: [] }),
      );
      await sqlRows(
        manager,
        `INSERT INTO server_slots (server_id, slot_no) SELECT $1, n FROM generate_series(0, $2 - 1) AS n RETURNING slot_no`,
        [server.id, input.slots],
      );
      return server;
    });
  }

  findByNameOrId(nameOrId: string): Promise<ServerEntity | null> {
    const repository = this.db.getRepository(ServerEntity);
    return isUuid(nameOrId)
      ? repository.findOneBy({ id: nameOrId })
      : repository.findOneBy({ name: nameOrId });
  }

  findById(id: string): Promise<ServerEntity | null> {
    return this.db.getRepository(ServerEntity).findOneBy({ id });
  }

  list(): Promise<ServerEntity[]> {
    return this.db.getRepository(ServerEntity).find({ order: { name: 'ASC' } });
  }

  /** How many slots are taken per server (by a step or held by a task). */
  async busySlots(): Promise<Map<string, number>> {
    const rows = await sqlRows<{ serverId: string; busy: number }>(
      this.db,
      `SELECT server_id AS "serverId", count(*)::int AS busy FROM server_slots
        WHERE attempt_id IS NOT NULL OR task_id IS NOT NULL GROUP BY server_id`,
    );
    return new Map(rows.map((row) => [row.serverId, row.busy]));
  }

  async recordHello(
    serverId: string,
    hello: {
      services: ServiceInfo[];
      agentVersion: string;
      hostname: string | null;
      address: string | null;
      roles: ServerRole[];
      timeZone: string | null;
    },
  ): Promise<void> {
    await this.db.getRepository(ServerEntity).update(
      { id: serverId },
      {
        services: hello.services,
        agentVersion: hello.agentVersion,
        hostname: hello.hostname,
        roles: hello.roles,
        // An older agent sends none: the address known from before stays.
        ...(hello.address ? { address: hello.address } : {}),
        ...(hello.timeZone ? { timeZone: hello.timeZone } : {}),
        lastSeenAt: new Date(),
      },
    );
  }

  /** Records that these servers' agents were just heard from, in one statement. */
  async touchMany(serverIds: readonly string[]): Promise<void> {
    if (serverIds.length === 0) return;
    await this.db.getRepository(ServerEntity).update({ id: In([...serverIds]) }, { lastSeenAt: new Date() });
  }

  async recordVerified(
    serverId: string,
    probe: { services: ServiceInfo[]; address: string; roles: ServerRole[] },
  ): Promise<void> {
    await this.db
      .getRepository(ServerEntity)
      .update(
        { id: serverId },
        { services: probe.services, address: probe.address, roles: probe.roles, verifiedAt: new Date() },
      );
  }
}
