import { In, type DataSource } from 'typeorm';
import { isUuid } from '../../../shared/src/validation.js';
import { containsPattern, splitPage } from '../infra/db/keyset.js';
import { ClientEntity } from './client.entity.js';

/** A page of the client list: a filter, and where the previous page ended (by name, the order). */
export interface ClientPageQuery {
  /** A piece of the name, anywhere in it (case-insensitive). */
  q?: string;
  /** The last name of the previous page: this page starts after it. */
  after?: string;
  limit: number;
}

export class ClientsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * One page of clients in name order. Keyset paging (after the last name seen): a client added or
   * removed between two pages moves no other one across a page boundary.
   */
  async page(query: ClientPageQuery): Promise<{ clients: ClientEntity[]; more: boolean }> {
    const builder = this.db.getRepository(ClientEntity).createQueryBuilder('c');
    if (query.q) builder.andWhere("c.name ILIKE :pattern ESCAPE '\\'", { pattern: containsPattern(query.q) });
    if (query.after !== undefined) builder.andWhere('c.name > :after', { after: query.after });
    const rows = await builder
      .orderBy('c.name', 'ASC')
      .limit(query.limit + 1)
      .getMany();
    const { rows: clients, more } = splitPage(rows, query.limit);
    return { clients, more };
  }

  create(input: { name: string; email: string | null }): Promise<ClientEntity> {
    const repository = this.db.getRepository(ClientEntity);
    return repository.save(repository.create(input));
  }

  findByNameOrId(nameOrId: string): Promise<ClientEntity | null> {
    const repository = this.db.getRepository(ClientEntity);
    return isUuid(nameOrId)
      ? repository.findOneBy({ id: nameOrId })
      : repository.findOneBy({ name: nameOrId });
  }

  list(): Promise<ClientEntity[]> {
    return this.db.getRepository(ClientEntity).find({ order: { name: 'ASC' } });
  }

  /** The clients of these ids that exist, in one query. */
  findByIds(ids: readonly string[]): Promise<ClientEntity[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.getRepository(ClientEntity).findBy({ id: In([...ids]) });
  }
}
