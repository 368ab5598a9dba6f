import { isUuid, validateHostname, validateName } from '../../../shared/src/validation.js';
import type { Principal } from '../auth/auth.service.js';
import type { BackupEntity } from '../backups/backup.entity.js';
import type { BackupsRepository } from '../backups/backups.repository.js';
import type { ClientsRepository } from '../clients/clients.repository.js';
import { ClientsError } from '../clients/clients.errors.js';
import type { SecretBox } from '../infra/crypto/secret-box.js';
import { isUniqueViolation } from '../infra/db/sql.js';
import type { PackageRow, PackagesRepository } from '../packages/packages.repository.js';
import type { PlatformsRepository } from '../platforms/platforms.repository.js';
import { PlatformsError } from '../platforms/platforms.errors.js';
import type { ServersRepository } from '../servers/servers.repository.js';
import { ServersError } from '../servers/servers.errors.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import type { TasksRepository } from '../tasks/tasks.repository.js';
import type { TasksService, TaskView } from '../tasks/tasks.service.js';
import type { TaskType } from '../../../shared/src/tasks.js';
import { newDatabasePassword, siteDatabaseNames } from './site-names.js';
import { compareForMigration, type CompatibilityReport } from '../packages/compatibility.js';
import type { PlatformEntity } from '../platforms/platform.entity.js';
import { randomBytes } from 'node:crypto';
import type { SiteEntity } from './site.entity.js';
import { SitesError, SitesErrorCode } from './sites.errors.js';
import type { SitesRepository } from './sites.repository.js';

export interface SiteView {
  id: string;
  domain: string;
  status: string;
  platform: string;
  client: string | null;
  dbServer: string;
  profile: string;
  url: string;
  verifiedAt: string | null;
  createdAt: string;
}

export interface BackupView {
  id: string;
  /** The file in the master's store (<data dir>/store/archives/<archiveId>). */
  archiveId: string;
  domain: string;
  reason: string;
  createdAt: string;
  manifest: Record<string, unknown>;
}

export interface MigrateCheck {
  site: SiteEntity;
  target: PlatformEntity;
  report: CompatibilityReport;
}

export interface InstallSiteInput {
  domain: unknown;
  platform: unknown;
  profile?: unknown;
  dbServer?: unknown;
  client?: unknown;
}

/** Archive reservations in the backup store. */
export interface ArchiveReserver {
  reserve(serverId: string, purpose: string): Promise<string>;
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
    private readonly tasks: TasksRepository,
    private readonly taskViews: TasksService,
    private readonly engine: TaskEngine,
    private readonly archives: ArchiveReserver,
    private readonly secrets: SecretBox,
  ) {}

  async install(principal: Principal, input: InstallSiteInput): Promise<{ site: SiteView; task: TaskView }> {
    const domain = validateHostname('domain', input.domain);
    if (!domain.ok) throw new SitesError(SitesErrorCode.InvalidInput, domain.failure.message);
    const profile = validateName('profile', input.profile ?? 'standard');
    if (!profile.ok) throw new SitesError(SitesErrorCode.InvalidInput, profile.failure.message);
    if (typeof input.platform !== 'string' || input.platform === '') {
      throw new SitesError(SitesErrorCode.InvalidInput, 'platform is required');
    }
    const platform = await this.platforms.findByNameOrId(input.platform);
    if (!platform) throw PlatformsError.notFound(input.platform);
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
    let dbServerId = platform.serverId;
    if (input.dbServer !== undefined) {
      if (typeof input.dbServer !== 'string')
        throw new SitesError(SitesErrorCode.InvalidInput, 'dbServer must be a name');
      const dbServer = await this.servers.findByNameOrId(input.dbServer);
      if (!dbServer) throw ServersError.notFound(input.dbServer);
      dbServerId = dbServer.id;
    }
    let clientId: string | null = principal.role === 'client' ? principal.clientId : null;
    if (input.client !== undefined && principal.role === 'admin') {
      if (typeof input.client !== 'string')
        throw new SitesError(SitesErrorCode.InvalidInput, 'client must be a name');
      const client = await this.clients.findByNameOrId(input.client);
      if (!client) throw ClientsError.notFound(input.client);
      clientId = client.id;
    }
    const dbServer = dbServerId === platform.serverId ? undefined : await this.servers.findById(dbServerId);
    const names = siteDatabaseNames(domain.value);
    let site: SiteEntity;
    try {
      site = await this.sites.create({
        domain: domain.value,
        platformId: platform.id,
        clientId,
        dbServerId,
        dbHost: dbServer ? (dbServer.hostname ?? dbServer.name) : '127.0.0.1',
        dbPort: 3306,
        dbName: names.database,
        dbUser: names.user,
        dbPasswordEncrypted: this.secrets.encrypt(newDatabasePassword()),
        hashSaltEncrypted: null,
        profile: profile.value,
        status: 'installing',
      });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_sites_domain')) {
        throw new SitesError(SitesErrorCode.DomainTaken, `a site ${domain.value} already exists`);
      }
      throw error;
    }
    const task = await this.queue(principal, site, 'site.install', { profile: profile.value });
    return { site: await this.view(site), task };
  }

  async list(principal: Principal): Promise<SiteView[]> {
    const sites = await this.sites.list(
      principal.role === 'admin' ? {} : { clientId: principal.clientId ?? '' },
    );
    return Promise.all(sites.map((site) => this.view(site)));
  }

  async show(principal: Principal, domain: string): Promise<SiteView & { packages: PackageRow[] }> {
    const site = await this.get(principal, domain);
    return { ...(await this.view(site)), packages: await this.packages.list({ siteId: site.id }) };
  }

  async verify(principal: Principal, domain: string): Promise<TaskView> {
    return this.queue(principal, await this.get(principal, domain), 'site.verify', {});
  }

  async backup(principal: Principal, domain: string): Promise<TaskView> {
    const site = await this.get(principal, domain);
    const platform = await this.platforms.findByNameOrId(site.platformId);
    const archiveId = await this.archives.reserve(platform!.serverId, 'backup');
    return this.queue(principal, site, 'site.backup', { archiveId });
  }

  async listBackups(principal: Principal, domain: string): Promise<BackupView[]> {
    const site = await this.sites.findByDomainOrId(domain);
    if (site && principal.role !== 'admin' && site.clientId !== principal.clientId)
      throw SitesError.notFound(domain);
    if (!site && principal.role !== 'admin') throw SitesError.notFound(domain);
    return (await this.backups.listForDomain(site?.domain ?? domain)).map(backupView);
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
    return this.queue(principal, site, 'site.restore', { backupId: backup.id, preArchiveId });
  }

  async deleteBackup(principal: Principal, domain: string, backupId: string): Promise<TaskView> {
    const site = await this.get(principal, domain);
    const backup = isUuid(backupId) ? await this.backups.findById(backupId) : null;
    if (!backup || backup.siteId !== site.id) {
      throw new SitesError(SitesErrorCode.BackupNotFound, `no backup "${backupId}" of ${site.domain}`);
    }
    return this.queue(principal, site, 'site.backup-delete', { backupId: backup.id });
  }

  /** Aegir's package comparison of a site against a target platform (also what migrate checks first). */
  async migrateCheck(principal: Principal, domain: string, platform: unknown): Promise<MigrateCheck> {
    const site = await this.get(principal, domain);
    if (typeof platform !== 'string' || platform === '') {
      throw new SitesError(SitesErrorCode.InvalidInput, 'platform is required: the target platform');
    }
    const target = await this.platforms.findByNameOrId(platform);
    if (!target) throw PlatformsError.notFound(platform);
    if (target.status !== 'verified') {
      throw new SitesError(
        SitesErrorCode.PlatformNotReady,
        `platform ${target.name} is ${target.status}, not verified: run \`berth platform verify ${target.name}\``,
      );
    }
    if (target.id === site.platformId) {
      throw new SitesError(SitesErrorCode.InvalidInput, `${site.domain} is already on ${target.name}`);
    }
    const current = await this.packages.list({ platformId: site.platformId });
    const installed = await this.packages.list({ siteId: site.id });
    const core = current.filter((row) => row.type === 'core');
    const report = compareForMigration(
      [...core, ...installed],
      await this.packages.list({ platformId: target.id }),
    );
    return { site, target, report };
  }

  async migrate(
    principal: Principal,
    domain: string,
    input: { platform: unknown; force?: unknown },
  ): Promise<TaskView> {
    const { site, target, report } = await this.migrateCheck(principal, domain, input.platform);
    if (site.status !== 'enabled') {
      throw new SitesError(
        SitesErrorCode.WrongState,
        `${site.domain} is ${site.status}; only an enabled site migrates`,
      );
    }
    const listed = (severity: string) =>
      report.rows
        .filter((row) => row.severity === severity)
        .map((row) => row.message)
        .join('; ');
    if (report.errors > 0) {
      throw new SitesError(
        SitesErrorCode.Incompatible,
        `${site.domain} cannot move to ${target.name}: ${listed('error')}`,
        { report },
      );
    }
    if (report.warnings > 0 && input.force !== true) {
      throw new SitesError(
        SitesErrorCode.Incompatible,
        `moving ${site.domain} to ${target.name} has warnings (${listed('warning')}); use force to go ahead`,
        { report },
      );
    }
    const platform = await this.platforms.findByNameOrId(site.platformId);
    const rehearsalDomain = `rehearsal-${randomBytes(4).toString('hex')}.${site.domain}`;
    if (!validateHostname('rehearsal domain', rehearsalDomain).ok) {
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `${site.domain} is too long for a rehearsal copy beside it`,
      );
    }
    const names = siteDatabaseNames(rehearsalDomain);
    return this.queue(principal, site, 'site.migrate', {
      targetPlatformId: target.id,
      targetPlatform: target.name,
      backupArchiveId: await this.archives.reserve(platform!.serverId, 'backup'),
      rollbackArchiveId: await this.archives.reserve(site.dbServerId, 'rollback-point'),
      rehearsal: { domain: rehearsalDomain, database: names.database, user: names.user },
    });
  }

  async disable(principal: Principal, domain: string): Promise<TaskView> {
    const site = await this.get(principal, domain);
    if (site.status !== 'enabled') {
      throw new SitesError(
        SitesErrorCode.WrongState,
        `${site.domain} is ${site.status}; only an enabled site can be disabled`,
      );
    }
    return this.queue(principal, site, 'site.disable', {});
  }

  async enable(principal: Principal, domain: string): Promise<TaskView> {
    const site = await this.get(principal, domain);
    if (site.status !== 'disabled') {
      throw new SitesError(
        SitesErrorCode.WrongState,
        `${site.domain} is ${site.status}; only a disabled site can be enabled`,
      );
    }
    return this.queue(principal, site, 'site.enable', {});
  }

  async delete(principal: Principal, domain: string, force: boolean): Promise<TaskView> {
    const site = await this.get(principal, domain);
    if (site.status !== 'disabled' && !force) {
      throw new SitesError(
        SitesErrorCode.WrongState,
        `${site.domain} is ${site.status}: disable it first (\`berth site disable ${site.domain}\`) or delete with --force`,
      );
    }
    const platform = await this.platforms.findByNameOrId(site.platformId);
    const archiveId = await this.archives.reserve(platform!.serverId, 'backup');
    return this.queue(principal, site, 'site.delete', { archiveId, force });
  }

  async loginReset(principal: Principal, domain: string): Promise<TaskView> {
    return this.queue(principal, await this.get(principal, domain), 'site.login-reset', {});
  }

  async get(principal: Principal, domain: string): Promise<SiteEntity> {
    const site = await this.sites.findByDomainOrId(domain);
    if (!site || (principal.role !== 'admin' && site.clientId !== principal.clientId))
      throw SitesError.notFound(domain);
    return site;
  }

  private async queue(
    principal: Principal,
    site: SiteEntity,
    type: TaskType,
    params: Record<string, unknown>,
  ): Promise<TaskView> {
    const task = await this.tasks.insertTask({
      type,
      targetKind: 'site',
      targetId: site.id,
      targetName: site.domain,
      lockKey: `site:${site.id}`,
      params,
      clientId: site.clientId,
      createdBy: principal.name,
    });
    this.engine.wake();
    return this.taskViews.view(task);
  }

  private async view(site: SiteEntity): Promise<SiteView> {
    const [platform, dbServer] = await Promise.all([
      this.platforms.findByNameOrId(site.platformId),
      this.servers.findById(site.dbServerId),
    ]);
    const client = site.clientId ? await this.clients.findByNameOrId(site.clientId) : null;
    return {
      id: site.id,
      domain: site.domain,
      status: site.status,
      platform: platform?.name ?? site.platformId,
      client: client?.name ?? null,
      dbServer: dbServer?.name ?? site.dbServerId,
      profile: site.profile,
      url: `http://${site.domain}/`,
      verifiedAt: site.verifiedAt?.toISOString() ?? null,
      createdAt: site.createdAt.toISOString(),
    };
  }
}

function backupView(backup: BackupEntity): BackupView {
  return {
    id: backup.id,
    archiveId: backup.archiveId,
    domain: backup.domain,
    reason: backup.reason,
    createdAt: backup.createdAt.toISOString(),
    manifest: backup.manifest,
  };
}
