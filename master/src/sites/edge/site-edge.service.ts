import type * as api from '../../../../shared/src/api.js';
import { parsePhpSettings, withDefaults } from '../../../../shared/src/php-pool.js';
import { certificateNames, type SiteEdge, type SiteHttps } from '../../../../shared/src/site-edge.js';
import type { EdgeChange, TaskParams, TaskType } from '../../../../shared/src/tasks.js';
import { validateSiteDomain, ValidationError } from '../../../../shared/src/validation.js';
import type { Principal } from '../../auth/auth.service.js';
import type { SecretBox } from '../../infra/crypto/secret-box.js';
import type { ServersRepository } from '../../servers/servers.repository.js';
import type { TaskQueue } from '../../tasks/task-queue.js';
import type { TaskView } from '../../tasks/tasks.service.js';
import type { SiteEntity } from '../site.entity.js';
import { SitesError, SitesErrorCode } from '../sites.errors.js';
import type { SitesService } from '../sites.service.js';
import { applyEdgeChange } from './edge-change.js';
import { checkUploadedCertificate } from './uploaded-certificate.js';
import type { SiteEdgesRepository } from './site-edges.repository.js';

/** What an HTTPS change comes as over HTTP (checked in SiteEdgeService.setHttps). */
export interface HttpsInput {
  mode?: unknown;
  redirect?: unknown;
  hsts?: unknown;
  /** With mode `uploaded`: the certificate chain (PEM, the site's first) and its key (PEM). */
  certificate?: unknown;
  key?: unknown;
}

/**
 * A site's web edge: its other names (served or redirected), HTTPS, its PHP settings. Every change
 * is checked here, then a site.edge task applies it on every server of the site and records it.
 */
export class SiteEdgeService {
  constructor(
    private readonly sites: Pick<SitesService, 'get' | 'queueFor'>,
    private readonly edges: SiteEdgesRepository,
    private readonly servers: Pick<ServersRepository, 'list'>,
    private readonly queue: Pick<TaskQueue, 'isDomainClaimed' | 'hasOpen'>,
    private readonly secrets: Pick<SecretBox, 'encrypt'>,
  ) {}

  /** The edge of a site as GET /api/sites/{domain} shows it. */
  async view(site: Pick<SiteEntity, 'id'>): Promise<api.SiteEdgeView> {
    const [edge, certificates, servers] = await Promise.all([
      this.edges.edgeOf(site.id),
      this.edges.certificatesOf(site.id),
      this.servers.list(),
    ]);
    const names = new Map(servers.map((server) => [server.id, server.name]));
    return {
      aliases: edge.aliases,
      redirects: edge.redirects,
      https: edge.https,
      certificates: certificates.map((certificate) => ({
        server: names.get(certificate.serverId) ?? certificate.serverId,
        names: certificate.names,
        issuer: certificate.issuer,
        serial: certificate.serial,
        notBefore: certificate.notBefore.toISOString(),
        notAfter: certificate.notAfter.toISOString(),
        mode: certificate.mode,
      })),
      pool: edge.pool ? { ...edge.pool, effective: withDefaults(edge.pool.settings) } : null,
    };
  }

  async show(principal: Principal, domain: string): Promise<api.SiteEdgeView> {
    return this.view(await this.sites.get(principal, domain));
  }

  /** Another name for the site: served by it, or (redirect) answered with a 301 to its domain. */
  async addAlias(
    principal: Principal,
    domain: string,
    input: { name?: unknown; redirect?: unknown },
  ): Promise<TaskView> {
    const site = await this.enabledSite(principal, domain);
    const name = validateSiteDomain('name', input.name);
    if (!name.ok) throw new SitesError(SitesErrorCode.InvalidInput, name.failure.message);
    if (input.redirect !== undefined && typeof input.redirect !== 'boolean')
      throw new SitesError(SitesErrorCode.InvalidInput, 'redirect must be true or false');
    const redirect = input.redirect === true;
    const use = await this.edges.nameInUse(name.value);
    if (use && use.siteId !== site.id)
      throw new SitesError(
        SitesErrorCode.DomainTaken,
        use.as === 'domain'
          ? `${name.value} is a site of its own`
          : `${name.value} is already a name of ${use.domain}`,
      );
    if (await this.queue.isDomainClaimed(name.value))
      throw new SitesError(SitesErrorCode.DomainTaken, `a queued task is giving ${name.value} to a site`);
    const change: EdgeChange = { kind: 'alias-add', name: name.value, redirect };
    await this.check(site, change);
    return this.queueEdge(principal, site, change, name.value);
  }

  async removeAlias(principal: Principal, domain: string, name: string): Promise<TaskView> {
    const site = await this.enabledSite(principal, domain);
    const change: EdgeChange = { kind: 'alias-remove', name: name.trim().toLowerCase() };
    await this.check(site, change);
    return this.queueEdge(principal, site, change);
  }

  /** HTTPS on with a Let's Encrypt certificate (renewed by the master), or off. */
  async setHttps(principal: Principal, domain: string, input: HttpsInput): Promise<TaskView> {
    const site = await this.enabledSite(principal, domain);
    for (const flag of ['redirect', 'hsts'] as const)
      if (input[flag] !== undefined && typeof input[flag] !== 'boolean')
        throw new SitesError(SitesErrorCode.InvalidInput, `${flag} must be true or false`);
    let https: SiteHttps | null;
    if (input.mode === 'off') https = null;
    else if (input.mode === 'letsencrypt' || input.mode === 'uploaded')
      https = { mode: input.mode, redirect: input.redirect === true, hsts: input.hsts === true };
    else
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        'mode must be "letsencrypt" (a certificate the master obtains and renews), "uploaded" (with certificate and key) or "off"',
      );
    if (https?.mode !== 'uploaded' && (input.certificate !== undefined || input.key !== undefined))
      throw new SitesError(SitesErrorCode.InvalidInput, 'certificate and key go with mode "uploaded"');
    if (https?.hsts && !https.redirect)
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        'hsts needs redirect: browsers told to use HTTPS only should find plain HTTP sending them there',
      );
    if (https?.mode === 'uploaded') {
      const edge = await this.edges.edgeOf(site.id);
      let checked;
      try {
        checked = checkUploadedCertificate(certificateNames(site.domain, edge), input.certificate, input.key);
      } catch (error) {
        throw new SitesError(SitesErrorCode.InvalidInput, (error as Error).message);
      }
      // Kept sealed: a server the site moves to, or a new head, is given the same pair.
      await this.edges.saveUpload(site.id, checked.certificatePem, this.secrets.encrypt(checked.keyPem));
    }
    return this.queueEdge(principal, site, { kind: 'https', https });
  }

  /** The site's certificates issued again now (a renewal asked for). */
  async renew(principal: Principal, domain: string): Promise<TaskView> {
    const site = await this.enabledSite(principal, domain);
    const edge = await this.edges.edgeOf(site.id);
    if (edge.https?.mode !== 'letsencrypt')
      throw new SitesError(
        SitesErrorCode.WrongState,
        edge.https
          ? `${site.domain} serves an uploaded certificate: upload its successor (berth site https --cert --key)`
          : `${site.domain} has no Let's Encrypt certificate to renew`,
      );
    return this.queueTask(principal, site, 'site.certificate', { reason: 'asked' });
  }

  /**
   * The site's PHP settings: each key set to a value, or to null to take the default back. The
   * allow-list and the forms are shared/src/php-pool.ts's.
   */
  async setPhp(principal: Principal, domain: string, input: { settings?: unknown }): Promise<TaskView> {
    const site = await this.enabledSite(principal, domain);
    const given = input.settings;
    if (typeof given !== 'object' || given === null || Array.isArray(given))
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        'settings must be an object: { "memory_limit": "256M", ... }',
      );
    const edge = await this.edges.edgeOf(site.id);
    const merged: Record<string, unknown> = { ...(edge.pool?.settings ?? {}) };
    for (const [key, value] of Object.entries(given)) {
      if (value === null) delete merged[key];
      else merged[key] = value;
    }
    let settings: Record<string, string>;
    try {
      settings = parsePhpSettings(merged);
    } catch (error) {
      if (error instanceof ValidationError) throw new SitesError(SitesErrorCode.InvalidInput, error.message);
      throw error;
    }
    return this.queueEdge(principal, site, { kind: 'php', settings });
  }

  /** A certificate task for a site a task moved, renamed or gave a new head (SiteTaskDependencies.edges). */
  async queueCertificate(principal: Principal, siteId: string): Promise<void> {
    if (await this.queue.hasOpen(siteId, 'site.certificate')) return;
    const site = await this.sites.get(principal, siteId);
    await this.queueTask(principal, site, 'site.certificate', { reason: 'renewal' });
  }

  /**
   * Sites whose certificates end within `renewBefore` of `now`, each given a renewal (once: a site
   * with one queued or running is skipped). How many were queued.
   */
  async renewDue(principal: Principal, now: Date, renewBeforeMs: number): Promise<number> {
    let queued = 0;
    for (const siteId of await this.edges.dueForRenewal(new Date(now.getTime() + renewBeforeMs), 50)) {
      if (await this.queue.hasOpen(siteId, 'site.certificate')) continue;
      const site = await this.sites.get(principal, siteId).catch(() => null);
      if (!site || site.status !== 'enabled') continue;
      await this.queueTask(principal, site, 'site.certificate', { reason: 'renewal' });
      queued += 1;
    }
    return queued;
  }

  private async enabledSite(principal: Principal, domain: string): Promise<SiteEntity> {
    const site = await this.sites.get(principal, domain);
    if (site.status !== 'enabled')
      throw new SitesError(
        SitesErrorCode.WrongState,
        `${site.domain} is ${site.status}: its names, HTTPS and PHP settings change while it is enabled`,
      );
    return site;
  }

  /** The change on the edge as the registry has it now: refused here if the task would refuse it. */
  private async check(site: SiteEntity, change: EdgeChange): Promise<SiteEdge> {
    try {
      return applyEdgeChange(site.domain, await this.edges.edgeOf(site.id), change);
    } catch (error) {
      throw new SitesError(SitesErrorCode.InvalidInput, (error as Error).message);
    }
  }

  private queueEdge(principal: Principal, site: SiteEntity, change: EdgeChange, claimedDomain?: string) {
    return this.queueTask(principal, site, 'site.edge', { change }, claimedDomain);
  }

  private queueTask<T extends TaskType>(
    principal: Principal,
    site: SiteEntity,
    type: T,
    params: TaskParams<T>,
    claimedDomain?: string,
  ): Promise<TaskView> {
    return this.sites.queueFor(principal, site, type, params, claimedDomain ? { claimedDomain } : {});
  }
}
