import type { ServerRole } from '../../../shared/src/server-roles.js';
import { In, type DataSource } from 'typeorm';
import type { ServiceInfo } from '../../../shared/src/steps.js';
import { isUuid } from '../../../shared/src/validation.js';
import { sqlRows } from '../infra/db/sql.js';
import { ServerEntity } from './server.entity.js';

/** Named queries over servers and their slots. */
export class ServersRepository {
  constructor(private readonly db: DataSource) {}

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
