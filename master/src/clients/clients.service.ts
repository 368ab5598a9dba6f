import type * as api from '../../../shared/src/api.js';
import type { ClientNames } from '../auth/auth.controller.js';
import { validateName } from '../../../shared/src/validation.js';
import { isUniqueViolation } from '../infra/db/sql.js';
import { byName, ListCursor, pageLimit, queryText } from '../infra/http/paging.js';
import type { ClientEntity } from './client.entity.js';
import { ClientsError, ClientsErrorCode } from './clients.errors.js';
import type { ClientsRepository } from './clients.repository.js';

export type ClientView = api.Client;

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

/** The query of a client list as it comes over HTTP (strings, checked in ClientsService.page). */
export type ClientListInput = { [K in keyof api.ClientListQuery]?: string };

/** Clients per page unless asked otherwise. */
const DEFAULT_PAGE = 100;
/** The client list's cursors: the last name of a page (the list is in name order). */
const CLIENT_CURSOR = new ListCursor('clients', byName);
const invalidInput = (message: string) => new ClientsError(ClientsErrorCode.InvalidInput, message);

/** Clients own sites; a client's API token sees only its sites. */
export class ClientsService implements ClientNames {
  constructor(private readonly clients: ClientsRepository) {}

  async add(input: { name: unknown; email?: unknown }): Promise<ClientView> {
    const name = validateName('client name', input.name);
    if (!name.ok) throw new ClientsError(ClientsErrorCode.InvalidInput, name.failure.message);
    const email = input.email ?? null;
    if (email !== null && (typeof email !== 'string' || !EMAIL.test(email))) {
      throw new ClientsError(ClientsErrorCode.InvalidInput, 'email must look like name@example.org');
    }
    try {
      return view(await this.clients.create({ name: name.value, email }));
    } catch (error) {
      if (isUniqueViolation(error, 'uq_clients_name')) {
        throw new ClientsError(ClientsErrorCode.NameTaken, `a client named "${name.value}" already exists`);
      }
      throw error;
    }
  }

  async list(): Promise<ClientView[]> {
    return (await this.clients.list()).map(view);
  }

  /** A page of clients in name order (`GET /api/clients?limit=&cursor=&q=`); bad input is a 400 naming it. */
  async page(input: ClientListInput): Promise<api.Page<ClientView>> {
    const { clients, more } = await this.clients.page({
      limit: pageLimit(input.limit, DEFAULT_PAGE, invalidInput),
      after: CLIENT_CURSOR.decode(input.cursor, invalidInput),
      q: queryText('q', input.q, invalidInput, 63),
    });
    const last = clients.at(-1);
    return { items: clients.map(view), next: more && last ? CLIENT_CURSOR.encode(last.name) : null };
  }

  async nameOf(clientId: string): Promise<string> {
    return (await this.get(clientId)).name;
  }

  async get(nameOrId: string): Promise<ClientEntity> {
    const client = await this.clients.findByNameOrId(nameOrId);
    if (!client) throw ClientsError.notFound(nameOrId);
    return client;
  }
}

function view(client: ClientEntity): ClientView {
  return { id: client.id, name: client.name, email: client.email, createdAt: client.createdAt.toISOString() };
}
