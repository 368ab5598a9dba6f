import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import type {
  BackupPage,
  MigrateCheck,
  Package,
  Page,
  SiteCron,
  SiteDeployHooks,
} from '../../../shared/src/api.js';
import { SITE_STATUSES } from '../../../shared/src/site-status.js';
import { asksForPage } from '../infra/http/paging.js';
import { describeDeployHooks } from '../../../shared/src/deploy-hooks.js';
import { MIGRATE_STRATEGIES, type MigrateStrategy } from '../../../shared/src/tasks.js';
import type { TaskView } from '../tasks/tasks.service.js';
import type { MigrateCandidate } from './migrate-candidates.js';
import { BACKUP_PARTS, BackupDownloads } from './backup-downloads.js';
import { SiteEdgeService } from './edge/site-edge.service.js';
import { SitesService, type BackupListInput, type SiteListInput, type SiteView } from './sites.service.js';

export class InstallSiteBody {
  @ApiProperty({ description: 'The domain: a lowercase DNS name', example: 'www.example.org' })
  domain!: string;

  @ApiProperty({ description: 'A verified, unlocked platform (name or id)', example: 'drupal-10-3' })
  platform!: string;

  @ApiPropertyOptional({ description: 'Install profile', default: 'standard' })
  profile?: string;

  @ApiPropertyOptional({ description: "Database server (name); default: the platform's server" })
  dbServer?: string;

  @ApiPropertyOptional({ description: 'Owner (client name); admin tokens only' })
  client?: string;

  @ApiPropertyOptional({
    description:
      "The site's own repository (its modules, themes, config/sync), checked out into its directory: https://, ssh://, git://, file:// or a path on the server",
    example: 'https://git.example.com/acme/shop-site.git',
  })
  repository?: string;

  @ApiPropertyOptional({ description: 'With repository: the branch, tag or commit', default: 'main' })
  ref?: string;

  @ApiPropertyOptional({
    description:
      'With repository: an SSH private key (no passphrase) it is read with; stored encrypted, never shown',
  })
  deployKey?: string;
}

export class NewSiteBody {
  @ApiProperty({ description: 'The domain: a lowercase DNS name', example: 'www.example.org' })
  domain!: string;

  @ApiPropertyOptional({
    description: 'Drupal major version (default: the newest verified platform of any)',
    example: 11,
  })
  core?: number;

  @ApiPropertyOptional({
    description:
      "The site's own repository; default: one made on its web server at <root>/repositories/<domain>.git",
  })
  repository?: string;

  @ApiPropertyOptional({ description: 'With repository: the branch, tag or commit', default: 'main' })
  ref?: string;

  @ApiPropertyOptional({
    description: 'With repository: an SSH private key (no passphrase); stored encrypted',
  })
  deployKey?: string;

  @ApiPropertyOptional({ description: 'Install profile', default: 'standard' })
  profile?: string;

  @ApiPropertyOptional({ description: "Database server (name); default: the platform's server" })
  dbServer?: string;

  @ApiPropertyOptional({ description: 'Owner (client name); admin tokens only' })
  client?: string;
}

export class DeploySiteBody {
  @ApiProperty({ description: "A branch, tag or commit of the site's own repository", example: 'v2.4.0' })
  ref!: string;
}

export class MigrateSiteBody {
  @ApiPropertyOptional({
    description: 'The target platform (name or id); absent: the site stays on its platform (dbServer then)',
  })
  platform?: string;

  @ApiPropertyOptional({
    description:
      "The db server the site's database moves to (name or id): copied there with writes held, switched to in the window, the old one dropped after success",
  })
  dbServer?: string;

  @ApiPropertyOptional({
    description:
      'A site on a cluster: heads (names) whose agents are down that the migrate goes on without; each is marked stale and left out of site tasks until synced (POST /api/clusters/{cluster}/sync-head)',
    type: [String],
  })
  withoutHeads?: string[];

  @ApiPropertyOptional({ description: 'Go ahead despite warnings (packages missing on the target)' })
  force?: boolean;

  @ApiPropertyOptional({
    description:
      'in-place (default): the updates in a short offline window; blue-green: no offline window — writes held (read-only) while the database is copied on its server and updated under the target as a hidden site, then code and database switch in one reload. Blue-green needs read-only mode (module readonlymode), the same web and db servers, no cluster',
    enum: MIGRATE_STRATEGIES,
  })
  strategy?: MigrateStrategy;
}

export class CloneSiteBody {
  @ApiProperty({
    description: "The new site's domain: a lowercase DNS name, free",
    example: 'copy.example.org',
  })
  domain!: string;

  @ApiPropertyOptional({
    description: 'A verified, unlocked platform (name or id); default: the same platform',
  })
  platform?: string;

  @ApiPropertyOptional({
    description: "Owner of the new site (client name); admin tokens only; default: the source's",
  })
  client?: string;

  @ApiPropertyOptional({
    description: 'Onto another platform: go ahead despite warnings (packages missing on it)',
  })
  force?: boolean;
}

export class RenameSiteBody {
  @ApiProperty({ description: 'The new domain: a lowercase DNS name, free', example: 'new.example.org' })
  domain!: string;

  @ApiPropertyOptional({ description: 'The old name answers with a 301 to the new one', default: false })
  redirect?: boolean;
}

export class SiteCronBody {
  @ApiProperty({
    description: 'Minutes between cron runs while the site is enabled; 0: never on its own',
    example: 60,
  })
  everyMinutes!: number;
}

export class SiteDeployHooksBody {
  @ApiProperty({
    description: `The site's own hooks, in order after the database updates (updatedb always runs first): ${describeDeployHooks()}; null: its platform's`,
    example: ['config:import', 'cache:rebuild'],
    type: [String],
    nullable: true,
  })
  hooks!: string[] | null;
}

export class RestoreSiteBody {
  @ApiProperty({ description: 'The backup to restore (from GET /api/sites/{domain}/backups)' })
  backupId!: string;
}

export class VerifyBackupBody {
  @ApiPropertyOptional({
    description: 'The backup to test (from GET /api/sites/{domain}/backups); left out: the newest',
  })
  backupId?: string;
}

/** The site list's own query parameters: any of them asks for a page (SiteListQuery). */
const SITE_LIST_PARAMETERS = ['limit', 'cursor', 'status', 'platform', 'server', 'client', 'q'] as const;

@ApiTags('sites')
@ApiBearerAuth()
@Controller('api/sites')
export class SitesController {
  constructor(
    private readonly sites: SitesService,
    private readonly downloads: BackupDownloads,
    private readonly edges: SiteEdgeService,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Install a site: database, settings, link, drush site:install, vhost, probe (a task)',
  })
  @ApiResponse({ status: 201, description: '{ site, task }' })
  @ApiResponse({ status: 400, description: 'invalid domain or profile' })
  @ApiResponse({ status: 404, description: 'unknown platform, server or client' })
  @ApiResponse({ status: 409, description: 'the domain exists, or the platform is not verified or locked' })
  install(@Req() request: AuthenticatedRequest, @Body() body: InstallSiteBody) {
    return this.sites.install(request.principal, body ?? {});
  }

  @Post('new')
  @ApiOperation({
    summary:
      'A new site the short way (drush ns): the newest verified platform of its Drupal major version, its own repository (the one given, or one made on its web server with the layout), installed (a task)',
  })
  @ApiResponse({ status: 201, description: '{ site, task, platform }' })
  @ApiResponse({
    status: 409,
    description: 'the domain exists, or no verified platform runs that core (the answer says what to build)',
  })
  newSite(@Req() request: AuthenticatedRequest, @Body() body: NewSiteBody) {
    return this.sites.newSite(request.principal, body ?? {});
  }

  @Get()
  @ApiOperation({
    summary:
      'List sites (a client token sees its own), in domain order: with limit, a page and the cursor of the ' +
      'next one (next: null on the last); filtered by status, platform, server (web or database), client and ' +
      'q (a piece of the domain)',
  })
  @ApiQuery({ name: 'limit', required: false, description: '1-500; without it, every site (no next)' })
  @ApiQuery({ name: 'cursor', required: false, description: 'the next of the previous page' })
  @ApiQuery({ name: 'status', required: false, enum: SITE_STATUSES })
  @ApiQuery({ name: 'platform', required: false })
  @ApiQuery({ name: 'server', required: false })
  @ApiQuery({ name: 'client', required: false, description: 'admins only' })
  @ApiQuery({ name: 'q', required: false, description: 'a piece of the domain' })
  async list(@Req() request: AuthenticatedRequest, @Query() query: SiteListInput): Promise<Page<SiteView>> {
    // Without any paging or filter: the whole list, as before (the web UI's dashboard still reads it).
    if (!asksForPage(query, SITE_LIST_PARAMETERS))
      return { items: await this.sites.list(request.principal), next: null };
    return this.sites.page(request.principal, query);
  }

  @Get(':domain')
  @ApiOperation({
    summary:
      'Show a site with its installed packages and schema versions, the tasks it offers in its state (actions), and its edge: other names, HTTPS and certificates, PHP pool',
  })
  async show(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
  ): Promise<SiteView & { packages: Package[] }> {
    const site = await this.sites.show(request.principal, domain);
    return { ...site, edge: await this.edges.view(site) };
  }

  @Post(':domain/verify')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Verify: drush status, HTTP probe, packages and schema versions into the registry',
  })
  verify(@Req() request: AuthenticatedRequest, @Param('domain') domain: string): Promise<TaskView> {
    return this.sites.verify(request.principal, domain);
  }

  @Post(':domain/cron')
  @HttpCode(202)
  @ApiOperation({ summary: "Run Drupal's cron now (drush core:cron on the site's app head)" })
  @ApiResponse({ status: 409, description: 'the site is not enabled' })
  cron(@Req() request: AuthenticatedRequest, @Param('domain') domain: string): Promise<TaskView> {
    return this.sites.cron(request.principal, domain);
  }

  @Put(':domain/cron')
  @ApiOperation({
    summary:
      "How often the site's cron runs on its own: { everyMinutes } (0: only when asked for). Runs fall at a " +
      'stable offset per site within each period; GET /api/sites/{domain} shows it with the last run',
  })
  @ApiResponse({ status: 400, description: 'not a whole number of minutes from 0 to 10080' })
  setCron(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Body() body: SiteCronBody,
  ): Promise<SiteCron> {
    return this.sites.setCron(request.principal, domain, body?.everyMinutes);
  }

  @Post(':domain/deploy')
  @HttpCode(202)
  @ApiOperation({
    summary:
      "Deploy a ref of the site's own repository with a migrate's safety: a backup, the code, updates and hooks rehearsed on a copy, then writes held, a rollback point and a short window; a failure there puts the code and the database back",
  })
  @ApiResponse({ status: 400, description: 'not a branch, tag or commit' })
  @ApiResponse({
    status: 409,
    description: 'the site has no repository of its own, is not enabled, or is on a cluster',
  })
  deploy(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Body() body: DeploySiteBody,
  ): Promise<TaskView> {
    return this.sites.deploy(request.principal, domain, body ?? {});
  }

  @Put(':domain/hooks')
  @ApiOperation({
    summary:
      "The site's own deploy hooks: run in order after the database updates when its code changes (a migrate to another platform, a platform update); null: its platform's",
  })
  @ApiResponse({ status: 200, description: 'its own hooks and the ones that apply' })
  @ApiResponse({ status: 400, description: 'a hook outside the vocabulary, or listed twice' })
  setHooks(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Body() body: SiteDeployHooksBody,
  ): Promise<SiteDeployHooks> {
    return this.sites.setDeployHooks(request.principal, domain, body?.hooks);
  }

  @Post(':domain/backups')
  @HttpCode(202)
  @ApiOperation({ summary: 'Back up the site (files + consistent database dump) into the master store' })
  backup(@Req() request: AuthenticatedRequest, @Param('domain') domain: string): Promise<TaskView> {
    return this.sites.backup(request.principal, domain);
  }

  @Get(':domain/backups')
  @ApiOperation({
    summary:
      "The site's backups, newest first, with their manifests: with limit or cursor, a page and the cursor of " +
      'the next one (next: null on the last); without, every backup (no next). total: the count and bytes of ' +
      'all of them, whichever page',
  })
  @ApiQuery({ name: 'limit', required: false, description: 'backups per page: 1-500, default 50' })
  @ApiQuery({ name: 'cursor', required: false, description: 'the next of the previous page' })
  @ApiResponse({ status: 400, description: 'a bad limit or cursor' })
  @ApiResponse({ status: 404, description: 'no such site' })
  backups(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Query() query: BackupListInput,
  ): Promise<BackupPage> {
    return this.sites.listBackups(request.principal, domain, query);
  }

  @Get(':domain/backups/:backup/archive')
  @ApiOperation({
    summary:
      "Download one archive of a backup from the master's store: the site's files (a .tar.gz, the default) or " +
      'its database dump (a gzipped SQL file); X-Berth-Sha256 is the sha256 the store recorded, to check it by',
  })
  @ApiQuery({ name: 'part', required: false, enum: BACKUP_PARTS })
  @ApiResponse({ status: 200, description: 'the archive, application/octet-stream' })
  @ApiResponse({ status: 404, description: 'no such backup of this site' })
  @ApiResponse({ status: 409, description: 'the archive is not in the store' })
  async downloadBackup(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Param('backup') backup: string,
    @Query('part') part: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const download = await this.downloads.open(request.principal, domain, backup, part);
    response.status(200);
    response.setHeader('content-type', 'application/octet-stream');
    response.setHeader('content-length', String(download.sizeBytes));
    response.setHeader('content-disposition', `attachment; filename="${download.fileName}"`);
    response.setHeader('x-berth-sha256', download.sha256);
    // A client that goes away ends the read; nothing else is left open.
    await pipeline(createReadStream(download.path), response).catch(() => response.destroy());
  }

  @Post(':domain/backups/:backup/delete')
  @HttpCode(202)
  @ApiOperation({ summary: 'Delete a backup: its archive leaves the store (a task)' })
  @ApiResponse({ status: 404, description: 'no such backup of this site' })
  deleteBackup(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Param('backup') backup: string,
  ): Promise<TaskView> {
    return this.sites.deleteBackup(request.principal, domain, backup);
  }

  @Post(':domain/backup-verify')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Restore test of a backup (the newest unless backupId): its archives checked against their sha256, ' +
      'restored into a scratch site beside the live one, probed over HTTP, removed; records verifiedAt (a task)',
  })
  @ApiResponse({ status: 404, description: 'no such backup of this site, or the site has none yet' })
  verifyBackup(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Body() body: VerifyBackupBody,
  ): Promise<TaskView> {
    return this.sites.verifyBackup(request.principal, domain, body?.backupId);
  }

  @Post(':domain/restore')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Restore a backup (the current state is set aside, then archived as a pre-restore backup)',
  })
  restore(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Body() body: RestoreSiteBody,
  ): Promise<TaskView> {
    return this.sites.restore(request.principal, domain, body?.backupId);
  }

  @Get(':domain/migrate-candidates')
  @ApiOperation({
    summary:
      'The platforms this site could migrate to (verified, not its own): { items: [{ name, coreVersion, locked }] }; ' +
      'GET migrate-check?platform= compares each',
  })
  @ApiResponse({ status: 404, description: 'no such site (or not this client’s)' })
  async migrateCandidates(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
  ): Promise<{ items: MigrateCandidate[] }> {
    return { items: await this.sites.migrateCandidates(request.principal, domain) };
  }

  @Get(':domain/migrate-check')
  @ApiOperation({
    summary:
      "Compare the site's packages with a target platform (Aegir's rules): { rows, errors, warnings, upgrades }",
  })
  @ApiQuery({ name: 'platform', required: true })
  async migrateCheck(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Query('platform') platform: string,
  ): Promise<MigrateCheck> {
    const { target, report } = await this.sites.migrateCheck(request.principal, domain, platform);
    return { platform: target.name, ...report };
  }

  @Post(':domain/migrate')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Migrate to another platform (on this or another web server), its database to another db server, or both: backup, rehearsal on a throwaway copy, read-only, rollback point, an offline window only as long as the updates; rolled back on failure',
  })
  @ApiResponse({
    status: 409,
    description: 'incompatible (errors), or warnings without force; details.report has the table',
  })
  migrate(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Body() body: MigrateSiteBody,
  ) {
    return this.sites.migrate(request.principal, domain, body ?? {});
  }

  @Post(':domain/clone')
  @ApiOperation({
    summary:
      'Clone: a backup of the site deployed as a new site with its own database and user, on the same or another platform (updates run on the clone); a task on the source',
  })
  @ApiResponse({ status: 201, description: '{ site, task }: the new site (installing) and the task' })
  @ApiResponse({ status: 400, description: 'invalid domain' })
  @ApiResponse({ status: 404, description: 'unknown site, platform or client' })
  @ApiResponse({
    status: 409,
    description:
      'the new domain exists, the platform is not verified or locked, or incompatible (errors, or warnings without force)',
  })
  clone(@Req() request: AuthenticatedRequest, @Param('domain') domain: string, @Body() body: CloneSiteBody) {
    return this.sites.clone(request.principal, domain, body ?? { domain: undefined });
  }

  @Post(':domain/rename')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Rename: the site under a new domain on the same platform (same database); the old name stops answering, or redirects (a task)',
  })
  @ApiResponse({ status: 400, description: 'invalid domain' })
  @ApiResponse({ status: 409, description: 'the new domain exists, or the site is not enabled' })
  rename(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Body() body: RenameSiteBody,
  ): Promise<TaskView> {
    return this.sites.rename(request.principal, domain, body ?? { domain: undefined });
  }

  @Post(':domain/disable')
  @HttpCode(202)
  @ApiOperation({ summary: 'Disable: the vhost serves a "site disabled" page' })
  disable(@Req() request: AuthenticatedRequest, @Param('domain') domain: string): Promise<TaskView> {
    return this.sites.disable(request.principal, domain);
  }

  @Post(':domain/enable')
  @HttpCode(202)
  @ApiOperation({ summary: 'Enable a disabled site' })
  enable(@Req() request: AuthenticatedRequest, @Param('domain') domain: string): Promise<TaskView> {
    return this.sites.enable(request.principal, domain);
  }

  @Post(':domain/delete')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Delete: a last backup, then vhost, link, directory, database and user (disabled sites, or force)',
  })
  @ApiQuery({ name: 'force', required: false, description: 'true deletes an enabled site too' })
  delete(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Query('force') force?: string,
  ): Promise<TaskView> {
    return this.sites.delete(request.principal, domain, force === 'true' || force === '1');
  }

  @Post(':domain/release-old')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Release a site that moved to another web server from the old one (its proxying vhost, link, copy and database account there)',
  })
  releaseOld(@Req() request: AuthenticatedRequest, @Param('domain') domain: string): Promise<TaskView> {
    return this.sites.releaseOld(request.principal, domain);
  }

  @Post(':domain/login-reset')
  @HttpCode(202)
  @ApiOperation({ summary: "A one-time login link (the task's result.url)" })
  loginReset(@Req() request: AuthenticatedRequest, @Param('domain') domain: string): Promise<TaskView> {
    return this.sites.loginReset(request.principal, domain);
  }
}
