import type { SitesRepository } from '../../sites/sites.repository.js';
import type { Workflow } from '../workflow.js';
import type { SitePlace, SiteSteps } from './site-steps.js';

/** What a rename task is created with: both names fixed up front, so a replay uses the same. */
export interface RenameParams {
  from: string;
  domain: string;
  /** The backup taken first, online: a restore point of the site as it was (reserved up front). */
  archiveId: string;
  /** The site's files as the window starts, which become the new name's directory; removed after. */
  filesArchiveId: string;
  /** Keep the old name as a permanent redirect to the new one; else it no longer answers. */
  redirect: boolean;
}

export interface RenameDependencies {
  steps: SiteSteps;
  sites: Pick<SitesRepository, 'setDomain'>;
  archives: { remove(archiveId: string): Promise<void> };
}

/**
 * Rename (DESIGN.md "Migrate": to the same platform under a new domain). A backup first, online.
 * The database stays; the site directory is an archive of its files extracted under the new name,
 * with settings for it. Writes are held (maintenance) from that archive until the new name serves
 * and the old one no longer does, so nothing written under the old name is lost (the backup is taken
 * before, so that restoring it does not bring back maintenance mode). The old directory, link and
 * vhost go last, and the registry changes only at the end: on any failure before, the site is back
 * under its old name.
 */
export function renameWorkflow({ steps, sites, archives }: RenameDependencies): Workflow {
  return async (context) => {
    const params = context.task.params as unknown as RenameParams;
    const current = await steps.place(context);
    // The names come from the params: a replay after the registry changed still sees the same.
    const old: SitePlace = {
      ...current,
      site: { ...current.site, domain: params.from },
      on: { domain: params.from, platform: current.platform.name },
    };
    const next: SitePlace = {
      ...current,
      site: { ...current.site, domain: params.domain },
      on: { domain: params.domain, platform: current.platform.name },
    };

    const backup = await context.phase('backup', () =>
      steps.archive(context, old, params.archiveId, 'rename'),
    );

    context.onRollback('writes allowed again', async () => {
      await context.step(old.web, 'app.maintenance', { ...old.on, on: false });
    });
    await context.step(old.web, 'app.maintenance', { ...old.on, on: true });
    context.onRollback('discard the files archive', () => archives.remove(params.filesArchiveId));

    await context.phase('maintenance window', async () => {
      await context.phase('files', async () => {
        await context.step(old.web, 'site.archive', {
          domain: old.site.domain,
          archiveId: params.filesArchiveId,
          includeDatabase: null,
        });
        context.onRollback('remove the new directory', async () => {
          await context.step(next.web, 'site.remove', { domain: next.site.domain });
        });
        // Only the files: the database is the same one, under the same user.
        await context.step(next.web, 'site.extract', {
          domain: old.site.domain,
          archiveId: params.filesArchiveId,
          targetDomain: next.site.domain,
          importDatabase: null,
        });
        await steps.writeSettings(context, next);
        context.onRollback('unlink the new name', async () => {
          await context.step(next.web, 'site.unlink', next.on);
        });
        await context.step(next.web, 'site.link', next.on);
      });
      await context.phase('vhost', async () => {
        context.onRollback('remove the new vhost', async () => {
          await context.step(next.web, 'http.remove-vhost', { domain: next.site.domain });
        });
        // The old vhost goes first: the new one may answer for the old name with a redirect.
        context.onRollback('the old vhost back', async () => {
          await context.step(old.web, 'http.write-vhost', old.on);
        });
        await context.step(old.web, 'http.remove-vhost', { domain: old.site.domain });
        await context.step(next.web, 'http.write-vhost', {
          ...next.on,
          ...(params.redirect ? { redirectFrom: [old.site.domain] } : {}),
        });
      });
      await context.step(next.web, 'app.maintenance', { ...next.on, on: false });
    });
    await archives.remove(params.filesArchiveId);

    const probe = await context.phase('probe', async () => {
      const answer = await context.step(next.web, 'probe.http', {
        domain: next.site.domain,
        expectStatus: [200],
      });
      if (params.redirect) {
        await context.step(next.web, 'probe.http', { domain: old.site.domain, expectStatus: [301] });
      }
      return answer;
    });

    await context.phase('clean-up', async () => {
      context.onRollback('link the old name again', async () => {
        await context.step(old.web, 'site.link', old.on);
      });
      await context.step(old.web, 'site.unlink', old.on);
      await context.step(old.web, 'site.remove', { domain: old.site.domain });
    });
    await sites.setDomain(current.site.id, next.site.domain);
    return {
      from: old.site.domain,
      domain: next.site.domain,
      redirect: params.redirect,
      backupId: backup.id,
      status: probe.status,
    };
  };
}
