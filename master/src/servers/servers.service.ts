import type * as api from '../../../shared/src/api.js';
import { SERVER_ROLES } from '../../../shared/src/server-roles.js';
import { validateHostname } from '../../../shared/src/validation.js';
import type { MasterConfig } from '../infra/config/master-config.js';
import { isUniqueViolation } from '../infra/db/sql.js';
import { byName, ListCursor, pageLimit, queryChoice, queryText } from '../infra/http/paging.js';
import type { ServerDirectory } from '../tasks/tasks.service.js';
import type { ServerEntity } from './server.entity.js';
import { ServersError, ServersErrorCode } from './servers.errors.js';
import type { ServerPageQuery, ServersRepository } from './servers.repository.js';

/** Issues one-time enrollment tokens (the PKI side implements it). */
export interface EnrollmentTokenIssuer {
  issueToken(serverId: string): Promise<{ token: string; expiresAt: Date }>;
}

export type ServerView = api.Server;
export type EnrollmentView = api.Enrollment;

export const MAX_SLOTS = 64;

/** The query of a server list as it comes over HTTP (strings, checked in ServersService.page). */
export type ServerListInput = { [K in keyof api.ServerListQuery]?: string };

/** Servers per page unless asked otherwise. */
const DEFAULT_PAGE = 100;
/** The server list's cursors: the last name of a page (the list is in name order). */
const SERVER_CURSOR = new ListCursor('servers', byName);
const invalidInput = (message: string) => new ServersError(ServersErrorCode.InvalidInput, message);

export class ServersService implements ServerDirectory {
  constructor(
    private readonly servers: ServersRepository,
    private readonly enrollment: EnrollmentTokenIssuer,
    /** Which servers' agents are connected, to any master of the registry. */
    private readonly agents: { connectedServerIds(): Promise<string[]> },
    private readonly config: Pick<MasterConfig, 'advertisedHost' | 'grpcPort'>,
  ) {}

  async add(input: { name: unknown; slots?: unknown }): Promise<api.CreatedServer> {
    const name = validateHostname('server name', input.name);
    if (!name.ok) throw new ServersError(ServersErrorCode.InvalidInput, name.failure.message);
    const slots = input.slots ?? 1;
    if (typeof slots !== 'number' || !Number.isInteger(slots) || slots < 1 || slots > MAX_SLOTS) {
      throw new ServersError(
        ServersErrorCode.InvalidInput,
        `slots must be a whole number from 1 to ${MAX_SLOTS}`,
      );
    }
    let server: ServerEntity;
    try {
      server = await this.servers.create({ name: name.value, slots });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_servers_name')) {
        throw new ServersError(ServersErrorCode.NameTaken, `a server named "${name.value}" already exists`);
      }
      throw error;
    }
    const enrollment = await this.issueEnrollment(server);
    return { server: (await this.views([server]))[0]!, enrollment };
  }

  async newEnrollmentToken(nameOrId: string): Promise<EnrollmentView> {
    return this.issueEnrollment(await this.get(nameOrId));
  }

  async get(nameOrId: string): Promise<ServerEntity> {
    const server = await this.servers.findByNameOrId(nameOrId);
    if (!server) throw ServersError.notFound(nameOrId);
    return server;
  }

  async serverId(nameOrId: string): Promise<string> {
    return (await this.get(nameOrId)).id;
  }

  /** Every server's name by id. */
  async names(): Promise<Map<string, string>> {
    return new Map((await this.servers.list()).map((server) => [server.id, server.name]));
  }

  async show(nameOrId: string): Promise<ServerView> {
    return (await this.views([await this.get(nameOrId)]))[0]!;
  }

  async list(): Promise<ServerView[]> {
    return this.views(await this.servers.list());
  }

  /**
   * A page of servers in name order, filtered (`GET /api/servers?limit=&cursor=&role=&connected=&q=`).
   * Bad input is a 400 naming it.
   */
  async page(input: ServerListInput): Promise<api.Page<ServerView>> {
    const query: ServerPageQuery = {
      limit: pageLimit(input.limit, DEFAULT_PAGE, invalidInput),
      after: SERVER_CURSOR.decode(input.cursor, invalidInput),
      role: queryChoice('role', input.role, SERVER_ROLES, invalidInput),
      q: queryText('q', input.q, invalidInput),
    };
    const connected = queryChoice('connected', input.connected, ['true', 'false'], invalidInput);
    // Connected is what the masters alive say (their agents' streams), a short list of ids: the
    // query filters on it, so a page is still a page of the filtered list.
    if (connected !== undefined)
      query.connected = { ids: await this.agents.connectedServerIds(), is: connected === 'true' };
    const { servers, more } = await this.servers.page(query);
    const last = servers.at(-1);
    return { items: await this.views(servers), next: more && last ? SERVER_CURSOR.encode(last.name) : null };
  }

  private async issueEnrollment(server: ServerEntity): Promise<EnrollmentView> {
    const { token, expiresAt } = await this.enrollment.issueToken(server.id);
    const master = `${this.config.advertisedHost.includes(':') ? `[${this.config.advertisedHost}]` : this.config.advertisedHost}:${this.config.grpcPort}`;
    return {
      token,
      expiresAt: expiresAt.toISOString(),
      // The token goes in the environment, not argv, so that `ps` does not show it.
      agentCommand: `BERTH_AGENT_TOKEN='${token}' berth agent start --master ${master} --name ${server.name}`,
    };
  }

  private async views(servers: ServerEntity[]): Promise<ServerView[]> {
    const busy = await this.servers.busySlots();
    const connected = new Set(await this.agents.connectedServerIds());
    return servers.map((server) => ({
      id: server.id,
      name: server.name,
      slots: server.slots,
      slotsBusy: busy.get(server.id) ?? 0,
      services: server.services,
      roles: server.roles,
      address: server.address,
      connected: connected.has(server.id),
      agentVersion: server.agentVersion,
      hostname: server.hostname,
      timeZone: server.timeZone ?? 'UTC',
      enrolledAt: iso(server.enrolledAt),
      lastSeenAt: iso(server.lastSeenAt),
      verifiedAt: iso(server.verifiedAt),
      createdAt: server.createdAt.toISOString(),
    }));
  }
}

function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}
