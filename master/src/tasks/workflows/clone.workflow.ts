import type { BackupEntity } from '../../backups/backup.entity.js';
import type { PackagesRepository } from '../../packages/packages.repository.js';
import type { SitesRepository } from '../../sites/sites.repository.js';
import type { Workflow } from '../workflow.js';
import type { SiteSteps } from './site-steps.js';

/**
 * What a clone task is created with. The task targets the source (so no other task changes it while
 * it is copied); the new site's row exists already, with its own database names and password, and
 * `secretsFrom` names it so that db.create and site.write-settings get the new site's password.
 */
export interface CloneParams {
  cloneSiteId: string;
  cloneDomain: string;
  /** The source's backup that the clone is made of, reserved up front. */
  archiveId: string;
  secretsFrom: string;
}

export interface CloneDependencies {
  steps: SiteSteps;
  sites: Pick<SitesRepository, 'remove' | 'setStatus'>;
  packages: Pick<PackagesRepository, 'replace'>;
  archives: { remove(archiveId: string): Promise<void> };
}

/**
 * Clone (DESIGN.md "Migrate": steps 1–2 kept as a new site): a backup of the source, deployed as a
 * new site with its own database and user, on the same or another platform (the database updates
 * run on the clone then). The source is only read. On failure everything of the new site is undone
 * and its row removed; the source's backup stays, it is a good backup.
 */
export function cloneWorkflow({ steps, sites, packages, archives }: CloneDependencies): Workflow {
  return async (context) => {
    const params = context.task.params as unknown as CloneParams;
    const source = await steps.place(context);
    const clone = await steps.placeOf(params.cloneSiteId, params.cloneDomain);
    const grant = steps.grantHost(clone.site);
    const database = { database: clone.site.dbName, user: clone.site.dbUser, host: grant };

    // Registered first, so it runs last: a failed clone leaves no trace, the domain is free again.
    context.onRollback('forget the clone', async () => {
      await packages.replace({ siteId: clone.site.id }, []);
      await sites.remove(clone.site.id);
    });
    // The archive goes only if it never became a backup: once recorded, it is a good backup of the source.
    const kept: { backup?: BackupEntity } = {};
    context.onRollback('discard a partial archive', async () => {
      if (!kept.backup) await archives.remove(params.archiveId);
    });
    const backup = await context.phase('backup', () =>
      steps.archive(context, source, params.archiveId, 'clone'),
    );
    kept.backup = backup;

    await context.phase('database', async () => {
      await context.step(clone.db, 'db.create', database);
      context.onRollback("drop the clone's database and its user", async () => {
        await context.step(clone.db, 'db.drop', database);
      });
    });
    await context.phase('files', async () => {
      context.onRollback("remove the clone's directory", async () => {
        await context.step(clone.web, 'site.remove', { domain: clone.site.domain });
      });
      await context.step(clone.web, 'site.extract', {
        domain: source.site.domain,
        archiveId: params.archiveId,
        targetDomain: clone.site.domain,
        importDatabase: { database: clone.site.dbName },
      });
      await steps.writeSettings(context, clone);
      context.onRollback('unlink the clone from its platform', async () => {
        await context.step(clone.web, 'site.unlink', clone.on);
      });
      await context.step(clone.web, 'site.link', clone.on);
    });
    const updated = clone.platform.id !== source.platform.id;
    if (updated) {
      await context.phase('update', () => context.step(clone.web, 'app.update', clone.on));
    }
    await context.phase('vhost', async () => {
      context.onRollback("remove the clone's vhost", async () => {
        await context.step(clone.web, 'http.remove-vhost', { domain: clone.site.domain });
      });
      await context.step(clone.web, 'http.write-vhost', clone.on);
    });
    const probe = await context.phase('probe', () =>
      context.step(clone.web, 'probe.http', { domain: clone.site.domain, expectStatus: [200] }),
    );
    const recorded = await steps.recordPackages(context, clone);
    await sites.setStatus(clone.site.id, 'enabled', true);
    return {
      domain: clone.site.domain,
      from: source.site.domain,
      platform: clone.platform.name,
      backupId: backup.id,
      updated,
      status: probe.status,
      ...recorded,
    };
  };
}
