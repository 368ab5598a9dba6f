import type * as api from '../../../shared/src/api.js';
import type { ClientNames } from '../auth/auth.controller.js';
import { validateName } from '../../../shared/src/validation.js';
import { isUniqueViolation } from '../infra/db/sql.js';
import type { ClientEntity } from './client.entity.js';
import { ClientsError, ClientsErrorCode } from './clients.errors.js';
import type { ClientsRepository } from './clients.repository.js';

export type ClientView = api.Client;

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

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
