import type * as api from '../../../shared/src/api.js';
import { validateAbsolutePath, validatePlatformName } from '../../../shared/src/validation.js';
import {
  type PlatformSource,
  validateComposerProject,
  validateDeployKey,
  validateGitRef,
  validatePlatformSource,
} from '../../../shared/src/platform-source.js';
import type { PlatformPlacement } from '../../../shared/src/tasks.js';
import type { Principal } from '../auth/auth.service.js';
import { isUniqueViolation } from '../infra/db/sql.js';
import { byName, ListCursor, pageLimit, queryChoice, queryText } from '../infra/http/paging.js';
import type { PackagesRepository } from '../packages/packages.repository.js';
import type { ServersRepository } from '../servers/servers.repository.js';
import { ServersError } from '../servers/servers.errors.js';
import type { ClustersRepository } from '../clusters/clusters.repository.js';
import { ClustersError } from '../clusters/clusters.errors.js';
import type { TaskQueue } from '../tasks/task-queue.js';
import type { TaskView } from '../tasks/tasks.service.js';
import { PLATFORM_STATUSES, type PlatformEntity } from './platform.entity.js';
import { PlatformsError, PlatformsErrorCode } from './platforms.errors.js';
import type { PlatformPageQuery, PlatformsRepository } from './platforms.repository.js';
import { validateDeployHooks, type DeployHook } from '../../../shared/src/deploy-hooks.js';

export type PlatformView = api.Platform;

/** The query of a platform list as it comes over HTTP (strings, checked in PlatformsService.page). */
export type PlatformListInput = { [K in keyof api.PlatformListQuery]?: string };

/** Platforms per page unless asked otherwise. */
const DEFAULT_PAGE = 100;
/** The platform list's cursors: the last name of a page (the list is in name order). */
const PLATFORM_CURSOR = new ListCursor('platforms', byName);

/** Platforms: codebases on a server, verified by a static scan into packages and schema versions. */
export class PlatformsService {
  constructor(
    private readonly platforms: PlatformsRepository,
    private readonly packages: PackagesRepository,
    private readonly servers: ServersRepository,
    private readonly queue: TaskQueue,
    private readonly clusters: Pick<ClustersRepository, 'findByNameOrId' | 'heads' | 'list'>,
    /** Seals a platform's deploy key (SecretBox). */
    private readonly secrets: { encrypt(plaintext: string): string },
  ) {}

  /**
   * Builds a platform from a git repository (at a branch, tag or commit) or a Composer project, on a
   * server or every head of a cluster (built on the first, copied to the others), then verifies it.
   * The platform takes no site until its build task verified it; a failed build leaves nothing.
   */
  async build(
    principal: Principal,
    input: BuildPlatformInput,
  ): Promise<{ platform: PlatformView; task: TaskView }> {
    if (typeof input !== 'object' || input === null) throw invalid('the body must be a JSON object');
    const name = validatePlatformName('platform name', input.name);
    if (!name.ok) throw invalid(name.failure.message);
    const copied = input.fromPlatform === undefined ? null : await this.copySource(input);
    const source = copied?.source ?? buildSource(input);
    const deployKeyEncrypted = copied
      ? copied.deployKeyEncrypted
      : input.deployKey === undefined
        ? null
        : this.secrets.encrypt(checkDeployKey(input.deployKey));
    const placement = await this.placement(input);
    if (await this.platforms.findByNameOrId(name.value)) throw nameTaken(name.value);
    const platform = await this.createBuilt(
      name.value,
      placement,
      source,
      deployKeyEncrypted,
      copied?.deployHooks ?? [],
    );
    const task = await this.queue.queue({
      type: 'platform.build',
      targetId: platform.id,
      targetName: platform.name,
      lockKey: `platform:${platform.id}`,
      params: {
        ...(await this.placementParams(platform)),
        source,
        ...(copied
          ? { copyOf: { serverId: copied.serverId, platform: copied.name, commit: copied.commit } }
          : {}),
      },
      createdBy: principal.name,
    });
    return { platform: await this.view(platform), task };
  }

  /**
   * The platform a build --from-platform copies: one Berth built (its source, commit, deploy key and
   * hooks go with the copy), verified, and on one server (a cluster's heads hold copies already).
   */
  private async copySource(input: BuildPlatformInput): Promise<PlatformEntity & { source: PlatformSource }> {
    if (input.git !== undefined || input.composerProject !== undefined || input.deployKey !== undefined)
      throw invalid('fromPlatform is the source: give no git, composerProject or deployKey with it');
    if (typeof input.fromPlatform !== 'string' || input.fromPlatform === '')
      throw invalid('fromPlatform must be a platform name');
    const from = await this.get(input.fromPlatform);
    if (!from.source) {
      throw invalid(
        `platform ${from.name} was not built by Berth, so where its code comes from is not known: copy it to the other server yourself and \`berth platform add\` it there`,
      );
    }
    if (from.status !== 'verified')
      throw invalid(`platform ${from.name} is ${from.status}, not verified: it is not copied`);
    if (from.clusterId)
      throw invalid(`platform ${from.name} is on a cluster: every head holds a copy already`);
    return { ...from, source: from.source };
  }

  /**
   * Moves a git platform's checkout to another ref in place. Only a platform without sites: code
   * must never change under a live site (seed 004); for one with sites the answer names the
   * leap-frog to run instead.
   */
  async pull(principal: Principal, nameOrId: string, input: { ref?: unknown }): Promise<TaskView> {
    const platform = await this.get(nameOrId);
    const source = platform.source;
    if (source?.kind !== 'git') {
      throw invalid(
        `platform ${platform.name} was not built from a git repository: there is nothing to pull`,
      );
    }
    const ref = input?.ref === undefined ? source.ref : checkRef(input.ref);
    const sites = await this.platforms.sitesOn(platform.id);
    if (sites.length > 0) {
      throw new PlatformsError(
        PlatformsErrorCode.Busy,
        `platform ${platform.name} hosts ${sites.length} site${sites.length === 1 ? '' : 's'}: its code does not ` +
          `change under them. Build the new code as a new platform and move them there, each with its ` +
          `rehearsal and short window: berth platform update ${platform.name} --ref ${ref}`,
      );
    }
    return this.queue.queue({
      type: 'platform.pull',
      targetId: platform.id,
      targetName: platform.name,
      lockKey: `platform:${platform.id}`,
      params: { ...(await this.placementParams(platform)), ref },
      createdBy: principal.name,
    });
  }

  /**
   * The leap-frog: a new platform built from the same source at `ref` (named `as`, or the old name
   * with the ref), every site of the old one migrated to it, the old one locked (and retired).
   */
  async update(
    principal: Principal,
    nameOrId: string,
    input: { ref?: unknown; as?: unknown; concurrency?: unknown; force?: unknown; retire?: unknown },
  ): Promise<{ platform: PlatformView; task: TaskView }> {
    const old = await this.get(nameOrId);
    if (!old.source) {
      throw invalid(
        `platform ${old.name} was not built by Berth: build the new code with \`berth platform build\`, then \`berth platform migrate-sites ${old.name} --to NEW\``,
      );
    }
    const ref = checkRef(input?.ref);
    const source: PlatformSource =
      old.source.kind === 'git' ? { ...old.source, ref } : { ...old.source, version: ref };
    const newName = validatePlatformName(
      'as',
      input.as ??
        `${old.name}-${ref.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}`.replace(/-+$/, '').slice(0, 63),
    );
    if (!newName.ok) throw invalid(`${newName.failure.message}; name the new platform with --as`);
    if (await this.platforms.findByNameOrId(newName.value)) {
      throw new PlatformsError(
        PlatformsErrorCode.NameTaken,
        `a platform named "${newName.value}" already exists: name the new one with --as`,
      );
    }
    const concurrency = checkConcurrency(input.concurrency);
    const placement = old.clusterId
      ? { serverId: old.serverId, clusterId: old.clusterId }
      : { serverId: old.serverId, clusterId: null };
    // The same source, key and deploy hooks: only the ref changes.
    const created = await this.createBuilt(
      newName.value,
      placement,
      source,
      old.deployKeyEncrypted,
      old.deployHooks,
    );
    const task = await this.queue.queue({
      type: 'platform.update',
      targetId: old.id,
      targetName: old.name,
      lockKey: `platform:${old.id}`,
      params: {
        from: await this.placementParams(old),
        newPlatformId: created.id,
        build: { ...(await this.placementParams(created)), source },
        concurrency,
        force: input.force === true,
        retire: input.retire === true,
        sites: await this.platforms.sitesOn(old.id),
      },
      createdBy: principal.name,
    });
    return { platform: await this.view(created), task };
  }

  /** What moving from one platform to another brings: packages that differ, commits between (a task). */
  async diff(principal: Principal, from: string, input: { to?: unknown }): Promise<TaskView> {
    const a = await this.get(from);
    if (typeof input?.to !== 'string' || input.to === '')
      throw invalid('to is required: the platform to compare with');
    const b = await this.get(input.to);
    const sameRepository =
      a.source?.kind === 'git' &&
      b.source?.kind === 'git' &&
      a.source.url === b.source.url &&
      a.commit &&
      b.commit;
    return this.queue.queue({
      type: 'platform.diff',
      targetId: a.id,
      targetName: a.name,
      // Read-only: it waits for nothing and nothing waits for it.
      lockKey: null,
      params: {
        to: { id: b.id, name: b.name },
        commits: sameRepository
          ? { serverId: b.serverId, platform: b.name, from: a.commit!, to: b.commit! }
          : null,
      },
      createdBy: principal.name,
    });
  }

  private async createBuilt(
    name: string,
    placement: { serverId: string; clusterId: string | null },
    source: PlatformSource,
    deployKeyEncrypted: string | null,
    deployHooks: DeployHook[] = [],
  ): Promise<PlatformEntity> {
    try {
      return await this.platforms.create({
        name,
        ...placement,
        // Recorded from the build (the agent's root): a placeholder until then.
        path: `/var/berth/platforms/${name}`,
        docroot: 'web',
        source,
        deployKeyEncrypted,
        deployHooks,
      });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_platforms_name')) throw nameTaken(name);
      throw error;
    }
  }

  /** A server or a cluster, exactly one of them. */
  private async placement(input: {
    server?: unknown;
    cluster?: unknown;
  }): Promise<{ serverId: string; clusterId: string | null }> {
    const onCluster = input.cluster !== undefined;
    const where = onCluster ? input.cluster : input.server;
    if (typeof where !== 'string' || where === '' || (onCluster && input.server !== undefined)) {
      throw invalid(
        'server or cluster is required (one of them): the web server that holds it, or the cluster whose every head does',
      );
    }
    return onCluster ? this.clusterPlace(where) : this.serverPlace(where);
  }

  /** Where a platform's tasks run: its server, and its cluster's heads that are not stale. */
  private async placementParams(platform: PlatformEntity): Promise<PlatformPlacement> {
    const heads = platform.clusterId
      ? (await this.clusters.heads(platform.clusterId)).filter((head) => !head.staleSince)
      : null;
    return {
      platform: platform.name,
      serverId: platform.serverId,
      ...(heads ? { heads: heads.map((head) => ({ serverId: head.id, name: head.name })) } : {}),
    };
  }

  /** Registers a platform and queues its verify. The codebase lives at <root>/platforms/<name> on the server. */
  async add(
    principal: Principal,
    input: { name: unknown; server?: unknown; cluster?: unknown; path?: unknown },
  ): Promise<{ platform: PlatformView; task: TaskView }> {
    const name = validatePlatformName('platform name', input.name);
    if (!name.ok) throw new PlatformsError(PlatformsErrorCode.InvalidInput, name.failure.message);
    let path: string | undefined;
    if (input.path !== undefined) {
      const checked = validateAbsolutePath('path', input.path);
      if (!checked.ok) throw new PlatformsError(PlatformsErrorCode.InvalidInput, checked.failure.message);
      if (!checked.value.endsWith(`/platforms/${name.value}`)) {
        throw new PlatformsError(
          PlatformsErrorCode.InvalidInput,
          `path must be <agent root>/platforms/${name.value}: the agent finds platforms by name under its root`,
        );
      }
      path = checked.value;
    }
    const { serverId, clusterId } = await this.placement(input);
    let platform: PlatformEntity;
    try {
      platform = await this.platforms.create({
        name: name.value,
        serverId,
        clusterId,
        // The agent's default root; a server with another --root needs --path.
        path: path ?? `/var/berth/platforms/${name.value}`,
        docroot: 'web',
      });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_platforms_name')) {
        throw new PlatformsError(
          PlatformsErrorCode.NameTaken,
          `a platform named "${name.value}" already exists`,
        );
      }
      throw error;
    }
    const task = await this.queueVerify(principal, platform);
    return { platform: await this.view(platform), task };
  }

  async verify(principal: Principal, nameOrId: string): Promise<TaskView> {
    return this.queueVerify(principal, await this.get(nameOrId));
  }

  async get(nameOrId: string): Promise<PlatformEntity> {
    const platform = await this.platforms.findByNameOrId(nameOrId);
    if (!platform) throw PlatformsError.notFound(nameOrId);
    return platform;
  }

  async list(): Promise<PlatformView[]> {
    return this.views(await this.platforms.list());
  }

  /**
   * A page of platforms in name order, filtered (`GET /api/platforms?limit=&cursor=&server=&status=&q=`).
   * Bad input is a 400 naming it.
   */
  async page(input: PlatformListInput): Promise<api.Page<PlatformView>> {
    const query: PlatformPageQuery = {
      limit: pageLimit(input.limit, DEFAULT_PAGE, invalid),
      after: PLATFORM_CURSOR.decode(input.cursor, invalid),
      status: queryChoice('status', input.status, PLATFORM_STATUSES, invalid),
      q: queryText('q', input.q, invalid, 63),
    };
    const serverName = queryText('server', input.server, invalid);
    if (serverName !== undefined) {
      const server = await this.servers.findByNameOrId(serverName);
      if (!server) throw invalid(`server: no server named "${serverName}"`);
      query.server = { id: server.id, clusterId: server.clusterId };
    }
    const { platforms, more } = await this.platforms.page(query);
    const last = platforms.at(-1);
    return {
      items: await this.views(platforms),
      next: more && last ? PLATFORM_CURSOR.encode(last.name) : null,
    };
  }

  async show(nameOrId: string): Promise<PlatformView & { packages: api.Package[] }> {
    const platform = await this.get(nameOrId);
    return {
      ...(await this.view(platform)),
      packages: await this.packages.list({ platformId: platform.id }),
    };
  }

  /**
   * Platform upgrade: queues one task that moves every site of `from` to `to`, each site with its own
   * migrate (rehearsal, short window); at most `concurrency` in flight.
   */
  async migrateSites(
    principal: Principal,
    from: string,
    input: { to: unknown; concurrency?: unknown; force?: unknown },
  ): Promise<TaskView> {
    const source = await this.get(from);
    if (typeof input.to !== 'string' || input.to === '') {
      throw new PlatformsError(
        PlatformsErrorCode.InvalidInput,
        'to is required: the platform to move the sites to',
      );
    }
    const target = await this.get(input.to);
    if (target.id === source.id) {
      throw new PlatformsError(PlatformsErrorCode.InvalidInput, 'the target platform is the platform itself');
    }
    if (target.status !== 'verified') {
      throw new PlatformsError(
        PlatformsErrorCode.InvalidInput,
        `platform ${target.name} is ${target.status}, not verified: run \`berth platform verify ${target.name}\``,
      );
    }
    const concurrency = input.concurrency ?? 2;
    if (
      typeof concurrency !== 'number' ||
      !Number.isInteger(concurrency) ||
      concurrency < 1 ||
      concurrency > 32
    ) {
      throw new PlatformsError(
        PlatformsErrorCode.InvalidInput,
        'concurrency must be a whole number from 1 to 32',
      );
    }
    const sites = await this.platforms.sitesOn(source.id);
    if (sites.length === 0) {
      throw new PlatformsError(PlatformsErrorCode.InvalidInput, `platform ${source.name} hosts no sites`);
    }
    return this.queue.queue({
      type: 'platform.migrate-sites',
      targetId: source.id,
      targetName: source.name,
      lockKey: `platform:${source.id}`,
      params: {
        targetPlatformId: target.id,
        targetPlatform: target.name,
        concurrency,
        force: input.force === true,
        sites,
      },
      createdBy: principal.name,
    });
  }

  /** Locks a platform: it takes no new sites; the sites on it stay where they are. */
  async lock(nameOrId: string): Promise<PlatformView> {
    return this.setLocked(nameOrId, true);
  }

  /**
   * The platform's deploy hooks: what runs, after the database updates, on each site that comes onto
   * it (a migrate, a platform update), unless the site has its own list. Empty: the updates only.
   */
  async setDeployHooks(nameOrId: string, input: { hooks?: unknown }): Promise<PlatformView> {
    const hooks = validateDeployHooks('hooks', input?.hooks);
    if (!hooks.ok) throw invalid(hooks.failure.message);
    const platform = await this.get(nameOrId);
    const updated = await this.platforms.setDeployHooks(platform.id, hooks.value);
    if (!updated) throw PlatformsError.notFound(nameOrId);
    return this.view(updated);
  }

  /** Unlocks a platform: it takes new sites again. */
  async unlock(nameOrId: string): Promise<PlatformView> {
    return this.setLocked(nameOrId, false);
  }

  /**
   * Removes a platform from the registry, with the packages recorded for it, once no site is on it.
   * The codebase on the server is the operator's: Berth never deletes it.
   */
  async delete(principal: Principal, nameOrId: string): Promise<{ deleted: PlatformView; message: string }> {
    const platform = await this.get(nameOrId);
    const view = await this.view(platform);
    const removal = await this.platforms.removeUnused(platform.id);
    if (!removal.removed) {
      if (removal.gone) throw PlatformsError.notFound(nameOrId);
      if (removal.siteDomains.length > 0) {
        const count = removal.siteDomains.length;
        const shown = removal.siteDomains.slice(0, 5).join(', ');
        const more = count > 5 ? ` and ${count - 5} more` : '';
        throw new PlatformsError(
          PlatformsErrorCode.Busy,
          `platform ${platform.name} has ${count} site${count === 1 ? '' : 's'} on it (${shown}${more}): ` +
            'migrate or delete them first',
        );
      }
      throw new PlatformsError(
        PlatformsErrorCode.Busy,
        `platform ${platform.name} has a task queued or running (${removal.activeTasks.join(', ')}): ` +
          'wait for it (`berth task show ID`) and try again',
      );
    }
    return {
      deleted: view,
      message:
        `platform ${platform.name} is no longer in the registry (deleted by ${principal.name}); ` +
        `its codebase is still at ${platform.path} on ${view.serverName}: remove it there if you no longer need it`,
    };
  }

  private async setLocked(nameOrId: string, locked: boolean): Promise<PlatformView> {
    const platform = await this.get(nameOrId);
    const updated = await this.platforms.setLocked(platform.id, locked);
    if (!updated) throw PlatformsError.notFound(nameOrId);
    return this.view(updated);
  }

  private async serverPlace(name: string): Promise<{ serverId: string; clusterId: null }> {
    const server = await this.servers.findByNameOrId(name);
    if (!server) throw ServersError.notFound(name);
    return { serverId: server.id, clusterId: null };
  }

  /** A platform on a cluster: recorded on its first head, and on the cluster. */
  private async clusterPlace(name: string): Promise<{ serverId: string; clusterId: string }> {
    const cluster = await this.clusters.findByNameOrId(name);
    if (!cluster) throw ClustersError.notFound(name);
    const [first] = (await this.clusters.heads(cluster.id)).filter((head) => !head.staleSince);
    if (!first) {
      throw new PlatformsError(
        PlatformsErrorCode.InvalidInput,
        `cluster ${cluster.name} has no heads that are not stale: add one (\`berth cluster add-server ${cluster.name} SERVER\`) or sync one (\`berth cluster sync\`)`,
      );
    }
    return { serverId: first.id, clusterId: cluster.id };
  }

  private async queueVerify(principal: Principal, platform: PlatformEntity): Promise<TaskView> {
    // A stale head is left out: `cluster sync` copies and checks the platforms it lacks.
    return this.queue.queue({
      type: 'platform.verify',
      targetId: platform.id,
      targetName: platform.name,
      lockKey: `platform:${platform.id}`,
      params: await this.placementParams(platform),
      createdBy: principal.name,
    });
  }

  private async view(platform: PlatformEntity): Promise<PlatformView> {
    const server = await this.servers.findById(platform.serverId);
    const cluster = platform.clusterId ? await this.clusters.findByNameOrId(platform.clusterId) : null;
    return platformView(platform, server?.name, cluster?.name);
  }

  /** Views of many platforms: one read of the (small) server and cluster tables, not two per platform. */
  private async views(platforms: readonly PlatformEntity[]): Promise<PlatformView[]> {
    if (platforms.length === 0) return [];
    const [servers, clusters] = await Promise.all([this.servers.list(), this.clusters.list()]);
    const serverNames = new Map(servers.map((server) => [server.id, server.name]));
    const clusterNames = new Map(clusters.map((cluster) => [cluster.id, cluster.name]));
    return platforms.map((platform) =>
      platformView(
        platform,
        serverNames.get(platform.serverId),
        platform.clusterId ? clusterNames.get(platform.clusterId) : undefined,
      ),
    );
  }
}

/** A platform as the API shows it, with the names of its server and cluster (their ids when gone). */
function platformView(
  platform: PlatformEntity,
  serverName: string | undefined,
  clusterName: string | undefined,
): PlatformView {
  return {
    id: platform.id,
    name: platform.name,
    serverId: platform.serverId,
    serverName: serverName ?? platform.serverId,
    cluster: platform.clusterId ? (clusterName ?? platform.clusterId) : null,
    path: platform.path,
    docroot: platform.docroot,
    coreVersion: platform.coreVersion,
    status: platform.status,
    locked: platform.locked,
    verifiedAt: platform.verifiedAt?.toISOString() ?? null,
    createdAt: platform.createdAt.toISOString(),
    source: platform.source,
    commit: platform.commit,
    deployKey: platform.deployKeyEncrypted !== null,
    deployHooks: platform.deployHooks,
  };
}

/** POST /api/platforms/build: one source (git or a Composer project), a server or a cluster. */
export interface BuildPlatformInput {
  name?: unknown;
  server?: unknown;
  cluster?: unknown;
  git?: unknown;
  composerProject?: unknown;
  composerRepository?: unknown;
  deployKey?: unknown;
  /** Instead of a source: a platform Berth built, copied to this server under the new name. */
  fromPlatform?: unknown;
}

function buildSource(input: BuildPlatformInput): PlatformSource {
  if ((input.git === undefined) === (input.composerProject === undefined)) {
    throw invalid('give the source: git { url, ref } or composerProject "PACKAGE:VERSION" (one of them)');
  }
  if (input.git !== undefined) {
    const git = (typeof input.git === 'object' && input.git !== null ? input.git : {}) as {
      url?: unknown;
      ref?: unknown;
    };
    const checked = validatePlatformSource('git', { kind: 'git', url: git.url, ref: git.ref ?? 'HEAD' });
    if (!checked.ok) throw invalid(checked.failure.message);
    if (input.composerRepository !== undefined) throw invalid('composerRepository goes with composerProject');
    return checked.value;
  }
  const project = validateComposerProject('composerProject', input.composerProject);
  if (!project.ok) throw invalid(project.failure.message);
  const checked = validatePlatformSource('composerProject', {
    kind: 'composer-project',
    ...project.value,
    ...(input.composerRepository !== undefined ? { repository: input.composerRepository } : {}),
  });
  if (!checked.ok) throw invalid(checked.failure.message);
  return checked.value;
}

/** An OpenSSH or PEM private key, as ssh -i reads it; nothing else is stored. */
function checkDeployKey(input: unknown): string {
  const key = validateDeployKey('deployKey', input);
  if (!key.ok) throw invalid(key.failure.message);
  return key.value;
}

function checkRef(input: unknown): string {
  const ref = validateGitRef('ref', input);
  if (!ref.ok) throw invalid(`${ref.failure.message}: give the branch, tag or commit (or version) to build`);
  return ref.value;
}

function checkConcurrency(input: unknown): number {
  const concurrency = input ?? 2;
  if (
    typeof concurrency !== 'number' ||
    !Number.isInteger(concurrency) ||
    concurrency < 1 ||
    concurrency > 32
  ) {
    throw invalid('concurrency must be a whole number from 1 to 32');
  }
  return concurrency;
}

function invalid(message: string): PlatformsError {
  return new PlatformsError(PlatformsErrorCode.InvalidInput, message);
}

function nameTaken(name: string): PlatformsError {
  return new PlatformsError(PlatformsErrorCode.NameTaken, `a platform named "${name}" already exists`);
}
