import type { DataSource } from 'typeorm';
import { isUuid } from '../../../shared/src/validation.js';
import { EnvironmentEntity, ProjectEntity } from './project.entity.js';

export class ProjectsRepository {
  constructor(private readonly db: DataSource) {}

  create(input: { name: string; clientId: string | null; sanitize: string }): Promise<ProjectEntity> {
    const repository = this.db.getRepository(ProjectEntity);
    return repository.save(repository.create(input));
  }

  findByNameOrId(nameOrId: string): Promise<ProjectEntity | null> {
    const repository = this.db.getRepository(ProjectEntity);
    return isUuid(nameOrId)
      ? repository.findOneBy({ id: nameOrId })
      : repository.findOneBy({ name: nameOrId });
  }

  /** Every project, or a client's. */
  list(filter: { clientId?: string } = {}): Promise<ProjectEntity[]> {
    return this.db.getRepository(ProjectEntity).find({
      where: filter.clientId !== undefined ? { clientId: filter.clientId } : {},
      order: { name: 'ASC' },
    });
  }

  async setSanitize(id: string, sanitize: string): Promise<void> {
    await this.db.getRepository(ProjectEntity).update({ id }, { sanitize });
  }

  /** A project and its environments, gone together. */
  async remove(id: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.getRepository(EnvironmentEntity).delete({ projectId: id });
      await manager.getRepository(ProjectEntity).delete({ id });
    });
  }

  environments(projectId: string): Promise<EnvironmentEntity[]> {
    return this.db
      .getRepository(EnvironmentEntity)
      .find({ where: { projectId }, order: { position: 'ASC' } });
  }

  /** The environment a site is in, if any. */
  environmentOfSite(siteId: string): Promise<EnvironmentEntity | null> {
    return this.db.getRepository(EnvironmentEntity).findOneBy({ siteId });
  }

  /** A new environment at the end of the list (the unique indexes refuse a name or site taken). */
  async addEnvironment(input: {
    projectId: string;
    name: string;
    siteId: string;
  }): Promise<EnvironmentEntity> {
    return this.db.transaction(async (manager) => {
      const repository = manager.getRepository(EnvironmentEntity);
      const last = await repository.findOne({
        where: { projectId: input.projectId },
        order: { position: 'DESC' },
      });
      return repository.save(repository.create({ ...input, position: (last?.position ?? 0) + 1 }));
    });
  }

  async removeEnvironment(id: string): Promise<void> {
    await this.db.getRepository(EnvironmentEntity).delete({ id });
  }
}
