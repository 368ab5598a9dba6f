import type { Workflow } from '../../tasks/workflow.js';
import { SiteSteps, type SiteTaskDependencies } from './site-steps.js';

/**
 * Delete: a last backup first (kept after the site is gone), then the vhost, the link, the site
 * directory, the database and its user; the registry forgets the site last.
 */
export function deleteWorkflow(deps: SiteTaskDependencies): Workflow<'site.delete'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    const last = await context.phase('backup', () =>
      steps.archive(context, place, context.task.params.archiveId, 'delete'),
    );
    await context.phase('delete', async () => {
      await steps.onHeads(context, place, 'http.remove-vhost', () => ({ domain: place.domain }));
      await steps.onHeads(context, place, 'site.unlink', () => place.on);
      await steps.removeSite(context, place);
      await steps.dropDatabase(context, place);
    });
    // A site that moved lately still has a copy on the server it moved from: that goes too.
    await steps.releaseOld(context, place);
    await context.record('packages.replace', () => deps.packages.replace({ siteId: place.siteId }, []));
    await context.record('sites.remove', () => deps.sites.remove(place.siteId));
    return { lastBackupId: last.id };
  };
}
