import type { TaskContext, Workflow } from '../../../tasks/workflow.js';
import { deployScratchSite } from '../scratch-site.js';
import { SiteSteps, vhostOf, type SitePlace, type SiteTaskDependencies } from '../site-steps.js';
import { MIGRATE_PHASES } from './migrate-phases.js';
import {
  holdWritesForTask,
  registerUndo,
  restoreRollbackPointUndo,
  takeRollbackPoint,
  updateAndHooks,
  type Undo,
} from './window.js';

/**
 * A site deploy (seed 000's site repository; DESIGN.md "Migrate" for the safety): a ref of the
 * site's own repository fetched into its directory (nothing changes yet), an online backup, the new
 * code with its updates and hooks rehearsed on a throwaway copy of that backup, then writes held, a
 * rollback point, and in a short window the code checked out, the updates and the hooks. Any failure
 * in the window puts the database back to the rollback point and the code back to the commit it was
 * at, while the window still holds the site's servers. The registry changes only at the end.
 */
export function deployWorkflow(deps: SiteTaskDependencies): Workflow<'site.deploy'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const params = context.task.params;
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    // Only this task's rollback can use its rollback point.
    context.cleanup('remove the rollback point from the store', () =>
      context.record('archives.remove', () => deps.archives.remove(params.rollbackArchiveId)),
    );
    const fetched = await context.phase('fetch', () =>
      context.step(place.web, 'site.code-fetch', { domain: place.domain, ref: params.ref }),
    );
    const { commit, current: previous } = fetched;
    if (!previous) {
      throw new Error(
        `${place.domain}'s directory is a repository with nothing checked out: it was not installed with --repo`,
      );
    }
    if (commit === previous) {
      await context.log(`${place.domain} is at ${commit} (${params.ref}) already: nothing to deploy`);
      return {
        ref: params.ref,
        commit,
        previous,
        unchanged: true,
        ...(await steps.recordPackages(context, place)),
      };
    }
    await context.scope('the deploy', () => deploy(context, steps, place, commit, previous));
    await context.step(place.web, 'probe.http', { domain: place.domain, expectStatus: [200] });
    const recorded = await steps.recordPackages(context, place);
    await context.record('sites.setCode', () =>
      deps.sites.setCode(place.siteId, { ref: params.ref, commit }),
    );
    return { ref: params.ref, commit, previous, unchanged: false, ...recorded };
  };
}

/** The deploy's version from which its rollback point may be the backup and the binary log (takeRollbackPoint). */
export const DEPLOY_REWINDS = 3;

async function deploy(
  context: TaskContext<'site.deploy'>,
  steps: SiteSteps,
  place: SitePlace,
  commit: string,
  previous: string,
): Promise<void> {
  const params = context.task.params;
  const live = place.on;
  // The backup holds the repository with the new commit fetched: the copy checks it out offline.
  const backup = await context.phase(MIGRATE_PHASES.backup, () =>
    steps.archive(context, place, params.backupArchiveId, 'pre-deploy'),
  );
  await context.scope(
    MIGRATE_PHASES.rehearsal,
    () =>
      deployScratchSite(context, steps, place, backup, params.rehearsal, place.platform, async (on) => {
        await context.step(place.web, 'site.code-checkout', { domain: on.domain, commit });
        await updateAndHooks(context, place.web, on, params.hooks);
      }),
    { phase: true },
  );

  const readOnly = await holdWritesForTask(context, place);

  await context.phase(MIGRATE_PHASES.readOnlyWindow, async () => {
    const point = await takeRollbackPoint(context, place, {
      archiveId: params.rollbackArchiveId,
      backup,
      byLog: context.task.workflowVersion >= DEPLOY_REWINDS,
    });
    const servers = [...new Set([place.web, place.db])];
    await context.scope(
      MIGRATE_PHASES.offlineWindow,
      async () => {
        // As the migrate's window: 503 from a static page while the database is half restored.
        const undo: Undo[] = [
          [
            'hold the site at the web server',
            () => context.step(place.web, 'http.write-vhost', { ...vhostOf(place), disabled: true }),
          ],
          restoreRollbackPointUndo(context, place, point),
          [
            `code back to ${previous}`,
            () => context.step(place.web, 'site.code-checkout', { domain: place.domain, commit: previous }),
          ],
          ['the site served again', () => context.step(place.web, 'http.write-vhost', vhostOf(place))],
          ['maintenance off', () => context.step(place.web, 'app.maintenance', { ...live, on: false })],
        ];
        registerUndo(context, undo);
        if (readOnly) await context.step(place.web, 'app.maintenance', { ...live, on: true });
        await context.step(place.web, 'site.code-checkout', { domain: place.domain, commit });
        await updateAndHooks(context, place.web, live, params.hooks);
        await context.step(place.web, 'app.maintenance', { ...live, on: false });
      },
      { servers, phase: true },
    );
    if (readOnly) await context.step(place.web, 'app.readonly', { ...live, on: false });
  });
}
