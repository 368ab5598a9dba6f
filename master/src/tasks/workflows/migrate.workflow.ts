import { StepErrorCode } from '../../../../shared/src/errors.js';
import type { PlatformEntity } from '../../platforms/platform.entity.js';
import { RolledBackError, StepFailedError, type TaskContext, type Workflow } from '../workflow.js';
import type { SitePlace, SiteSteps } from './site-steps.js';

/** What a migrate task is created with (reserved and named up front, so a replay uses the same). */
export interface MigrateParams {
  targetPlatformId: string;
  /** The online backup, deployed as the rehearsal. */
  backupArchiveId: string;
  /** The rollback point dumped once writes are held. */
  rollbackArchiveId: string;
  rehearsal: { domain: string; database: string; user: string };
}

export interface MigrateDependencies {
  steps: SiteSteps;
  targetPlatform: (id: string) => Promise<PlatformEntity>;
  /** Moves the site to its new platform in the registry (and records its packages there). */
  commit: (
    context: TaskContext,
    place: SitePlace,
    target: PlatformEntity,
  ) => Promise<Record<string, unknown>>;
}

/**
 * The optimistic migrate (DESIGN.md "Migrate"): an online backup, a rehearsal of the updates on a
 * throwaway copy on the target platform, then writes held (read-only, else maintenance), a rollback
 * point, and an offline window that lasts only as long as the database updates. Any failure in
 * the window restores the rollback point on the old platform. The registry changes only at the end.
 */
export function migrateWorkflow({ steps, targetPlatform, commit }: MigrateDependencies): Workflow {
  return async (context) => {
    const params = context.task.params as unknown as MigrateParams;
    const where = await steps.place(context);
    const target = await targetPlatform(params.targetPlatformId);
    const live = where.on;
    const onTarget = { domain: where.site.domain, platform: target.name };

    await context.phase('backup', () => steps.archive(context, where, params.backupArchiveId, 'pre-migrate'));

    await context.phase('rehearsal', () => rehearse(context, steps, where, target, params));

    // Writes held from here: nothing acknowledged after the rollback point can be lost.
    let readOnly = true;
    try {
      await context.step(where.web, 'app.readonly', { ...live, on: true });
    } catch (error) {
      if (!(error instanceof StepFailedError && error.failure.code === StepErrorCode.NotFound)) throw error;
      readOnly = false;
      await context.log('the site has no read-only mode (module readonlymode): maintenance holds the writes');
    }
    context.onRollback('writes allowed again', async () => {
      if (readOnly) await context.step(where.web, 'app.readonly', { ...live, on: false });
      else await context.step(where.web, 'app.maintenance', { ...live, on: false });
    });
    if (!readOnly) await context.step(where.web, 'app.maintenance', { ...live, on: true });

    await context.phase('read-only window', async () => {
      await context.phase('rollback point', () =>
        context.step(where.db, 'db.dump', {
          database: where.site.dbName,
          archiveId: params.rollbackArchiveId,
        }),
      );
      // The offline window holds a slot on each server it touches: it never waits behind another
      // task's step once the site is down.
      await context.withServers([where.web, where.db], () =>
        context.phase('offline window', () => offlineWindow(context, where, target, params, readOnly)),
      );
      if (readOnly) await context.step(where.web, 'app.readonly', { ...onTarget, on: false });
    });

    await context.step(where.web, 'probe.http', { domain: where.site.domain, expectStatus: [200] });
    return { from: where.platform.name, to: target.name, ...(await commit(context, where, target)) };
  };

  async function offlineWindow(
    context: TaskContext,
    where: SitePlace,
    target: PlatformEntity,
    params: MigrateParams,
    readOnly: boolean,
  ): Promise<void> {
    const live = where.on;
    const onTarget = { domain: where.site.domain, platform: target.name };
    if (readOnly) await context.step(where.web, 'app.maintenance', { ...live, on: true });
    try {
      await context.step(where.web, 'site.link', onTarget);
      await context.step(where.web, 'app.update', onTarget);
      await context.step(where.web, 'http.write-vhost', onTarget);
      await context.step(where.web, 'app.maintenance', { ...onTarget, on: false });
    } catch (error) {
      await context.log(`the window failed (${(error as Error).message}); restoring the rollback point`);
      let completed = true;
      // While the database is being restored it is half there: nginx answers 503 from a static page
      // (the disabled vhost) instead of letting PHP serve it; the real vhost comes back after.
      for (const [name, undo] of [
        [
          'hold the site at the web server',
          () => context.step(where.web, 'http.write-vhost', { ...live, disabled: true }),
        ],
        [
          'database back to the rollback point',
          () =>
            context.step(where.db, 'db.import', {
              database: where.site.dbName,
              archiveId: params.rollbackArchiveId,
            }),
        ],
        ['vhost back to the old platform', () => context.step(where.web, 'http.write-vhost', live)],
        ['unlink from the target platform', () => context.step(where.web, 'site.unlink', onTarget)],
        ['maintenance off', () => context.step(where.web, 'app.maintenance', { ...live, on: false })],
      ] as const) {
        try {
          await undo();
        } catch (undoError) {
          completed = false;
          await context.log(`rollback "${name}" failed: ${(undoError as Error).message}`);
        }
      }
      throw new RolledBackError(error, completed);
    }
  }
}

/** The updates on a throwaway copy on the target; cleaned up whatever happens. */
async function rehearse(
  context: TaskContext,
  steps: SiteSteps,
  where: SitePlace,
  target: PlatformEntity,
  params: MigrateParams,
): Promise<void> {
  const test = params.rehearsal;
  const grant = steps.grantHost(where.site);
  const onTarget = { domain: test.domain, platform: target.name };
  try {
    await context.step(where.db, 'db.create', { database: test.database, user: test.user, host: grant });
    await context.step(where.web, 'site.extract', {
      domain: where.site.domain,
      archiveId: params.backupArchiveId,
      targetDomain: test.domain,
      importDatabase: { database: test.database },
    });
    await context.step(where.web, 'site.write-settings', {
      domain: test.domain,
      platformPath: target.path,
      database: test.database,
      user: test.user,
      dbHost: where.site.dbHost,
      dbPort: where.site.dbPort,
      trustedHosts: [test.domain],
    });
    await context.step(where.web, 'site.link', onTarget);
    await context.step(where.web, 'app.update', onTarget);
    await context.step(where.web, 'http.write-vhost', onTarget);
    await context.step(where.web, 'probe.http', { domain: test.domain, expectStatus: [200] });
  } finally {
    // Every clean-up step runs even if an earlier one fails: the copy must not outlive the task.
    for (const cleanUp of [
      () => context.step(where.web, 'http.remove-vhost', { domain: test.domain }),
      () => context.step(where.web, 'site.unlink', onTarget),
      () => context.step(where.web, 'site.remove', { domain: test.domain }),
      () => context.step(where.db, 'db.drop', { database: test.database, user: test.user, host: grant }),
    ]) {
      await cleanUp().catch((error: unknown) =>
        context.log(`rehearsal clean-up: ${(error as Error).message}`),
      );
    }
  }
}
