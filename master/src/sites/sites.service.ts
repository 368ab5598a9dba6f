import type * as api from '../../../shared/src/api.js';
import { isUuid, validateName, validateSiteDomain } from '../../../shared/src/validation.js';
import { siteActions, type SiteAction } from '../../../shared/src/site-actions.js';
import type { Principal } from '../auth/auth.service.js';
import type { ArchiveStore } from '../backups/archive-store.js';
import type { BackupEntity } from '../backups/backup.entity.js';
import type { BackupsOf, BackupsRepository } from '../backups/backups.repository.js';
import type { ClientsRepository } from '../clients/clients.repository.js';
import type { ClustersRepository } from '../clusters/clusters.repository.js';
import { ClientsError } from '../clients/clients.errors.js';
import type { SecretBox } from '../infra/crypto/secret-box.js';
import { isUniqueViolation } from '../infra/db/sql.js';
import {
  asksForPage,
  byCreated,
  byName,
  ListCursor,
  pageLimit,
  queryChoice,
  queryText,
} from '../infra/http/paging.js';
import type { PackagesRepository } from '../packages/packages.repository.js';
import type { PlatformsRepository } from '../platforms/platforms.repository.js';
import { PlatformsError } from '../platforms/platforms.errors.js';
import type { ServersRepository } from '../servers/servers.repository.js';
import { ServersError } from '../servers/servers.errors.js';
import type { TaskQueue } from '../tasks/task-queue.js';
import { TASK_PRIORITY, type NewTask } from '../tasks/tasks.repository.js';
import { CRON_MAX_MINUTES, cronOffsetSeconds } from '../schedules/site-cron.js';
import type { TaskView } from '../tasks/tasks.service.js';
import {
  MIGRATE_STRATEGIES,
  type MigrateStrategy,
  type ScratchSite,
  type TaskParams,
  type TaskType,
} from '../../../shared/src/tasks.js';
import { scratchSiteNames } from './tasks/scratch-site.js';
import { newDatabasePassword, siteDatabaseNames } from './site-names.js';
import { cloneDatabasePlacement, placeDatabase } from './database-placement.js';
import { migrateCandidates, type MigrateCandidate } from './migrate-candidates.js';
import type { CompatibilityReport } from '../packages/compatibility.js';
import { siteCompatibility } from './site-compatibility.js';
import type { PlatformEntity } from '../platforms/platform.entity.js';
import { validateDeployHooks, type DeployHook } from '../../../shared/src/deploy-hooks.js';
import { randomBytes } from 'node:crypto';
import type { SiteEntity } from './site.entity.js';
import type { CopyOfArchive, OffsiteRepository } from '../offsite/offsite.repository.js';
import type { TaskEntity } from '../tasks/task.entity.js';
import { SitesError, SitesErrorCode } from './sites.errors.js';
import type { SitePageQuery, SitesRepository } from './sites.repository.js';
import { SITE_STATUSES } from '../../../shared/src/site-status.js';
import {
  incompatibilityRefusal,
  migrateTargetRefusal,
  planMigrate,
  stateRefusal,
  type MigrateDbTarget,
  type Refusal,
} from './tasks/migrate/plan-migrate.js';
import { validateDeployKey, validateGitRef, validateGitUrl } from '../../../shared/src/platform-source.js';

export type SiteView = api.Site;
type SiteCron = api.SiteCron;

/** The query of a site list as it comes over HTTP (strings, checked in SitesService.page). */
export type SiteListInput = { [K in keyof api.SiteListQuery]?: string };
/** The query of a site's backup list as it comes over HTTP (checked in SitesService.listBackups). */
export type BackupListInput = { [K in keyof api.BackupListQuery]?: string };

/** Sites per page unless asked otherwise. */
const DEFAULT_PAGE = 100;
/** A site's backups per page, when a page is asked for without a limit. */
const DEFAULT_BACKUP_PAGE = 50;
/** The backup list's cursors: the creation time (to the microsecond) and id of a page's last backup. */
const BACKUP_CURSOR = new ListCursor('backups', byCreated);
/** The site list's cursors: the last domain of a page (the list is in domain order). */
const SITE_CURSOR = new ListCursor('sites', byName);
const invalidInput = (message: string) => new SitesError(SitesErrorCode.InvalidInput, message);

/** The cron runs a site's view looks at for its last run and its failures in a row. */
const CRON_RUNS_LOOKED_AT = 20;

interface NameMaps {
  platforms: Map<string, string>;
  servers: Map<string, string>;
  clients: Map<string, string>;
}

export type BackupView = api.Backup;

export interface MigrateCheck {
  site: SiteEntity;
  target: PlatformEntity;
  report: CompatibilityReport;
}

export interface CloneSiteInput {
  domain: unknown;
  platform?: unknown;
  client?: unknown;
  force?: unknown;
}

export interface RenameSiteInput {
  domain: unknown;
  redirect?: unknown;
}

export interface InstallSiteInput {
  domain: unknown;
  platform: unknown;
  profile?: unknown;
  dbServer?: unknown;
  client?: unknown;
  /** The site's own repository, the ref checked out (default main), the SSH key it is read with. */
  repository?: unknown;
  ref?: unknown;
  deployKey?: unknown;
}

/**
 * Sites: every change is a task. Input is checked here, before anything is written, so bad input
 * is a 4xx and leaves nothing behind; the task does the rest and undoes itself on failure.
 */
export class SitesService {
  constructor(
    private readonly sites: SitesRepository,
    private readonly platforms: PlatformsRepository,
    private readonly servers: ServersRepository,
    private readonly clients: ClientsRepository,
    private readonly packages: PackagesRepository,
    private readonly backups: BackupsRepository,
    private readonly queue: TaskQueue,
    private readonly archives: Pick<ArchiveStore, 'reserve'>,
    private readonly secrets: SecretBox,
    private readonly options: { releaseOldAfterMs: number },
    private readonly clusters: Pick<ClustersRepository, 'findByNameOrId' | 'heads'>,
    private readonly agents: { isConnected(serverId: string): Promise<boolean> },
    /** The off-site copies of archives (OffsiteRepository.copiesOf), shown with each backup. */
    private readonly offsite: Pick<OffsiteRepository, 'copiesOf'>,
  ) {}

  async install(
    principal: Principal,
    input: InstallSiteInput,
    options: { newRepository?: boolean } = {},
  ): Promise<{ site: SiteView; task: TaskView }> {
    const domain = validateSiteDomain('domain', input.domain);
    if (!domain.ok) throw new SitesError(SitesErrorCode.InvalidInput, domain.failure.message);
    const profile = validateName('profile', input.profile ?? 'standard');
    if (!profile.ok) throw new SitesError(SitesErrorCode.InvalidInput, profile.failure.message);
    if (typeof input.platform !== 'string' || input.platform === '') {
      throw new SitesError(SitesErrorCode.InvalidInput, 'platform is required');
    }
    const platform = await this.platformForNewSite(input.platform);
    const repository = siteRepositoryInput(input);
    if ((repository || options.newRepository) && platform.clusterId) {
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `a site on a cluster cannot have a repository of its own yet: install it on a platform of one server`,
      );
    }
    await this.refuseClaimed(domain.value);
    if (input.dbServer !== undefined && typeof input.dbServer !== 'string')
      throw new SitesError(SitesErrorCode.InvalidInput, 'dbServer must be a name');
    const webServer = await this.servers.findById(platform.serverId);
    if (!webServer) throw new Error(`the server of platform ${platform.name} is no longer in the registry`);
    const dbServer =
      input.dbServer === undefined ? webServer : await this.servers.findByNameOrId(input.dbServer);
    if (!dbServer) throw ServersError.notFound(String(input.dbServer));
    const placed = placeDatabase(webServer, dbServer);
    if (!placed.ok) throw new SitesError(SitesErrorCode.InvalidInput, placed.message);
    await this.refuseClusterDatabase(platform, dbServer.clusterId, placed.placement.dbHost);
    const clientId = await this.owner(principal, input.client, null);
    const site = await this.createSite({
      domain: domain.value,
      platformId: platform.id,
      clientId,
      ...placed.placement,
      profile: profile.value,
      ...(repository ? { repositoryUrl: repository.url, codeRef: repository.ref } : {}),
      ...(repository?.deployKey
        ? { repositoryKeyEncrypted: this.secrets.encrypt(repository.deployKey) }
        : {}),
    });
    const task = await this.queueFor(principal, site, 'site.install', {
      profile: profile.value,
      // The key is the site row's (sealed), sent with the fetch step only: never in the params.
      ...(repository
        ? { repository: { url: repository.url, ref: repository.ref } }
        : options.newRepository
          ? { newRepository: true as const }
          : {}),
    });
    return { site: this.view(site, await this.names()), task };
  }

  /**
   * A new site the short way (seed 000's `drush ns`): on the newest verified, unlocked platform of
   * one server for its Drupal major version (or the newest of all), with its own repository (the
   * one given, or one made on its web server with the layout), installed.
   */
  async newSite(
    principal: Principal,
    input: Omit<InstallSiteInput, 'platform'> & { platform?: unknown; core?: unknown },
  ): Promise<{ site: SiteView; task: TaskView; platform: string }> {
    if (input.platform !== undefined)
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        'a new site picks its platform: give core, or use install',
      );
    const core = input.core === undefined ? null : Number(input.core);
    if (core !== null && (!Number.isInteger(core) || core < 7 || core > 99))
      throw new SitesError(SitesErrorCode.InvalidInput, 'core must be a Drupal major version: 10, 11 ...');
    const platform = newestPlatform(await this.platforms.list(), core);
    if (!platform) {
      const major = core ?? 11;
      throw new SitesError(
        SitesErrorCode.PlatformNotReady,
        `no verified, unlocked platform of one server${core === null ? '' : ` runs Drupal ${core}`}: build one, e.g. ` +
          `berth platform build d${major} --composer-project drupal/recommended-project:^${major} --server SERVER`,
      );
    }
    const installed = await this.install(
      principal,
      { ...input, platform: platform.id },
      { newRepository: input.repository === undefined || input.repository === null },
    );
    return { ...installed, platform: platform.name };
  }

  /**
   * Clone: a new site made of a backup of this one, with its own database, user and password, on
   * the same platform or another (compatibility checked as for a migrate; the updates run on the
   * clone). The new site's row is created here, 'installing'; the task, on the source, does the rest.
   */
  async clone(
    principal: Principal,
    domain: string,
    input: CloneSiteInput,
  ): Promise<{ site: SiteView; task: TaskView }> {
    const source = await this.get(principal, domain);
    const newDomain = validateSiteDomain('domain', input.domain);
    if (!newDomain.ok) throw new SitesError(SitesErrorCode.InvalidInput, newDomain.failure.message);
    if (source.status !== 'enabled' && source.status !== 'disabled') {
      throw new SitesError(
        SitesErrorCode.WrongState,
        `${source.domain} is ${source.status}; only an enabled or disabled site can be cloned`,
      );
    }
    const sourcePlatform = await this.platforms.findByNameOrId(source.platformId);
    if (input.platform !== undefined && (typeof input.platform !== 'string' || input.platform === '')) {
      throw new SitesError(SitesErrorCode.InvalidInput, 'platform must be a platform name');
    }
    const target = await this.platformForNewSite(input.platform ?? source.platformId);
    if (target.id !== source.platformId) {
      refuse(
        incompatibilityRefusal(
          await this.compatibility(source, target),
          {
            refused: `${source.domain} cannot be cloned onto ${target.name}`,
            move: `cloning ${source.domain} onto ${target.name}`,
          },
          input.force === true,
        ),
      );
    }
    await this.refuseClaimed(newDomain.value);
    const clientId = await this.owner(principal, input.client, source.clientId);
    const placement = cloneDatabasePlacement(source, sourcePlatform!.serverId, target.serverId);
    const dbServer = await this.servers.findById(placement.dbServerId);
    await this.refuseClusterDatabase(target, dbServer?.clusterId ?? null, placement.dbHost);
    const site = await this.createSite({
      domain: newDomain.value,
      platformId: target.id,
      clientId,
      ...placement,
      profile: source.profile,
      // The copy of its directory holds the source's repository: deployed like the source's (its
      // commit is read from the checkout by the first deploy).
      ...(source.repositoryUrl
        ? {
            repositoryUrl: source.repositoryUrl,
            ...(source.codeRef ? { codeRef: source.codeRef } : {}),
            ...(source.repositoryKeyEncrypted
              ? { repositoryKeyEncrypted: source.repositoryKeyEncrypted }
              : {}),
          }
        : {}),
    });
    const task = await this.queueFor(principal, source, 'site.clone', {
      cloneSiteId: site.id,
      cloneDomain: site.domain,
      platform: target.name,
      archiveId: await this.archives.reserve(sourcePlatform!.serverId, 'backup'),
      secretsFrom: site.id,
    });
    return { site: this.view(site, await this.names()), task };
  }

  /**
   * Rename: the same site on the same platform under a new domain (its database stays). The old name
   * then answers nothing, or a permanent redirect to the new one when asked.
   */
  async rename(principal: Principal, domain: string, input: RenameSiteInput): Promise<TaskView> {
    const site = await this.get(principal, domain);
    const newDomain = validateSiteDomain('domain', input.domain);
    if (!newDomain.ok) throw new SitesError(SitesErrorCode.InvalidInput, newDomain.failure.message);
    if (input.redirect !== undefined && typeof input.redirect !== 'boolean') {
      throw new SitesError(SitesErrorCode.InvalidInput, 'redirect must be true or false');
    }
    if (newDomain.value === site.domain) {
      throw new SitesError(SitesErrorCode.InvalidInput, `${site.domain} already has that name`);
    }
    requireOffered(site, 'rename', 'can be renamed');
    await this.refuseClaimed(newDomain.value);
    const platform = await this.platforms.findByNameOrId(site.platformId);
    if (platform?.clusterId)
      throw new SitesError(
        SitesErrorCode.PlatformNotReady,
        `${site.domain} is on a cluster (platform ${platform.name}): renaming a site on a cluster is not supported yet`,
      );
    return this.queueFor(
      principal,
      site,
      'site.rename',
      {
        from: site.domain,
        domain: newDomain.value,
        archiveId: await this.archives.reserve(platform!.serverId, 'backup'),
        filesArchiveId: await this.archives.reserve(platform!.serverId, 'rename-files'),
        redirect: input.redirect === true,
      },
      { claimedDomain: newDomain.value },
    );
  }

  /**
   * A page of sites, filtered (`GET /api/sites?limit=&cursor=&status=&platform=&server=&client=&q=`).
   * A client's token lists only its own; `client` is for admins. Bad input is a 400 naming it.
   */
  async page(principal: Principal, input: SiteListInput): Promise<api.Page<SiteView>> {
    const limit = pageLimit(input.limit, DEFAULT_PAGE, invalidInput);
    const after = SITE_CURSOR.decode(input.cursor, invalidInput);
    const status = queryChoice('status', input.status, SITE_STATUSES, invalidInput);
    const q = queryText('q', input.q, invalidInput);
    const filter: SitePageQuery = { limit };
    if (after !== undefined) filter.after = after;
    if (status) filter.status = status;
    if (q) filter.q = q;
    const [clientName, platformName, serverName] = (['client', 'platform', 'server'] as const).map((name) =>
      queryText(name, input[name], invalidInput),
    );
    if (principal.role !== 'admin') filter.clientId = principal.clientId ?? '';
    else if (clientName) {
      const client = await this.clients.findByNameOrId(clientName);
      if (!client) throw new SitesError(SitesErrorCode.InvalidInput, `no client "${clientName}"`);
      filter.clientId = client.id;
    }
    if (platformName) {
      const platform = await this.platforms.findByNameOrId(platformName);
      if (!platform) throw PlatformsError.notFound(platformName);
      filter.platformId = platform.id;
    }
    if (serverName) {
      const server = await this.servers.findByNameOrId(serverName);
      if (!server) throw new SitesError(SitesErrorCode.InvalidInput, `no server "${serverName}"`);
      filter.serverId = server.id;
    }
    const { sites, more } = await this.sites.page(filter);
    const names = await this.names();
    const last = sites.at(-1);
    return {
      items: sites.map((site) => this.view(site, names)),
      next: more && last ? SITE_CURSOR.encode(last.domain) : null,
    };
  }

  async list(principal: Principal): Promise<SiteView[]> {
    const sites = await this.sites.list(
      principal.role === 'admin' ? {} : { clientId: principal.clientId ?? '' },
    );
    // One read of the (small) platform, server and client tables for the whole list, not three per site.
    const names = await this.names();
    return sites.map((site) => this.view(site, names));
  }

  async show(principal: Principal, domain: string): Promise<SiteView & { packages: api.Package[] }> {
    const site = await this.get(principal, domain);
    return {
      ...this.view(site, await this.names()),
      cron: await this.cronOf(site),
      deployHooks: await this.deployHooksOf(site),
      packages: await this.packages.list({ siteId: site.id }),
    };
  }

  /**
   * Deploys a ref of the site's own repository (task site.deploy): planned here (the site has a
   * repository, is enabled and on one server; the ref is one), the rehearsal named, its two
   * archives reserved, the hooks that apply fixed.
   */
  async deploy(principal: Principal, domain: string, input: { ref?: unknown }): Promise<TaskView> {
    const site = await this.get(principal, domain);
    const ref = validateGitRef('ref', input.ref);
    if (!ref.ok) throw new SitesError(SitesErrorCode.InvalidInput, ref.failure.message);
    if (!site.repositoryUrl) {
      throw new SitesError(
        SitesErrorCode.WrongState,
        `${site.domain} has no repository of its own: only a site installed with --repo is deployed (its platform's code changes with \`berth platform update\`)`,
      );
    }
    if (site.status !== 'enabled') {
      throw new SitesError(
        SitesErrorCode.WrongState,
        `${site.domain} is ${site.status}; only an enabled site is deployed`,
      );
    }
    const platform = (await this.platforms.findByNameOrId(site.platformId))!;
    if (platform.clusterId) {
      throw new SitesError(
        SitesErrorCode.WrongState,
        `${site.domain} is on a cluster: a site repository on a cluster is not deployed yet`,
      );
    }
    const named = scratchSiteNames('rehearsal', site.domain, randomBytes(4));
    if (!named.ok) throw new SitesError(SitesErrorCode.InvalidInput, named.message);
    const hooks = (await this.deployHooksOf(site)).effective;
    return this.queueFor(principal, site, 'site.deploy', {
      ref: ref.value,
      rehearsal: named.scratch,
      ...(hooks.length > 0 ? { hooks } : {}),
      backupArchiveId: await this.archives.reserve(platform.serverId, 'backup'),
      rollbackArchiveId: await this.archives.reserve(site.dbServerId, 'rollback-point'),
    });
  }

  /**
   * The site's own deploy hooks (null: its platform's), run in order after the database updates
   * whenever its code changes (a migrate to another platform, a platform update).
   */
  async setDeployHooks(principal: Principal, domain: string, hooks: unknown): Promise<api.SiteDeployHooks> {
    const site = await this.get(principal, domain);
    let own: DeployHook[] | null = null;
    if (hooks !== null) {
      const valid = validateDeployHooks('hooks', hooks);
      if (!valid.ok)
        throw new SitesError(SitesErrorCode.InvalidInput, `${valid.failure.message} (null: the platform's)`);
      own = valid.value;
    }
    await this.sites.setDeployHooks(site.id, own);
    return this.deployHooksOf({ ...site, deployHooks: own });
  }

  /** The hooks that apply to a site: its own list, else its platform's. */
  async deployHooksOf(site: Pick<SiteEntity, 'platformId' | 'deployHooks'>): Promise<api.SiteDeployHooks> {
    const platform = await this.platforms.findByNameOrId(site.platformId);
    return { own: site.deployHooks, effective: site.deployHooks ?? platform?.deployHooks ?? [] };
  }

  async verify(principal: Principal, domain: string): Promise<TaskView> {
    return this.queueFor(principal, await this.get(principal, domain), 'site.verify', {});
  }

  async backup(principal: Principal, domain: string): Promise<TaskView> {
    const site = await this.get(principal, domain);
    const platform = await this.platforms.findByNameOrId(site.platformId);
    const archiveId = await this.archives.reserve(platform!.serverId, 'backup');
    return this.queueFor(principal, site, 'site.backup', { archiveId });
  }

  /**
   * A policy's scheduled backup of a site, to be queued in its firing's transaction, at a
   * schedule's priority (people's tasks go first); null when the site is not enabled any more. An
   * archive reserved for a firing another master started is never named, and the collector takes it.
   */
  async scheduledBackup(siteId: string): Promise<NewTask<'site.backup'> | null> {
    const site = await this.sites.findByDomainOrId(siteId);
    if (site?.status !== 'enabled') return null;
    const platform = await this.platforms.findByNameOrId(site.platformId);
    if (!platform) return null;
    return {
      type: 'site.backup',
      targetId: site.id,
      targetName: site.domain,
      lockKey: `site:${site.id}`,
      params: { archiveId: await this.archives.reserve(platform.serverId, 'backup'), reason: 'scheduled' },
      clientId: site.clientId,
      createdBy: 'scheduler',
      priority: TASK_PRIORITY.scheduled,
    };
  }

  /**
   * A site's backups, newest first (`GET /api/sites/{domain}/backups?limit=&cursor=`): every one
   * without limit or cursor, else a page; with the count and bytes of all of them either way. An
   * admin also reads a deleted site's (by its domain). Bad input is a 400 naming it.
   */
  async listBackups(
    principal: Principal,
    domain: string,
    input: BackupListInput = {},
  ): Promise<api.BackupPage> {
    const site = await this.sites.findByDomainOrId(domain);
    if (site && principal.role !== 'admin' && site.clientId !== principal.clientId)
      throw SitesError.notFound(domain);
    if (!site && principal.role !== 'admin') throw SitesError.notFound(domain);
    const paged = asksForPage(input, ['limit', 'cursor']);
    const limit = pageLimit(input.limit, DEFAULT_BACKUP_PAGE, invalidInput);
    const after = BACKUP_CURSOR.decode(input.cursor, invalidInput);
    const of: BackupsOf = site ? { siteId: site.id, domain: site.domain } : { domain };
    const [{ backups, next }, total] = await Promise.all([
      paged
        ? this.backups.page(of, { limit, ...(after ? { after } : {}) })
        : this.backups.listFor(of).then((backups) => ({ backups, next: null })),
      this.backups.total(of),
    ]);
    return {
      items: await this.backupViews(backups),
      next: next ? BACKUP_CURSOR.encode(next) : null,
      total,
    };
  }

  private async backupViews(backups: readonly BackupEntity[]): Promise<BackupView[]> {
    const copies = await this.offsite.copiesOf(
      backups.flatMap((backup) =>
        backup.databaseArchiveId ? [backup.archiveId, backup.databaseArchiveId] : [backup.archiveId],
      ),
    );
    return backups.map((backup) => backupView(backup, copies));
  }

  async restore(principal: Principal, domain: string, backupId: unknown): Promise<TaskView> {
    const site = await this.get(principal, domain);
    const backup =
      typeof backupId === 'string' ? await this.backups.findById(backupId).catch(() => null) : null;
    if (!backup || backup.siteId !== site.id) {
      throw new SitesError(
        SitesErrorCode.BackupNotFound,
        `no backup "${String(backupId)}" of ${site.domain}; \`berth site backups ${site.domain}\` lists them`,
      );
    }
    const platform = await this.platforms.findByNameOrId(site.platformId);
    const preArchiveId = await this.archives.reserve(platform!.serverId, 'backup');
    return this.queueFor(principal, site, 'site.restore', { backupId: backup.id, preArchiveId });
  }

  async deleteBackup(principal: Principal, domain: string, backupId: string): Promise<TaskView> {
    const site = await this.get(principal, domain);
    const backup = isUuid(backupId) ? await this.backups.findById(backupId) : null;
    if (!backup || backup.siteId !== site.id) {
      throw new SitesError(SitesErrorCode.BackupNotFound, `no backup "${backupId}" of ${site.domain}`);
    }
    return this.queueFor(principal, site, 'site.backup-delete', { backupId: backup.id });
  }

  /**
   * A restore test of one of the site's backups (its newest when none is named): checked, restored
   * into a scratch site beside it, probed, removed (site.backup-verify).
   */
  async verifyBackup(principal: Principal, domain: string, backupId: unknown): Promise<TaskView> {
    const site = await this.get(principal, domain);
    requireOffered(site, 'backup-verify', 'can have its backups tested');
    const backup = await this.backupToVerify(site, backupId);
    return this.queueFor(principal, site, 'site.backup-verify', {
      backupId: backup.id,
      scratch: scratchFor(site),
    });
  }

  /**
   * A policy's scheduled restore test of a site's newest backup (see scheduledBackup); null when
   * the site is not enabled any more or has no backup yet.
   */
  async scheduledVerify(siteId: string): Promise<NewTask<'site.backup-verify'> | null> {
    const site = await this.sites.findByDomainOrId(siteId);
    if (site?.status !== 'enabled') return null;
    const newest = await this.backups.newestOf(site.id);
    if (!newest) return null;
    return {
      type: 'site.backup-verify',
      targetId: site.id,
      targetName: site.domain,
      lockKey: `site:${site.id}`,
      params: { backupId: newest.id, scratch: scratchFor(site), reason: 'scheduled' },
      clientId: site.clientId,
      createdBy: 'scheduler',
      priority: TASK_PRIORITY.scheduled,
    };
  }

  private async backupToVerify(site: SiteEntity, backupId: unknown): Promise<BackupEntity> {
    if (backupId === undefined || backupId === null || backupId === 'latest') {
      const newest = await this.backups.newestOf(site.id);
      if (!newest) {
        throw new SitesError(
          SitesErrorCode.BackupNotFound,
          `${site.domain} has no backup to test yet; back it up first: berth site backup ${site.domain}`,
        );
      }
      return newest;
    }
    const backup =
      typeof backupId === 'string' && isUuid(backupId) ? await this.backups.findById(backupId) : null;
    if (!backup || backup.siteId !== site.id) {
      throw new SitesError(
        SitesErrorCode.BackupNotFound,
        `no backup ${JSON.stringify(backupId)} of ${site.domain}; \`berth site backups ${site.domain}\` lists them`,
      );
    }
    return backup;
  }

  /** Aegir's package comparison of a site against a target platform (also what migrate checks first). */
  async migrateCheck(principal: Principal, domain: string, platform: unknown): Promise<MigrateCheck> {
    const site = await this.get(principal, domain);
    const target = await this.migrateTarget(platform);
    refuse(migrateTargetRefusal(site, target));
    return { site, target, report: await this.compatibility(site, target) };
  }

  /** The platforms a site could move to: verified, other than its own (each with its migrate-check). */
  async migrateCandidates(principal: Principal, domain: string): Promise<MigrateCandidate[]> {
    const site = await this.get(principal, domain);
    return migrateCandidates(site, await this.platforms.list());
  }

  /**
   * Migrate: planned first (planMigrate: the target, the site's state, the packages, the
   * rehearsal's names), then its two archives reserved, then queued.
   */
  async migrate(
    principal: Principal,
    domain: string,
    input: {
      platform?: unknown;
      dbServer?: unknown;
      withoutHeads?: unknown;
      force?: unknown;
      strategy?: unknown;
    },
    parentTaskId: string | null = null,
  ): Promise<TaskView> {
    const site = await this.get(principal, domain);
    if (input.dbServer !== undefined && (typeof input.dbServer !== 'string' || input.dbServer === ''))
      throw new SitesError(SitesErrorCode.InvalidInput, 'dbServer must be a server name');
    const strategy = migrateStrategy(input.strategy);
    if (input.platform === undefined && input.dbServer === undefined) {
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        'platform or dbServer is required: the target platform, the db server, or both',
      );
    }
    const platform = await this.platforms.findByNameOrId(site.platformId);
    const target = input.platform === undefined ? platform! : await this.migrateTarget(input.platform);
    refuseClusterMove(site, platform!, target, input.dbServer !== undefined);
    if (strategy === 'blue-green' && platform!.clusterId)
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `${site.domain} is on a cluster: a blue-green migrate switches one web server (not supported on clusters yet)`,
      );
    const withoutHeads = await this.headsLeftOut(platform!, input.withoutHeads);
    const [from, to] = await Promise.all([
      this.servers.findById(platform!.serverId),
      this.servers.findById(target.serverId),
    ]);
    if (!from || !to)
      throw new Error(`the servers of ${site.domain}'s platforms are no longer in the registry`);
    const plan = planMigrate({
      site,
      target,
      report: await this.compatibility(site, target),
      force: input.force === true,
      random: randomBytes(4),
      servers: { from, to },
      releaseOldAfterMs: this.options.releaseOldAfterMs,
      ...(typeof input.dbServer === 'string' ? { db: await this.dbTarget(site, input.dbServer) } : {}),
      strategy,
    });
    if (!plan.ok) throw refusalError(plan);
    return this.queueFor(
      principal,
      site,
      'site.migrate',
      {
        ...plan.params,
        ...(withoutHeads.length > 0 ? { withoutHeads } : {}),
        backupArchiveId: await this.archives.reserve(platform!.serverId, 'backup'),
        rollbackArchiveId: await this.archives.reserve(site.dbServerId, 'rollback-point'),
      },
      { parentTaskId },
    );
  }

  /** The db server a migrate moves a site's database to, with whether its name is taken there. */
  private async dbTarget(site: SiteEntity, name: string): Promise<MigrateDbTarget> {
    const server = await this.servers.findByNameOrId(name);
    if (!server) throw ServersError.notFound(name);
    const there = await this.sites.findByDatabase(server.id, site.dbName);
    return {
      id: server.id,
      name: server.name,
      roles: server.roles,
      address: server.address,
      nameTaken: there !== null && there.id !== site.id,
    };
  }

  async disable(principal: Principal, domain: string): Promise<TaskView> {
    const site = await this.get(principal, domain);
    requireOffered(site, 'disable', 'can be disabled');
    return this.queueFor(principal, site, 'site.disable', {});
  }

  async enable(principal: Principal, domain: string): Promise<TaskView> {
    const site = await this.get(principal, domain);
    requireOffered(site, 'enable', 'can be enabled');
    return this.queueFor(principal, site, 'site.enable', {});
  }

  async delete(principal: Principal, domain: string, force: boolean): Promise<TaskView> {
    const site = await this.get(principal, domain);
    if (!force && !siteActions(site.status).includes('delete')) {
      throw new SitesError(
        SitesErrorCode.WrongState,
        `${site.domain} is ${site.status}: disable it first (\`berth site disable ${site.domain}\`) or delete with --force`,
      );
    }
    const platform = await this.platforms.findByNameOrId(site.platformId);
    const archiveId = await this.archives.reserve(platform!.serverId, 'backup');
    return this.queueFor(principal, site, 'site.delete', { archiveId, force });
  }

  /** Release-old: refused when the site keeps no copy on a server it moved from. */
  async releaseOld(principal: Principal, domain: string): Promise<TaskView> {
    const site = await this.get(principal, domain);
    if (!site.previousPlatformId) {
      throw new SitesError(
        SitesErrorCode.WrongState,
        `${site.domain} keeps no copy on another server: it has not moved, or was released already`,
      );
    }
    return this.queueFor(principal, site, 'site.release-old', {});
  }

  /**
   * The sites whose grace period on the server they moved from is over, each released (queued
   * once: a site that has a release queued or running is skipped). Returns how many were queued.
   */
  async releaseDue(principal: Principal, now: Date): Promise<number> {
    let queued = 0;
    for (const site of await this.sites.dueForRelease(now, 50)) {
      if (await this.queue.hasOpen(site.id, 'site.release-old')) continue;
      await this.queueFor(principal, site, 'site.release-old', {});
      queued += 1;
    }
    return queued;
  }

  /**
   * A failed or cancelled site task again, through the same method its command calls (its state
   * checks, fresh archives); a scheduled backup stays a scheduled one for retention. Undefined for
   * install, clone and rename: they made the row they work on, so they start again with their command.
   */
  async retry(principal: Principal, task: TaskEntity): Promise<TaskView | undefined> {
    const domain = task.targetId;
    switch (task.type) {
      case 'site.verify':
        return this.verify(principal, domain);
      case 'site.backup': {
        const params = task.params as TaskParams<'site.backup'>;
        if (params.reason !== 'scheduled') return this.backup(principal, domain);
        const site = await this.get(principal, domain);
        const again = await this.scheduledBackup(site.id);
        if (!again) {
          refuse(stateRefusal(site, 'backup', 'can be backed up'));
          throw new SitesError(SitesErrorCode.PlatformNotReady, `the platform of ${site.domain} is gone`);
        }
        return this.queue.queue({ ...again, createdBy: principal.name });
      }
      case 'site.restore':
        return this.restore(principal, domain, (task.params as TaskParams<'site.restore'>).backupId);
      case 'site.backup-verify':
        return this.verifyBackup(
          principal,
          domain,
          (task.params as TaskParams<'site.backup-verify'>).backupId,
        );
      case 'site.backup-delete':
        return this.deleteBackup(
          principal,
          domain,
          (task.params as TaskParams<'site.backup-delete'>).backupId,
        );
      case 'site.migrate': {
        const params = task.params as TaskParams<'site.migrate'>;
        return this.migrate(principal, domain, {
          platform: params.targetPlatformId,
          ...(params.targetDb ? { dbServer: params.targetDb.serverId } : {}),
          ...(params.withoutHeads?.length
            ? { withoutHeads: params.withoutHeads.map((head) => head.name) }
            : {}),
        });
      }
      case 'site.disable':
        return this.disable(principal, domain);
      case 'site.enable':
        return this.enable(principal, domain);
      case 'site.delete':
        return this.delete(principal, domain, (task.params as TaskParams<'site.delete'>).force);
      case 'site.login-reset':
        return this.loginReset(principal, domain);
      case 'site.cron':
        return this.cron(principal, domain);
      case 'site.release-old':
        return this.releaseOld(principal, domain);
      case 'site.deploy':
        return this.deploy(principal, domain, { ref: (task.params as TaskParams<'site.deploy'>).ref });
      // They made the site row they work on: started again with their own command.
      case 'site.install':
      case 'site.clone':
      case 'site.rename':
        return undefined;
      // A project's task on a site (it names its source): started again with berth env sync.
      case 'site.sync':
        return undefined;
      // A change to its edge is checked against the edge as it is then: asked for again with berth
      // site alias / https / php (https --renew for a certificate).
      case 'site.edge':
      case 'site.certificate':
        return undefined;
      // Not site tasks.
      case 'server.verify':
      case 'server.transfer-check':
      case 'server.drain':
      case 'platform.verify':
      case 'platform.migrate-sites':
      case 'platform.build':
      case 'platform.pull':
      case 'platform.update':
      case 'platform.diff':
      case 'cluster.verify':
      case 'cluster.sync-head':
      case 'store.gc':
      case 'debug.sleep':
      case 'debug.noop':
        return undefined;
    }
  }

  /** Drupal's cron now, at a person's priority. */
  async cron(principal: Principal, domain: string): Promise<TaskView> {
    const site = await this.get(principal, domain);
    requireOffered(site, 'cron', 'runs cron');
    return this.queueFor(principal, site, 'site.cron', {});
  }

  /** How often the site's cron runs on its own (0: only when asked for). */
  async setCron(principal: Principal, domain: string, everyMinutes: unknown): Promise<SiteCron> {
    const site = await this.get(principal, domain);
    if (
      typeof everyMinutes !== 'number' ||
      !Number.isInteger(everyMinutes) ||
      everyMinutes < 0 ||
      everyMinutes > CRON_MAX_MINUTES
    ) {
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `everyMinutes must be a whole number of minutes from 1 to ${CRON_MAX_MINUTES} (a week), or 0 for never on its own`,
      );
    }
    await this.sites.setCronEvery(site.id, everyMinutes);
    return this.cronOf({ ...site, cronEveryMinutes: everyMinutes });
  }

  /** A scheduled cron run of a site (see scheduledBackup); null when it is not enabled any more. */
  async scheduledCron(siteId: string): Promise<NewTask<'site.cron'> | null> {
    const site = await this.sites.findByDomainOrId(siteId);
    if (site?.status !== 'enabled') return null;
    return {
      type: 'site.cron',
      targetId: site.id,
      targetName: site.domain,
      lockKey: `site:${site.id}`,
      params: {},
      clientId: site.clientId,
      createdBy: 'scheduler',
      priority: TASK_PRIORITY.scheduled,
    };
  }

  private async cronOf(site: Pick<SiteEntity, 'id' | 'cronEveryMinutes'>): Promise<SiteCron> {
    const runs = await this.queue.recent(site.id, 'site.cron', CRON_RUNS_LOOKED_AT);
    const finished = runs.filter((run) => run.finishedAt !== null);
    const last = finished[0];
    const lastSuccess = finished.findIndex((run) => run.state === 'succeeded');
    return {
      everyMinutes: site.cronEveryMinutes,
      offsetSeconds: site.cronEveryMinutes > 0 ? cronOffsetSeconds(site.id, site.cronEveryMinutes) : 0,
      lastRun: last
        ? {
            taskId: last.id,
            state: last.state,
            at: (last.startedAt ?? last.createdAt).toISOString(),
            durationMs: (last.result as { durationMs?: number } | null)?.durationMs ?? null,
            error: last.error,
          }
        : null,
      failuresInARow: (lastSuccess === -1 ? finished : finished.slice(0, lastSuccess)).filter(
        (run) => run.state === 'failed',
      ).length,
    };
  }

  async loginReset(principal: Principal, domain: string): Promise<TaskView> {
    return this.queueFor(principal, await this.get(principal, domain), 'site.login-reset', {});
  }

  async get(principal: Principal, domain: string): Promise<SiteEntity> {
    const site = await this.sites.findByDomainOrId(domain);
    if (!site || (principal.role !== 'admin' && site.clientId !== principal.clientId))
      throw SitesError.notFound(domain);
    return site;
  }

  /** A platform a new site may go on: verified and not locked. */
  private async platformForNewSite(nameOrId: string): Promise<PlatformEntity> {
    const platform = await this.platforms.findByNameOrId(nameOrId);
    if (!platform) throw PlatformsError.notFound(nameOrId);
    if (platform.status !== 'verified') {
      throw new SitesError(
        SitesErrorCode.PlatformNotReady,
        `platform ${platform.name} is ${platform.status}, not verified: run \`berth platform verify ${platform.name}\``,
      );
    }
    if (platform.locked) {
      throw new SitesError(
        SitesErrorCode.PlatformNotReady,
        `platform ${platform.name} is locked: it takes no new sites`,
      );
    }
    return platform;
  }

  /**
   * A site on a cluster platform is served by every head: its files in the directory the heads
   * were seen to share, its database on a server of its own that every head reaches at one address.
   */
  private async refuseClusterDatabase(
    platform: PlatformEntity,
    dbClusterId: string | null,
    dbHost: string,
  ): Promise<void> {
    if (!platform.clusterId) return;
    const cluster = await this.clusters.findByNameOrId(platform.clusterId);
    if (!cluster) throw new Error(`the cluster of platform ${platform.name} is no longer in the registry`);
    if (!cluster.sitesSharedAt)
      throw new SitesError(
        SitesErrorCode.PlatformNotReady,
        `the heads of cluster ${cluster.name} were not seen to share one site directory: mount it at each ` +
          `head's <root>/sites and run \`berth cluster verify ${cluster.name}\``,
      );
    if (dbHost === '127.0.0.1' || dbClusterId === platform.clusterId)
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `platform ${platform.name} is on cluster ${cluster.name}: its sites need their database on a db ` +
          'server that is not one of its heads (--db-server)',
      );
  }

  /**
   * The heads a migrate on a cluster goes on without (--without-head): heads of the site's cluster
   * whose agents are down (a connected head takes the switch with the others), and never all.
   */
  private async headsLeftOut(
    platform: PlatformEntity,
    input: unknown,
  ): Promise<Array<{ serverId: string; name: string }>> {
    if (input === undefined) return [];
    if (
      !Array.isArray(input) ||
      input.length > 64 ||
      !input.every((name) => typeof name === 'string' && name)
    )
      throw new SitesError(SitesErrorCode.InvalidInput, 'withoutHeads must be a list of head names');
    if (!platform.clusterId)
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `platform ${platform.name} is not on a cluster: there are no heads to go on without`,
      );
    const heads = await this.clusters.heads(platform.clusterId);
    const left: Array<{ serverId: string; name: string }> = [];
    for (const name of new Set(input as string[])) {
      const head = heads.find((server) => server.name === name || server.id === name);
      if (!head)
        throw new SitesError(
          SitesErrorCode.InvalidInput,
          `${name} is not a head of the cluster of ${platform.name}`,
        );
      if (await this.agents.isConnected(head.id))
        throw new SitesError(
          SitesErrorCode.InvalidInput,
          `${head.name}'s agent is connected: it takes the switch with the other heads`,
        );
      left.push({ serverId: head.id, name: head.name });
    }
    if (
      heads.filter((head) => !head.staleSince && !left.some((out) => out.serverId === head.id)).length === 0
    )
      throw new SitesError(SitesErrorCode.InvalidInput, 'no head would be left to serve the site');
    return left;
  }

  /** A domain a site has, or a task is giving a site (a rename), is refused before anything is written. */
  private async refuseClaimed(domain: string): Promise<void> {
    if ((await this.sites.hasDomain(domain)) || (await this.queue.isDomainClaimed(domain))) {
      throw new SitesError(SitesErrorCode.DomainTaken, `a site ${domain} already exists`);
    }
  }

  /** Who owns a new site: an admin may name a client; a client's own sites are its own. */
  private async owner(
    principal: Principal,
    client: unknown,
    fallback: string | null,
  ): Promise<string | null> {
    if (principal.role === 'client') return principal.clientId;
    if (client === undefined) return fallback;
    if (typeof client !== 'string')
      throw new SitesError(SitesErrorCode.InvalidInput, 'client must be a name');
    const found = await this.clients.findByNameOrId(client);
    if (!found) throw ClientsError.notFound(client);
    return found.id;
  }

  /** A new site's row, 'installing', with its own database names and encrypted password. */
  private async createSite(input: {
    domain: string;
    platformId: string;
    clientId: string | null;
    dbServerId: string;
    dbHost: string;
    dbPort: number;
    profile: string;
    repositoryUrl?: string;
    codeRef?: string;
    repositoryKeyEncrypted?: string;
  }): Promise<SiteEntity> {
    const names = siteDatabaseNames(input.domain);
    try {
      return await this.sites.create({
        ...input,
        dbName: names.database,
        dbUser: names.user,
        dbPasswordEncrypted: this.secrets.encrypt(newDatabasePassword()),
        hashSaltEncrypted: null,
        status: 'installing',
      });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_sites_domain')) {
        throw new SitesError(SitesErrorCode.DomainTaken, `a site ${input.domain} already exists`);
      }
      throw error;
    }
  }

  /** Aegir's comparison of a site's packages (and its platform's core) with a target platform's. */
  private compatibility(site: SiteEntity, target: PlatformEntity): Promise<CompatibilityReport> {
    return siteCompatibility(this.packages, site, target.id);
  }

  private async migrateTarget(platform: unknown): Promise<PlatformEntity> {
    if (typeof platform !== 'string' || platform === '') {
      throw new SitesError(SitesErrorCode.InvalidInput, 'platform is required: the target platform');
    }
    const target = await this.platforms.findByNameOrId(platform);
    if (!target) throw PlatformsError.notFound(platform);
    return target;
  }

  /** A task on the site, holding its lock (one task per site at a time). */
  queueFor<T extends TaskType>(
    principal: Principal,
    site: SiteEntity,
    type: T,
    params: TaskParams<T>,
    extra: { parentTaskId?: string | null; claimedDomain?: string } = {},
  ): Promise<TaskView> {
    return this.queue.queue({
      type,
      targetId: site.id,
      targetName: site.domain,
      lockKey: `site:${site.id}`,
      params,
      clientId: site.clientId,
      createdBy: principal.name,
      ...extra,
    });
  }

  /** Names of platforms, servers and clients by id: what a site view shows instead of ids. */
  private async names(): Promise<NameMaps> {
    const [platforms, servers, clients] = await Promise.all([
      this.platforms.list(),
      this.servers.list(),
      this.clients.list(),
    ]);
    const byId = (rows: Array<{ id: string; name: string }>) =>
      new Map(rows.map((row) => [row.id, row.name]));
    return { platforms: byId(platforms), servers: byId(servers), clients: byId(clients) };
  }

  private view(site: SiteEntity, names: NameMaps): SiteView {
    return {
      id: site.id,
      domain: site.domain,
      status: site.status,
      platform: names.platforms.get(site.platformId) ?? site.platformId,
      client: site.clientId ? (names.clients.get(site.clientId) ?? null) : null,
      dbServer: names.servers.get(site.dbServerId) ?? site.dbServerId,
      profile: site.profile,
      url: `http://${site.domain}/`,
      verifiedAt: site.verifiedAt?.toISOString() ?? null,
      createdAt: site.createdAt.toISOString(),
      actions: siteActions(site.status),
      code: siteCode(site),
    };
  }
}

/**
 * A migrate on a cluster switches every head from one of its platforms to another; a site moves
 * into, out of or between clusters, or its database with it, not yet.
 */
/** The migrate's strategy from a request: `in-place` (the default) or `blue-green`. */
function migrateStrategy(value: unknown): MigrateStrategy {
  if (value === undefined || value === null) return 'in-place';
  if (typeof value === 'string' && (MIGRATE_STRATEGIES as readonly string[]).includes(value))
    return value as MigrateStrategy;
  throw new SitesError(
    SitesErrorCode.InvalidInput,
    `strategy must be one of ${MIGRATE_STRATEGIES.join(', ')}, not ${JSON.stringify(value).slice(0, 64)}`,
  );
}

function refuseClusterMove(
  site: SiteEntity,
  from: PlatformEntity,
  to: PlatformEntity,
  movesDatabase: boolean,
): void {
  if (!from.clusterId && !to.clusterId) return;
  if (from.clusterId !== to.clusterId)
    throw new SitesError(
      SitesErrorCode.PlatformNotReady,
      `${site.domain} cannot go from ${from.name} to ${to.name}: a site moves between the platforms of ` +
        'one cluster, not into, out of or between clusters (not supported yet)',
    );
  if (movesDatabase)
    throw new SitesError(
      SitesErrorCode.PlatformNotReady,
      `${site.domain} is on a cluster: moving its database to another db server is not supported yet`,
    );
}

/** Refuses a task the site does not offer in its state, saying which state it needs. */
function requireOffered(site: SiteEntity, action: SiteAction, does: string): void {
  refuse(stateRefusal(site, action, does));
}

/** Throws a planned refusal, if there is one, as the API's error. */
function refuse(refusal: Refusal | null): void {
  if (refusal) throw refusalError(refusal);
}

function refusalError(refusal: Refusal): SitesError {
  return new SitesError(refusal.code, refusal.message, refusal.details);
}

/** A scratch site's names beside a site (a restore test's): `verify-<hex>.<domain>`. */
function scratchFor(site: SiteEntity): ScratchSite {
  const named = scratchSiteNames('verify', site.domain, randomBytes(8));
  if (!named.ok) throw new SitesError(SitesErrorCode.InvalidInput, named.message);
  return named.scratch;
}

/** Both archives of a backup, as its manifest records them (a dump of its own, or inside). */
function backupBytes(backup: BackupEntity): number {
  const { archive, database } = backup.manifest as {
    archive?: { bytes?: unknown };
    database?: { bytes?: unknown } | null;
  };
  const files = typeof archive?.bytes === 'number' ? archive.bytes : 0;
  const dump = backup.databaseArchiveId && typeof database?.bytes === 'number' ? database.bytes : 0;
  return files + dump;
}

/**
 * A backup's copies per target: copied when every archive of it is; else the state of the one that
 * is not (failed or removing before pending), with its error.
 */
function offsiteView(backup: BackupEntity, copies: readonly CopyOfArchive[]): api.BackupOffsiteCopy[] {
  const parts = [backup.archiveId, ...(backup.databaseArchiveId ? [backup.databaseArchiveId] : [])];
  const byTarget = new Map<string, CopyOfArchive[]>();
  for (const copy of copies) {
    if (!parts.includes(copy.archiveId)) continue;
    byTarget.set(copy.targetName, [...(byTarget.get(copy.targetName) ?? []), copy]);
  }
  const worst: api.BackupOffsiteCopy['state'][] = ['failed', 'removing', 'pending'];
  return [...byTarget].map(([target, of]) => {
    const notCopied = worst.flatMap((state) => of.filter((copy) => copy.state === state))[0];
    const whole = of.length === parts.length && !notCopied;
    const copiedAt = whole ? Math.max(...of.map((copy) => new Date(copy.copiedAt ?? 0).getTime())) : null;
    return {
      target,
      state: whole ? 'copied' : (notCopied?.state ?? 'pending'),
      copiedAt: copiedAt === null ? null : new Date(copiedAt).toISOString(),
      lastError: notCopied?.lastError ?? null,
    };
  });
}

function backupView(backup: BackupEntity, copies: readonly CopyOfArchive[]): BackupView {
  return {
    id: backup.id,
    archiveId: backup.archiveId,
    databaseArchiveId: backup.databaseArchiveId,
    bytes: backupBytes(backup),
    domain: backup.domain,
    reason: backup.reason,
    createdAt: backup.createdAt.toISOString(),
    manifest: backup.manifest,
    verifiedAt: backup.verifiedAt?.toISOString() ?? null,
    verifyFailedAt: backup.verifyFailedAt?.toISOString() ?? null,
    offsite: offsiteView(backup, copies),
  };
}

/** install's repository and ref, checked: none, or a URL git may fetch and a ref (default main). */
function siteRepositoryInput(
  input: InstallSiteInput,
): { url: string; ref: string; deployKey: string | null } | null {
  if (input.repository === undefined || input.repository === null) {
    if (input.deployKey !== undefined)
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        'deployKey needs repository: the site repository it reads',
      );
    if (input.ref !== undefined)
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        'ref needs repository: the site repository to check out',
      );
    return null;
  }
  const url = validateGitUrl('repository', input.repository);
  if (!url.ok) throw new SitesError(SitesErrorCode.InvalidInput, url.failure.message);
  const ref = validateGitRef('ref', input.ref ?? 'main');
  if (!ref.ok) throw new SitesError(SitesErrorCode.InvalidInput, ref.failure.message);
  let deployKey: string | null = null;
  if (input.deployKey !== undefined) {
    const key = validateDeployKey('deployKey', input.deployKey);
    if (!key.ok) throw new SitesError(SitesErrorCode.InvalidInput, key.failure.message);
    deployKey = key.value;
  }
  return { url: url.value, ref: ref.value, deployKey };
}

/**
 * The platform a new site goes on: verified, unlocked, on one server, of Drupal `core` when given;
 * the newest core version of those (then the newest platform).
 */
export function newestPlatform<
  P extends {
    status: string;
    locked: boolean;
    clusterId: string | null;
    coreVersion: string | null;
    createdAt: Date;
  },
>(platforms: readonly P[], core: number | null): P | null {
  const version = (text: string | null) =>
    (text ?? '').split('.').map((part) => Number.parseInt(part, 10) || 0);
  const newer = (a: P, b: P) => {
    const [x, y] = [version(a.coreVersion), version(b.coreVersion)];
    for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
      if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    }
    return a.createdAt.getTime() - b.createdAt.getTime();
  };
  const candidates = platforms.filter(
    (platform) =>
      platform.status === 'verified' &&
      !platform.locked &&
      !platform.clusterId &&
      platform.coreVersion !== null &&
      (core === null || version(platform.coreVersion)[0] === core),
  );
  return candidates.sort(newer).at(-1) ?? null;
}

/** A site's own repository as the API shows it (the key only as whether there is one); null without one. */
export function siteCode(
  site: Pick<SiteEntity, 'repositoryUrl' | 'codeRef' | 'codeCommit' | 'repositoryKeyEncrypted'>,
): api.Site['code'] {
  return site.repositoryUrl
    ? {
        repository: site.repositoryUrl,
        ref: site.codeRef,
        commit: site.codeCommit,
        deployKey: site.repositoryKeyEncrypted !== null,
      }
    : null;
}
