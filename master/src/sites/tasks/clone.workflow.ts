import type { Workflow } from '../../tasks/workflow.js';
import { SITE_POOLS, SiteSteps, vhostOf, type SiteTaskDependencies } from './site-steps.js';

/**
 * Clone (DESIGN.md "Migrate": steps 1–2 kept as a new site): a backup of the source, deployed as a
 * new site with its own database and user, on the same or another platform (the database updates
 * run on the clone then). The source is only read. On failure everything of the new site is undone
 * and its row removed; the source's backup stays, it is a good backup.
 */
export function cloneWorkflow(deps: SiteTaskDependencies): Workflow<'site.clone'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const params = context.task.params;
    const source = await steps.place(context, context.task.targetId, context.task.targetName);
    const found = await steps.place(context, params.cloneSiteId, params.cloneDomain);
    const clone = context.task.workflowVersion >= SITE_POOLS ? await steps.ownPool(context, found) : found;

    // Registered first, so it runs last: a failed clone leaves no trace, the domain is free again.
    context.onRollback('forget the clone', async () => {
      await context.record('packages.replace', () => deps.packages.replace({ siteId: clone.siteId }, []));
      await context.record('sites.remove', () => deps.sites.remove(clone.siteId));
    });
    // Once the archive is recorded as a backup it is a good backup of the source, and stays.
    const backup = await context.phase('backup', () =>
      context.scope('backup', () => {
        context.onRollback('discard a partial archive', () =>
          context.record('archives.remove', () => deps.archives.remove(params.archiveId)),
        );
        return steps.archive(context, source, params.archiveId, 'clone');
      }),
    );

    await context.phase('database', async () => {
      context.onRollback("drop the clone's database and its user", () => steps.dropDatabase(context, clone));
      await steps.createDatabase(context, clone);
    });
    await context.phase('files', async () => {
      context.onRollback("remove the clone's directory", () => steps.removeSite(context, clone));
      await steps.restoreBackup(context, backup, { ...clone, database: clone.database.name });
      await steps.writeSettings(context, clone);
      context.onRollback('unlink the clone from its platform', async () => {
        await steps.onHeads(context, clone, 'site.unlink', () => clone.on);
      });
      await steps.onHeads(context, clone, 'site.link', () => clone.on);
    });
    const updated = clone.platform.id !== source.platform.id;
    if (updated) {
      await context.phase('update', () => context.step(clone.web, 'app.update', clone.on));
    }
    await context.phase('vhost', async () => {
      context.onRollback("remove the clone's vhost", async () => {
        await steps.onHeads(context, clone, 'http.remove-vhost', () => ({ domain: clone.domain }));
      });
      await steps.switchVhosts(context, clone, vhostOf(clone), null);
    });
    const [probe] = await context.phase('probe', () =>
      steps.onHeads(context, clone, 'probe.http', () => ({ domain: clone.domain, expectStatus: [200] })),
    );
    const recorded = await steps.recordPackages(context, clone);
    await context.record('sites.setStatus', () => deps.sites.setStatus(clone.siteId, 'enabled', true));
    return {
      domain: clone.domain,
      from: source.domain,
      platform: clone.platform.name,
      backupId: backup.id,
      updated,
      status: probe!.status,
      ...recorded,
    };
  };
}
