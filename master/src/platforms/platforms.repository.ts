import type { DataSource } from 'typeorm';
import { isUuid } from '../../../shared/src/validation.js';
import { PlatformEntity } from './platform.entity.js';

export class PlatformsRepository {
  constructor(private readonly db: DataSource) {}

  create(input: { name: string; serverId: string; path: string; docroot: string }): Promise<PlatformEntity> {
    const repository = this.db.getRepository(PlatformEntity);
    return repository.save(repository.create({ ...input, status: 'new', locked: false }));
  }

  findByNameOrId(nameOrId: string): Promise<PlatformEntity | null> {
    const repository = this.db.getRepository(PlatformEntity);
    return isUuid(nameOrId)
      ? repository.findOneBy({ id: nameOrId })
      : repository.findOneBy({ name: nameOrId });
  }

  list(): Promise<PlatformEntity[]> {
    return this.db.getRepository(PlatformEntity).find({ order: { name: 'ASC' } });
  }

  async recordVerified(id: string, coreVersion: string | null): Promise<void> {
    await this.db
      .getRepository(PlatformEntity)
      .update({ id }, { status: 'verified', coreVersion, verifiedAt: new Date() });
  }

  async recordFailed(id: string): Promise<void> {
    await this.db.getRepository(PlatformEntity).update({ id, status: 'new' }, { status: 'failed' });
  }
}
