import { In, type DataSource } from 'typeorm';
import { isUuid } from '../../../shared/src/validation.js';
import { containsPattern, splitPage } from '../infra/db/keyset.js';
import { EnvironmentEntity, ProjectEntity } from './project.entity.js';

/** A page of the project list: filters, and where the previous page ended (by name, the order). */
export interface ProjectPageQuery {
  /** Only this client's projects. */
  clientId?: string;
  /** A piece of the name, anywhere in it (case-insensitive). */
  q?: string;
  /** The last name of the previous page: this page starts after it. */
  after?: string;
  limit: number;
}

export class ProjectsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * One page of projects in name order, filtered in the query. Keyset paging (after the last name
   * seen): a project added or removed between two pages moves no other one across a page boundary.
   */
  async page(query: ProjectPageQuery): Promise<{ projects: ProjectEntity[]; more: boolean }> {
    const builder = this.db.getRepository(ProjectEntity).createQueryBuilder('p');
    if (query.clientId !== undefined)
      builder.andWhere('p.client_id = :clientId', { clientId: query.clientId });
    if (query.q) builder.andWhere("p.name ILIKE :pattern ESCAPE '\\'", { pattern: containsPattern(query.q) });
    if (query.after !== undefined) builder.andWhere('p.name > :after', { after: query.after });
    const rows = await builder
      .orderBy('p.name', 'ASC')
      .limit(query.limit + 1)
      .getMany();
    const { rows: projects, more } = splitPage(rows, query.limit);
    return { projects, more };
  }

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

  /** The environments of several projects (a page of them) in one query, each project's in order. */
  environmentsOf(projectIds: readonly string[]): Promise<EnvironmentEntity[]> {
    if (projectIds.length === 0) return Promise.resolve([]);
    return this.db.getRepository(EnvironmentEntity).find({
      where: { projectId: In([...projectIds]) },
      order: { projectId: 'ASC', position: 'ASC' },
    });
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
