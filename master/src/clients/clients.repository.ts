import type { DataSource } from 'typeorm';
import { isUuid } from '../../../shared/src/validation.js';
import { ClientEntity } from './client.entity.js';

export class ClientsRepository {
  constructor(private readonly db: DataSource) {}

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
}
