import type { Workflow } from '../../tasks/workflow.js';
import { SITE_POOLS, SiteSteps, vhostOf, type SiteTaskDependencies } from './site-steps.js';

/**
 * Install: the database and its user, the settings, the link into the platform, drush
 * site:install, the vhost and a probe. Every part is undone on failure, newest first, so a failed
 * install leaves nothing behind and the domain is free again.
 */
export function installWorkflow(deps: SiteTaskDependencies): Workflow<'site.install'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const found = await steps.place(context, context.task.targetId, context.task.targetName);
    const place = context.task.workflowVersion >= SITE_POOLS ? await steps.ownPool(context, found) : found;
    // Registered first, so it runs last.
    context.onRollback('forget the site', () =>
      context.record('sites.remove', () => deps.sites.remove(place.siteId)),
    );
    await context.phase('database', async () => {
      // A database on a server of its own: every head must reach it before anything is made.
      if (context.task.workflowVersion >= 2 && place.database.host !== '127.0.0.1') {
        await steps.onHeads(context, place, 'probe.tcp', () => ({
          host: place.database.host,
          port: place.database.port,
        }));
      }
      context.onRollback('drop the database and its user', () => steps.dropDatabase(context, place));
      await steps.createDatabase(context, place);
    });
    await context.phase('files', async () => {
      context.onRollback('remove the site directory', () => steps.removeSite(context, place));
      await steps.writeSettings(context, place);
      context.onRollback('unlink the site from its platform', async () => {
        await steps.onHeads(context, place, 'site.unlink', () => place.on);
      });
      await steps.onHeads(context, place, 'site.link', () => place.on);
    });
    // A site repository (only on one server, the service checks): its code in the site directory
    // before Drupal installs. Tasks queued without one ask for the same steps as before.
    const { repository, newRepository } = context.task.params;
    const code =
      repository || newRepository
        ? await context.phase('code', async () => {
            const { url, ref } = repository ?? {
              url: (await context.step(place.web, 'site.code-init', { domain: place.domain })).url,
              ref: 'main',
            };
            const fetched = await context.step(place.web, 'site.code-fetch', {
              domain: place.domain,
              ref,
              url,
            });
            await context.step(place.web, 'site.code-checkout', {
              domain: place.domain,
              commit: fetched.commit,
            });
            return { ref, commit: fetched.commit, url };
          })
        : null;
    await context.phase('install', () =>
      context.step(place.web, 'app.install', {
        ...place.on,
        profile: context.task.params.profile,
        siteName: place.domain,
      }),
    );
    await context.phase('vhost', async () => {
      context.onRollback('remove the vhost', async () => {
        await steps.onHeads(context, place, 'http.remove-vhost', () => ({ domain: place.domain }));
      });
      await steps.switchVhosts(context, place, vhostOf(place), null);
    });
    const [probe] = await context.phase('probe', () =>
      steps.onHeads(context, place, 'probe.http', () => ({ domain: place.domain, expectStatus: [200] })),
    );
    const recorded = await steps.recordPackages(context, place);
    if (code) await context.record('sites.setCode', () => deps.sites.setCode(place.siteId, code));
    await context.record('sites.setStatus', () => deps.sites.setStatus(place.siteId, 'enabled', true));
    return { domain: place.domain, status: probe!.status, ...recorded };
  };
}
