import { registerWorkflow, type WorkflowRegistration, type Workflow } from '../../tasks/workflow.js';
import { SITE_WORKFLOW_VERSION, SiteSteps, type SiteTaskDependencies } from '../../sites/tasks/site-steps.js';
import { updateAndHooks } from '../../sites/tasks/migrate/window.js';

/**
 * An environment sync (seed 000's dev/test/live; Pantheon's "clone database and files"): another
 * environment's data copied down into this site. This site is backed up first; the source is backed
 * up online and never changed; then, this site in maintenance, the source's database imported into
 * this site's and/or its files/ put in place of this site's (code, settings and private files stay
 * this site's own), the copy scrubbed (sanitize), and the updates and hooks run for this site's code.
 * Any failure restores this site's backup: it is as it was, and the source was never touched.
 */
export function syncWorkflow(deps: SiteTaskDependencies): Workflow<'site.sync'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const params = context.task.params;
    const target = await steps.place(context, context.task.targetId, context.task.targetName);
    const source = await steps.place(context, params.source.siteId, params.source.domain);
    const before = await context.phase('backup', () =>
      steps.archive(context, target, params.targetArchiveId, 'pre-sync'),
    );
    const copy = await context.phase('copy', () =>
      steps.archive(context, source, params.sourceArchiveId, 'sync'),
    );
    context.onRollback(`${target.domain} back as it was before the sync`, async () => {
      await steps.restoreBackup(context, before, { ...target, database: target.database.name });
      // Settings are never in backups: written again for this site and this server.
      await steps.writeSettings(context, target);
      await context.step(target.web, 'app.maintenance', { ...target.on, on: false });
    });
    await context.phase('sync', async () => {
      await context.step(target.web, 'app.maintenance', { ...target.on, on: true });
      if (params.db) {
        if (!copy.databaseArchiveId) throw new Error(`the copy of ${source.domain} holds no database dump`);
        await context.step(target.db, 'db.import', {
          database: target.database.name,
          archiveId: copy.databaseArchiveId,
        });
        // Scrubbed before anything else reads it: the hooks, then people.
        await context.step(target.web, 'app.sanitize', { ...target.on, command: params.sanitize });
      }
      if (params.files) {
        await context.step(target.web, 'site.extract', {
          domain: source.domain,
          targetDomain: target.domain,
          archiveId: copy.archiveId,
          importDatabase: null,
          onlyFiles: true,
        });
      }
      // The source's database for this site's code: its pending updates, then its hooks.
      if (params.db) await updateAndHooks(context, target.web, target.on, params.hooks);
      await context.step(target.web, 'app.maintenance', { ...target.on, on: false });
    });
    await context.step(target.web, 'probe.http', { domain: target.domain, expectStatus: [200] });
    return {
      from: source.domain,
      to: target.domain,
      db: params.db,
      files: params.files,
      sanitized: params.db ? params.sanitize : null,
      backupId: before.id,
    };
  };
}

/** The projects feature's workflows. */
export function projectWorkflows(deps: SiteTaskDependencies): WorkflowRegistration[] {
  // Born after the site workflows' version 2: dumps are archives of their own (SiteSteps).
  return [registerWorkflow('site.sync', SITE_WORKFLOW_VERSION, syncWorkflow(deps))];
}
