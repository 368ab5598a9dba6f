import type { BackupsRepository } from '../../backups/backups.repository.js';
import type { PackagesRepository } from '../../packages/packages.repository.js';
import type { PlatformsRepository } from '../../platforms/platforms.repository.js';
import type { SitesRepository } from '../../sites/sites.repository.js';
import type { Workflow } from '../workflow.js';
import { SiteSteps } from './site-steps.js';

export interface SiteWorkflowDependencies {
  sites: SitesRepository;
  platforms: PlatformsRepository;
  packages: PackagesRepository;
  backups: BackupsRepository;
  archives: { remove(archiveId: string): Promise<void> };
}

type SiteTaskType =
  | 'site.install'
  | 'site.verify'
  | 'site.backup'
  | 'site.restore'
  | 'site.disable'
  | 'site.enable'
  | 'site.delete'
  | 'site.login-reset'
  | 'site.backup-delete';

export function siteWorkflows(deps: SiteWorkflowDependencies): Record<SiteTaskType, Workflow> {
  const steps = new SiteSteps(deps);
  const { place, grantHost, recordPackages, writeSettings } = steps;
  const archiveSite = steps.archive;

  return {
    'site.install': async (context) => {
      const where = await place(context);
      const { profile } = context.task.params as { profile: string };
      // Registered first, so it runs last: a failed install leaves no trace, the domain is free again.
      context.onRollback('forget the site', () => deps.sites.remove(where.site.id));
      await context.phase('database', async () => {
        await context.step(where.db, 'db.create', {
          database: where.site.dbName,
          user: where.site.dbUser,
          host: grantHost(where.site),
        });
        context.onRollback('drop the database and its user', async () => {
          await context.step(where.db, 'db.drop', {
            database: where.site.dbName,
            user: where.site.dbUser,
            host: grantHost(where.site),
          });
        });
      });
      await context.phase('files', async () => {
        context.onRollback('remove the site directory', async () => {
          await context.step(where.web, 'site.remove', { domain: where.site.domain });
        });
        await writeSettings(context, where);
        context.onRollback('unlink the site from its platform', async () => {
          await context.step(where.web, 'site.unlink', where.on);
        });
        await context.step(where.web, 'site.link', where.on);
      });
      await context.phase('install', () =>
        context.step(where.web, 'app.install', { ...where.on, profile, siteName: where.site.domain }),
      );
      await context.phase('vhost', async () => {
        context.onRollback('remove the vhost', async () => {
          await context.step(where.web, 'http.remove-vhost', { domain: where.site.domain });
        });
        await context.step(where.web, 'http.write-vhost', where.on);
      });
      const probe = await context.phase('probe', () =>
        context.step(where.web, 'probe.http', { domain: where.site.domain, expectStatus: [200] }),
      );
      const recorded = await recordPackages(context, where);
      await deps.sites.setStatus(where.site.id, 'enabled', true);
      return { domain: where.site.domain, status: probe.status, ...recorded };
    },

    'site.verify': async (context) => {
      const where = await place(context);
      const status = await context.step(where.web, 'app.status', where.on);
      const expectStatus = where.site.status === 'disabled' ? [503, 200] : [200];
      const probe = await context.step(where.web, 'probe.http', { domain: where.site.domain, expectStatus });
      const recorded = await recordPackages(context, where);
      await deps.sites.setStatus(where.site.id, where.site.status, true);
      return {
        drupalVersion: status.drupalVersion,
        bootstrap: status.bootstrap,
        probe: probe.status,
        ...recorded,
      };
    },

    'site.backup': async (context) => {
      const where = await place(context);
      const { archiveId } = context.task.params as { archiveId: string };
      context.onRollback('discard the partial archive', () => deps.archives.remove(archiveId));
      const backup = await context.phase('backup', () => archiveSite(context, where, archiveId, 'manual'));
      return { backupId: backup.id, manifest: backup.manifest };
    },

    'site.restore': async (context) => {
      const where = await place(context);
      const { backupId, preArchiveId } = context.task.params as { backupId: string; preArchiveId: string };
      const backup = await deps.backups.findById(backupId);
      if (!backup) throw new Error(`backup ${backupId} is gone`);
      // The current state first: a restore can itself be undone.
      const before = await context.phase('backup', () =>
        archiveSite(context, where, preArchiveId, 'pre-restore'),
      );
      await context.phase('restore', async () => {
        // A backup taken before a rename is of the old name: it is extracted under the current one.
        await context.step(where.web, 'site.extract', {
          domain: backup.domain,
          archiveId: backup.archiveId,
          ...(backup.domain !== where.site.domain ? { targetDomain: where.site.domain } : {}),
          importDatabase: { database: where.site.dbName },
        });
        // Settings are never in backups: they are written again for this site and this server.
        await writeSettings(context, where);
        await context.step(where.web, 'site.link', where.on);
      });
      await context.step(where.web, 'probe.http', { domain: where.site.domain, expectStatus: [200, 503] });
      return { restored: backup.id, preRestoreBackupId: before.id };
    },

    'site.disable': async (context) => {
      const where = await place(context);
      await context.step(where.web, 'http.write-vhost', { ...where.on, disabled: true });
      await deps.sites.setStatus(where.site.id, 'disabled');
      return { status: 'disabled' };
    },

    'site.enable': async (context) => {
      const where = await place(context);
      await context.step(where.web, 'http.write-vhost', where.on);
      await context.step(where.web, 'probe.http', { domain: where.site.domain, expectStatus: [200] });
      await deps.sites.setStatus(where.site.id, 'enabled');
      return { status: 'enabled' };
    },

    'site.delete': async (context) => {
      const where = await place(context);
      const { archiveId } = context.task.params as { archiveId: string };
      const last = await context.phase('backup', () => archiveSite(context, where, archiveId, 'delete'));
      await context.phase('delete', async () => {
        await context.step(where.web, 'http.remove-vhost', { domain: where.site.domain });
        await context.step(where.web, 'site.unlink', where.on);
        await context.step(where.web, 'site.remove', { domain: where.site.domain });
        await context.step(where.db, 'db.drop', {
          database: where.site.dbName,
          user: where.site.dbUser,
          host: grantHost(where.site),
        });
      });
      await deps.packages.replace({ siteId: where.site.id }, []);
      await deps.sites.remove(where.site.id);
      return { lastBackupId: last.id };
    },

    'site.login-reset': async (context) => {
      const where = await place(context);
      const link = await context.step(where.web, 'app.login-link', where.on);
      return { url: link.url };
    },

    'site.backup-delete': async (context) => {
      const { backupId } = context.task.params as { backupId: string };
      const backup = await deps.backups.findById(backupId);
      if (backup) {
        await deps.archives.remove(backup.archiveId);
        await deps.backups.remove(backup.id);
      }
      return { deleted: backupId };
    },
  };
}
