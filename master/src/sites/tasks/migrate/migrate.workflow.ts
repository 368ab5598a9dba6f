import { StepErrorCode } from '../../../../../shared/src/errors.js';
import type { MigrateParams } from '../../../../../shared/src/tasks.js';
import { StepFailedError, type TaskContext, type Workflow } from '../../../tasks/workflow.js';
import {
  SiteSteps,
  type BackupParts,
  type PlatformPlace,
  type SitePlace,
  type SiteTaskDependencies,
} from '../site-steps.js';
import { MIGRATE_PHASES } from './migrate-phases.js';

/**
 * The optimistic migrate (DESIGN.md "Migrate"): an online backup, a rehearsal of the updates on a
 * throwaway copy on the target platform, then writes held (read-only, else maintenance), a rollback
 * point, and an offline window that lasts only as long as the database updates. Any failure in
 * the window restores the rollback point on the old platform while the window still holds its
 * servers. The registry changes only at the end.
 */
export function migrateWorkflow(deps: SiteTaskDependencies): Workflow<'site.migrate'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const params = context.task.params;
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    const target = await context.record('platform.place', () =>
      deps.places.platform(params.targetPlatformId),
    );
    if (!target) throw new Error(`the target platform ${params.targetPlatform} is no longer in the registry`);
    const live = place.on;
    const onTarget = { domain: place.domain, platform: target.name };

    const backup = await context.phase(MIGRATE_PHASES.backup, () =>
      steps.archive(context, place, params.backupArchiveId, 'pre-migrate'),
    );

    await rehearse(context, steps, place, target, params, backup);

    // Writes held from here: nothing acknowledged after the rollback point can be lost.
    const readOnly = await holdWrites(context, place);
    context.onRollback('writes allowed again', async () => {
      await context.step(place.web, readOnly ? 'app.readonly' : 'app.maintenance', { ...live, on: false });
    });
    if (!readOnly) await context.step(place.web, 'app.maintenance', { ...live, on: true });

    await context.phase(MIGRATE_PHASES.readOnlyWindow, async () => {
      await context.phase(MIGRATE_PHASES.rollbackPoint, () =>
        context.step(place.db, 'db.dump', {
          database: place.database.name,
          archiveId: params.rollbackArchiveId,
        }),
      );
      // The window holds a slot on each server it touches, undo included: it never waits behind
      // another task's step once the site is down.
      await context.scope(
        MIGRATE_PHASES.offlineWindow,
        () => offlineWindow(context, place, onTarget, params, readOnly),
        { servers: [place.web, place.db], phase: true },
      );
      if (readOnly) await context.step(place.web, 'app.readonly', { ...onTarget, on: false });
    });

    await context.step(place.web, 'probe.http', { domain: place.domain, expectStatus: [200] });
    // Packages first, the platform last: a task that stops in between leaves the site where it was.
    const recorded = await steps.recordPackages(context, { ...place, platform: target, on: onTarget });
    await context.record('sites.setPlatform', () => deps.sites.setPlatform(place.siteId, target.id));
    return { from: place.platform.name, to: target.name, ...recorded };
  };
}

/** Read-only mode where the site has it (module readonlymode); false when maintenance must do. */
async function holdWrites(context: TaskContext<'site.migrate'>, place: SitePlace): Promise<boolean> {
  try {
    await context.step(place.web, 'app.readonly', { ...place.on, on: true });
    return true;
  } catch (error) {
    if (!(error instanceof StepFailedError && error.failure.code === StepErrorCode.NotFound)) throw error;
    await context.log('the site has no read-only mode (module readonlymode): maintenance holds the writes');
    return false;
  }
}

/**
 * Maintenance on, the site linked into the target, its updates, the target's vhost, maintenance
 * off. Every undo action is registered before the first step and all of them run on any failure,
 * in this order: while the database is restored it is half there, so nginx answers 503 from a
 * static page (the disabled vhost) instead of letting PHP serve it; the real vhost comes back after.
 */
async function offlineWindow(
  context: TaskContext<'site.migrate'>,
  place: SitePlace,
  onTarget: SitePlace['on'],
  params: MigrateParams,
  readOnly: boolean,
): Promise<void> {
  const live = place.on;
  const undo: Array<[string, () => Promise<unknown>]> = [
    [
      'hold the site at the web server',
      () => context.step(place.web, 'http.write-vhost', { ...live, disabled: true }),
    ],
    [
      'database back to the rollback point',
      () =>
        context.step(place.db, 'db.import', {
          database: place.database.name,
          archiveId: params.rollbackArchiveId,
        }),
    ],
    ['vhost back to the old platform', () => context.step(place.web, 'http.write-vhost', live)],
    ['unlink from the target platform', () => context.step(place.web, 'site.unlink', onTarget)],
    ['maintenance off', () => context.step(place.web, 'app.maintenance', { ...live, on: false })],
  ];
  // Newest first when they run: registered last to first.
  for (const [name, action] of undo.reverse()) {
    context.onRollback(name, async () => {
      await action();
    });
  }
  if (readOnly) await context.step(place.web, 'app.maintenance', { ...live, on: true });
  await context.step(place.web, 'site.link', onTarget);
  await context.step(place.web, 'app.update', onTarget);
  await context.step(place.web, 'http.write-vhost', onTarget);
  await context.step(place.web, 'app.maintenance', { ...onTarget, on: false });
}

/**
 * The updates on a throwaway copy on the target, from the backup just taken (which proves it
 * restores). Every clean-up is registered first and runs whatever happens, each even if one before
 * it fails: the copy must not outlive the task.
 */
async function rehearse(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  place: SitePlace,
  target: PlatformPlace,
  params: MigrateParams,
  backup: BackupParts,
): Promise<void> {
  const copy = params.rehearsal;
  const grant = { database: copy.database, user: copy.user, host: steps.grantHost(place) };
  const onTarget = { domain: copy.domain, platform: target.name };
  await context.scope(
    MIGRATE_PHASES.rehearsal,
    async () => {
      context.cleanup("drop the copy's database", async () => {
        await context.step(place.db, 'db.drop', grant);
      });
      context.cleanup("remove the copy's directory", async () => {
        await context.step(place.web, 'site.remove', { domain: copy.domain });
      });
      context.cleanup('unlink the copy', async () => {
        await context.step(place.web, 'site.unlink', onTarget);
      });
      context.cleanup("remove the copy's vhost", async () => {
        await context.step(place.web, 'http.remove-vhost', { domain: copy.domain });
      });
      await context.step(place.db, 'db.create', grant);
      await steps.restoreBackup(context, backup, {
        web: place.web,
        db: place.db,
        domain: copy.domain,
        database: copy.database,
      });
      await context.step(place.web, 'site.write-settings', {
        domain: copy.domain,
        platformPath: target.path,
        database: copy.database,
        user: copy.user,
        dbHost: place.database.host,
        dbPort: place.database.port,
        trustedHosts: [copy.domain],
      });
      await context.step(place.web, 'site.link', onTarget);
      await context.step(place.web, 'app.update', onTarget);
      await context.step(place.web, 'http.write-vhost', onTarget);
      await context.step(place.web, 'probe.http', { domain: copy.domain, expectStatus: [200] });
    },
    { phase: true },
  );
}
