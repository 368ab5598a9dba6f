import type { Workflow } from '../../tasks/workflow.js';
import { PLAIN_EDGE, type SiteEdge } from '../../../../shared/src/site-edge.js';
import { SiteSteps, vhostOf, type SitePlace, type SiteTaskDependencies } from './site-steps.js';

/**
 * Rename (DESIGN.md "Migrate": to the same platform under a new domain). A backup first, online.
 * The database stays; the site directory is an archive of its files extracted under the new name,
 * with settings for it. Writes are held (maintenance) from that archive until the new name serves
 * and the old one no longer does, so nothing written under the old name is lost (the backup is taken
 * before, so that restoring it does not bring back maintenance mode). The old directory, link and
 * vhost go last, and the registry changes only at the end: on any failure before, the site is back
 * under its old name.
 */
export function renameWorkflow(deps: SiteTaskDependencies): Workflow<'site.rename'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const params = context.task.params;
    const current = await steps.place(context, context.task.targetId, context.task.targetName);
    const named = (domain: string, edge: SiteEdge | undefined): SitePlace => ({
      ...current,
      domain,
      on: { domain, platform: current.platform.name },
      ...(edge ? { edge } : {}),
    });
    const old = named(params.from, current.edge);
    // With --redirect the old name becomes one of the site's redirects, kept by every later vhost.
    const edge = current.edge ?? (params.redirect ? PLAIN_EDGE : undefined);
    const next = named(
      params.domain,
      edge && params.redirect ? { ...edge, redirects: [...new Set([...edge.redirects, old.domain])] } : edge,
    );

    const backup = await context.phase('backup', () =>
      steps.archive(context, old, params.archiveId, 'rename'),
    );

    context.onRollback('writes allowed again', async () => {
      await context.step(old.web, 'app.maintenance', { ...old.on, on: false });
    });
    await context.step(old.web, 'app.maintenance', { ...old.on, on: true });
    context.cleanup('discard the files archive', () =>
      context.record('archives.remove', () => deps.archives.remove(params.filesArchiveId)),
    );

    await context.phase('maintenance window', async () => {
      await context.phase('files', async () => {
        await context.step(old.web, 'site.archive', {
          domain: old.domain,
          archiveId: params.filesArchiveId,
          includeDatabase: null,
        });
        context.onRollback('remove the new directory', async () => {
          await context.step(next.web, 'site.remove', { domain: next.domain });
        });
        // Only the files: the database is the same one, under the same user.
        await context.step(next.web, 'site.extract', {
          domain: old.domain,
          archiveId: params.filesArchiveId,
          targetDomain: next.domain,
          importDatabase: null,
        });
        await steps.writeSettings(context, next, { sharesWith: old.domain });
        context.onRollback('unlink the new name', async () => {
          await context.step(next.web, 'site.unlink', next.on);
        });
        await context.step(next.web, 'site.link', next.on);
      });
      await context.phase('vhost', async () => {
        context.onRollback('remove the new vhost', async () => {
          await context.step(next.web, 'http.remove-vhost', { domain: next.domain });
        });
        // The old vhost goes first: the new one may answer for the old name with a redirect.
        context.onRollback('the old vhost back', async () => {
          await context.step(old.web, 'http.write-vhost', vhostOf(old));
        });
        await context.step(old.web, 'http.remove-vhost', { domain: old.domain });
        await context.step(next.web, 'http.write-vhost', vhostOf(next));
      });
      await context.step(next.web, 'app.maintenance', { ...next.on, on: false });
    });

    const probe = await context.phase('probe', async () => {
      const answer = await context.step(next.web, 'probe.http', {
        domain: next.domain,
        expectStatus: [200],
      });
      if (params.redirect) {
        await context.step(next.web, 'probe.http', { domain: old.domain, expectStatus: [301] });
      }
      return answer;
    });

    await context.phase('clean-up', async () => {
      context.onRollback('link the old name again', async () => {
        await context.step(old.web, 'site.link', old.on);
      });
      await context.step(old.web, 'site.unlink', old.on);
      await context.step(old.web, 'site.remove', { domain: old.domain });
    });
    await context.record('sites.setDomain', () => deps.sites.setDomain(current.siteId, next.domain));
    if (params.redirect && next.edge)
      await context.record('edges.set', () => deps.edges.setEdge(current.siteId, next.edge!));
    // Under its new name it serves plain HTTP until a certificate names it: the task right after.
    if (next.edge?.https?.mode === 'letsencrypt')
      await context.record('certificates.queue', () => deps.edges.queueCertificate(current.siteId));
    return {
      from: old.domain,
      domain: next.domain,
      redirect: params.redirect,
      backupId: backup.id,
      status: probe.status,
    };
  };
}
