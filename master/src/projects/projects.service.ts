import type * as api from '../../../shared/src/api.js';
import {
  DEFAULT_SANITIZE,
  validateEnvironmentName,
  validateProjectName,
  validateSanitizeCommand,
} from '../../../shared/src/environments.js';
import { printable } from '../../../shared/src/validation.js';
import type { Principal } from '../auth/auth.service.js';
import type { ArchiveStore } from '../backups/archive-store.js';
import type { ClientsRepository } from '../clients/clients.repository.js';
import { ClientsError } from '../clients/clients.errors.js';
import { isUniqueViolation } from '../infra/db/sql.js';
import { byName, ListCursor, pageLimit, queryText } from '../infra/http/paging.js';
import type { PlatformsRepository } from '../platforms/platforms.repository.js';
import type { SiteEntity } from '../sites/site.entity.js';
import type { SitesRepository } from '../sites/sites.repository.js';
import { siteCode, type SitesService } from '../sites/sites.service.js';
import type { TaskQueue } from '../tasks/task-queue.js';
import type { TaskView } from '../tasks/tasks.service.js';
import type { EnvironmentEntity, ProjectEntity } from './project.entity.js';
import { ProjectsError, ProjectsErrorCode } from './projects.errors.js';
import type { ProjectPageQuery, ProjectsRepository } from './projects.repository.js';

/** The query of a project list as it comes over HTTP (strings, checked in ProjectsService.page). */
export type ProjectListInput = { [K in keyof api.ProjectListQuery]?: string };

/** Projects per page unless asked otherwise. */
const DEFAULT_PAGE = 100;
/** The project list's cursors: the last name of a page (the list is in name order). */
const PROJECT_CURSOR = new ListCursor('projects', byName);

/**
 * Projects (seed 000's dev/test/live): sites grouped as environments in an order. Code goes up the
 * list (env deploy: a site deploy of the environment's site), data comes down it (env sync: task
 * site.sync on the lower environment's site, never on a higher one). A client sees and changes only
 * its own projects, made of its own sites.
 */
export class ProjectsService {
  constructor(
    private readonly projects: ProjectsRepository,
    private readonly sites: Pick<SitesService, 'get' | 'deploy' | 'deployHooksOf'>,
    private readonly siteRows: Pick<SitesRepository, 'findByDomainOrId' | 'findByIds'>,
    private readonly platforms: Pick<PlatformsRepository, 'findByNameOrId' | 'findByIds'>,
    private readonly clients: Pick<ClientsRepository, 'findByNameOrId' | 'findByIds'>,
    private readonly queue: Pick<TaskQueue, 'queue' | 'latest'>,
    private readonly archives: Pick<ArchiveStore, 'reserve'>,
  ) {}

  async add(
    principal: Principal,
    input: { name?: unknown; client?: unknown; sanitize?: unknown },
  ): Promise<api.Project> {
    const name = validateProjectName('name', input.name);
    if (!name.ok) throw invalid(name.failure.message);
    const sanitize = validateSanitizeCommand('sanitize', input.sanitize ?? DEFAULT_SANITIZE);
    if (!sanitize.ok) throw invalid(sanitize.failure.message);
    const clientId = await this.owner(principal, input.client);
    try {
      return await this.view(
        await this.projects.create({ name: name.value, clientId, sanitize: sanitize.value }),
      );
    } catch (error) {
      if (isUniqueViolation(error, 'uq_projects_name'))
        throw new ProjectsError(
          ProjectsErrorCode.NameTaken,
          `a project named "${name.value}" exists already`,
        );
      throw error;
    }
  }

  /** Every project in name order (a client's token: its own). */
  async list(principal: Principal): Promise<api.Project[]> {
    const projects = await this.projects.list(
      principal.role === 'admin' ? {} : { clientId: principal.clientId ?? '' },
    );
    return this.views(projects);
  }

  /**
   * A page of projects in name order, filtered (`GET /api/projects?limit=&cursor=&q=&client=`). A
   * client's token lists only its own; `client` is for admins. Bad input is a 400 naming it.
   */
  async page(principal: Principal, input: ProjectListInput): Promise<api.Page<api.Project>> {
    const query: ProjectPageQuery = {
      limit: pageLimit(input.limit, DEFAULT_PAGE, invalid),
      after: PROJECT_CURSOR.decode(input.cursor, invalid),
      q: queryText('q', input.q, invalid, 63),
    };
    const clientName = queryText('client', input.client, invalid, 63);
    if (principal.role !== 'admin') query.clientId = principal.clientId ?? '';
    else if (clientName !== undefined) {
      const client = await this.clients.findByNameOrId(clientName);
      if (!client) throw invalid(`client "${printable(clientName)}" is no client's name or id`);
      query.clientId = client.id;
    }
    const { projects, more } = await this.projects.page(query);
    const last = projects.at(-1);
    return {
      items: await this.views(projects),
      next: more && last ? PROJECT_CURSOR.encode(last.name) : null,
    };
  }

  async show(principal: Principal, name: string): Promise<api.Project> {
    return this.view(await this.get(principal, name));
  }

  /** The command that scrubs what is synced down into the project's environments. */
  async setSanitize(principal: Principal, name: string, sanitize: unknown): Promise<api.Project> {
    const project = await this.get(principal, name);
    const command = validateSanitizeCommand('sanitize', sanitize);
    if (!command.ok) throw invalid(command.failure.message);
    await this.projects.setSanitize(project.id, command.value);
    return this.view({ ...project, sanitize: command.value });
  }

  /** Removes a project and its environments from the registry; their sites stay as they are. */
  async remove(principal: Principal, name: string): Promise<{ removed: string }> {
    const project = await this.get(principal, name);
    await this.projects.remove(project.id);
    return { removed: project.name };
  }

  /** A site as the project's next environment (at the end of the list: towards live). */
  async addEnvironment(
    principal: Principal,
    name: string,
    input: { name?: unknown; site?: unknown },
  ): Promise<api.Project> {
    const project = await this.get(principal, name);
    const env = validateEnvironmentName('environment', input.name);
    if (!env.ok) throw invalid(env.failure.message);
    if (typeof input.site !== 'string' || input.site === '')
      throw invalid('site is required: the domain of its site');
    const site = await this.sites.get(principal, input.site);
    if (site.clientId !== project.clientId) {
      throw invalid(`${site.domain} belongs to another client than project ${project.name}`);
    }
    const taken = await this.projects.environmentOfSite(site.id);
    if (taken) {
      const other = await this.projects.findByNameOrId(taken.projectId);
      throw new ProjectsError(
        ProjectsErrorCode.NameTaken,
        `${site.domain} is environment ${taken.name} of project ${other?.name ?? taken.projectId} already`,
      );
    }
    try {
      await this.projects.addEnvironment({ projectId: project.id, name: env.value, siteId: site.id });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_environments_name'))
        throw new ProjectsError(
          ProjectsErrorCode.NameTaken,
          `project ${project.name} has an environment ${env.value} already`,
        );
      if (isUniqueViolation(error, 'uq_environments_site'))
        throw new ProjectsError(ProjectsErrorCode.NameTaken, `${site.domain} is in an environment already`);
      throw error;
    }
    return this.view(project);
  }

  async removeEnvironment(principal: Principal, name: string, envName: string): Promise<api.Project> {
    const project = await this.get(principal, name);
    const env = await this.environment(project, envName);
    await this.projects.removeEnvironment(env.id);
    return this.view(project);
  }

  /**
   * Copies data down: `from` must come after `to` in the project's list (live to test, never test
   * to live). A task on the target's site; the source is only read.
   */
  async sync(
    principal: Principal,
    name: string,
    input: { from?: unknown; to?: unknown; db?: unknown; files?: unknown },
  ): Promise<TaskView> {
    const project = await this.get(principal, name);
    if (typeof input.from !== 'string' || typeof input.to !== 'string')
      throw invalid('from and to are required: the environments to copy from and into');
    const from = await this.environment(project, input.from);
    const to = await this.environment(project, input.to);
    if (from.position <= to.position) {
      throw new ProjectsError(
        ProjectsErrorCode.WrongState,
        from.id === to.id
          ? `${from.name} is both the source and the target`
          : `data is synced down only, from a later environment to an earlier one: ${from.name} comes before ${to.name} in ${project.name} (deploy code up with \`berth env deploy\`)`,
      );
    }
    // Neither named: both.
    const both = input.db === undefined && input.files === undefined;
    const db = both || input.db === true;
    const files = both || input.files === true;
    if (!db && !files) throw invalid('nothing to sync: give db, files or both');
    const [source, target] = await Promise.all([this.siteOf(from), this.siteOf(to)]);
    for (const site of [source, target]) {
      if (site.status !== 'enabled')
        throw new ProjectsError(
          ProjectsErrorCode.WrongState,
          `${site.domain} is ${site.status}: only enabled sites are synced`,
        );
    }
    const [sourcePlatform, targetPlatform] = await Promise.all([
      this.platforms.findByNameOrId(source.platformId),
      this.platforms.findByNameOrId(target.platformId),
    ]);
    if (sourcePlatform?.clusterId || targetPlatform?.clusterId)
      throw new ProjectsError(ProjectsErrorCode.WrongState, 'an environment on a cluster is not synced yet');
    const hooks = (await this.sites.deployHooksOf(target)).effective;
    return this.queue.queue({
      type: 'site.sync',
      targetId: target.id,
      targetName: target.domain,
      lockKey: `site:${target.id}`,
      params: {
        source: { siteId: source.id, domain: source.domain },
        db,
        files,
        sanitize: project.sanitize,
        ...(hooks.length > 0 ? { hooks } : {}),
        targetArchiveId: await this.archives.reserve(targetPlatform!.serverId, 'backup'),
        sourceArchiveId: await this.archives.reserve(sourcePlatform!.serverId, 'backup'),
      },
      clientId: target.clientId,
      createdBy: principal.name,
    });
  }

  /** Code up: a deploy of a ref of the environment's site repository (site.deploy). */
  async deploy(
    principal: Principal,
    name: string,
    input: { to?: unknown; ref?: unknown },
  ): Promise<TaskView> {
    const project = await this.get(principal, name);
    if (typeof input.to !== 'string') throw invalid('to is required: the environment to deploy to');
    const env = await this.environment(project, input.to);
    const site = await this.siteOf(env);
    return this.sites.deploy(principal, site.id, { ref: input.ref });
  }

  private async get(principal: Principal, name: string): Promise<ProjectEntity> {
    const project = await this.projects.findByNameOrId(name);
    if (!project || (principal.role !== 'admin' && project.clientId !== principal.clientId))
      throw ProjectsError.notFound(name);
    return project;
  }

  private async environment(project: ProjectEntity, name: string): Promise<EnvironmentEntity> {
    const found = (await this.projects.environments(project.id)).find((env) => env.name === name);
    if (!found) {
      throw new ProjectsError(
        ProjectsErrorCode.NotFound,
        `project ${project.name} has no environment "${printable(name)}"; \`berth project show ${project.name}\` lists them`,
      );
    }
    return found;
  }

  /**
   * An environment's site. The caller checked the project is the principal's (get), and an
   * environment's site is its project's client's (addEnvironment).
   */
  private async siteOf(env: EnvironmentEntity): Promise<SiteEntity> {
    const site = await this.siteRows.findByDomainOrId(env.siteId);
    if (!site || site.status === 'deleted')
      throw new ProjectsError(
        ProjectsErrorCode.WrongState,
        `the site of environment ${env.name} is gone: remove the environment`,
      );
    return site;
  }

  private async owner(principal: Principal, client: unknown): Promise<string | null> {
    if (principal.role === 'client') return principal.clientId;
    if (client === undefined || client === null) return null;
    if (typeof client !== 'string') throw invalid('client must be a name');
    const found = await this.clients.findByNameOrId(client);
    if (!found) throw ClientsError.notFound(client);
    return found.id;
  }

  private async view(project: ProjectEntity): Promise<api.Project> {
    const [view] = await this.views([project]);
    return view!;
  }

  /**
   * Projects as the API shows them, each with its environments in order. The same few queries for
   * one project as for a page of 500 (their environments and owners, those environments' sites, the
   * sites' platforms and last syncs), never one per project or environment.
   */
  private async views(projects: readonly ProjectEntity[]): Promise<api.Project[]> {
    if (projects.length === 0) return [];
    const ownerIds = distinct(projects.map((project) => project.clientId));
    const [environments, owners] = await Promise.all([
      this.projects.environmentsOf(projects.map((project) => project.id)),
      this.clients.findByIds(ownerIds),
    ]);
    const sites = byId(await this.siteRows.findByIds(distinct(environments.map((env) => env.siteId))));
    const [platforms, syncs] = await Promise.all([
      this.platforms.findByIds(distinct([...sites.values()].map((site) => site.platformId))),
      this.queue.latest([...sites.keys()], 'site.sync'),
    ]);
    const platformNames = new Map(platforms.map((platform) => [platform.id, platform.name]));
    const clientNames = new Map(owners.map((client) => [client.id, client.name]));
    const byProject = new Map<string, api.Environment[]>();
    // Read by position within each project: each project's list comes out in order.
    for (const env of environments) {
      const site = sites.get(env.siteId);
      const sync = site ? syncs.get(site.id) : undefined;
      const list = byProject.get(env.projectId) ?? [];
      list.push({
        name: env.name,
        position: env.position,
        site: site?.domain ?? null,
        platform: site ? (platformNames.get(site.platformId) ?? null) : null,
        status: site?.status ?? null,
        code: site ? siteCode(site) : null,
        lastSync: sync
          ? {
              taskId: sync.id,
              from: (sync.params as { source?: { domain?: string } }).source?.domain ?? '',
              state: sync.state,
              at: (sync.finishedAt ?? sync.createdAt).toISOString(),
            }
          : null,
      });
      byProject.set(env.projectId, list);
    }
    return projects.map((project) => ({
      id: project.id,
      name: project.name,
      client: project.clientId ? (clientNames.get(project.clientId) ?? null) : null,
      sanitize: project.sanitize,
      environments: byProject.get(project.id) ?? [],
      createdAt: project.createdAt.toISOString(),
    }));
  }
}

/** The values once each, without nulls. */
function distinct(values: ReadonlyArray<string | null>): string[] {
  return [...new Set(values.filter((value): value is string => value !== null))];
}

function byId<T extends { id: string }>(rows: readonly T[]): Map<string, T> {
  return new Map(rows.map((row) => [row.id, row]));
}

function invalid(message: string): ProjectsError {
  return new ProjectsError(ProjectsErrorCode.InvalidInput, message);
}
