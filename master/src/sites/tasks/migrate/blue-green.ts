import { StepErrorCode } from '../../../../../shared/src/errors.js';
import type { TaskResult } from '../../../../../shared/src/tasks.js';
import { StepFailedError, type TaskContext } from '../../../tasks/workflow.js';
import { vhostOf, type SitePlace, type SiteSteps, type SiteTaskDependencies } from '../site-steps.js';
import { MIGRATE_PHASES } from './migrate-phases.js';
import { registerUndo, updateAndHooks, type Undo } from './window.js';

/**
 * The blue-green migrate (`--strategy blue-green`; seed 003's second answer, automated): no offline
 * window at all. After the online backup the site goes read-only (it keeps serving pages), its
 * database is copied on its db server (db.copy, nothing through the master), and the copy runs as a
 * hidden twin site on the target platform (its own name, vhost and link; settings that are the
 * site's own but for the database) where the updates and hooks run and a probe must answer 200.
 * Then the domain's vhost moves to the target naming the copy (fastcgi_param BERTH_DATABASE, which
 * the site's settings.php takes): one nginx reload switches code and database together, whatever
 * PHP still caches of files. The site's credentials then name the copy, read-only ends, the twin
 * goes. No link is ever re-pointed (PHP's realpath cache would keep the old target). The old
 * database is the rollback until the task succeeds, and is dropped after. A failure before or in
 * the switch puts every piece back: the live site never answered 503, and lost nothing.
 */
export async function blueGreenMigrate(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  deps: SiteTaskDependencies,
  place: SitePlace,
  /** The site on the target platform, same web and db servers (planMigrate allows nothing else). */
  moved: SitePlace,
): Promise<TaskResult<'site.migrate'>> {
  const params = context.task.params;
  const names = params.blueGreen;
  if (!names) throw new Error('a blue-green migrate without the names of its copy (params.blueGreen)');
  const onTarget = moved.on;
  const green = { domain: names.domain, platform: moved.platform.name };
  /** The site as it ends: on the target, on the copy of its database. */
  const switched: SitePlace = { ...moved, database: { ...place.database, name: names.database } };

  await context.phase(MIGRATE_PHASES.backup, () =>
    steps.archive(context, place, params.backupArchiveId, 'pre-migrate'),
  );
  // Settings as this version writes them (they take the database a vhost names), same database.
  await steps.writeSettings(context, place);

  // From read-only to the switched site's probe: undone as one when any of it fails (the copy
  // dropped only then), kept as one once it succeeded.
  await context.scope('the switch to a copy', async () => {
    await holdWritesReadOnly(context, place);
    await context.phase(MIGRATE_PHASES.readOnlyWindow, async () => {
      await context.phase(MIGRATE_PHASES.databaseCopy, async () => {
        // The site's own user, granted on the copy too: after the switch nothing else changes.
        await context.step(place.db, 'db.create', { ...steps.database(switched), fresh: true });
        context.onRollback('drop the copy of the database', async () => {
          await context.step(place.db, 'db.drop-database', { database: names.database });
        });
        await context.step(place.db, 'db.copy', { from: place.database.name, to: names.database });
      });
      await context.scope('the copy as a site', async () => {
        // Whatever happens, the twin goes when the switch is done or undone.
        context.cleanup('remove the copy site', async () => {
          await context.step(place.web, 'http.remove-vhost', { domain: green.domain });
          await context.step(place.web, 'site.unlink', green);
          await context.step(place.web, 'site.remove', { domain: green.domain });
        });
        await context.phase(MIGRATE_PHASES.green, async () => {
          await context.step(place.web, 'site.write-settings', {
            domain: green.domain,
            platformPath: moved.platform.path,
            database: names.database,
            user: place.database.user,
            dbHost: place.database.host,
            dbPort: place.database.port,
            trustedHosts: [green.domain],
            sameAs: place.domain,
          });
          await context.step(place.web, 'site.link', green);
          await context.step(place.web, 'http.write-vhost', green);
          await updateAndHooks(context, place.web, green, params.hooks);
          await context.step(place.web, 'probe.http', { domain: green.domain, expectStatus: [200] });
        });
        await context.phase(MIGRATE_PHASES.switch, () => switchToCopy(context, steps, place, switched));
      });
    });
  });

  // The registry first: the site runs on the copy now, whatever happens next (a backup must dump it,
  // not the old database). Each recorded once: a master that stops in between replays to the end.
  await context.record('sites.setDatabaseName', () =>
    deps.sites.setDatabaseName(place.siteId, names.database),
  );
  await context.record('sites.setPlatform', () => deps.sites.setPlatform(place.siteId, moved.platform.id));
  const recorded = await steps.recordPackages(context, switched);
  await context.log(
    `${place.domain} switched to ${onTarget.platform} on ${names.database} with no offline window`,
  );
  return { from: place.platform.name, to: moved.platform.name, ...recorded };
}

/**
 * Writes held with read-only mode, which blue-green needs: maintenance would take the site offline,
 * the one thing this strategy is for. Nothing has changed when it refuses.
 */
async function holdWritesReadOnly(context: TaskContext<'site.migrate'>, place: SitePlace): Promise<void> {
  try {
    await context.step(place.web, 'app.readonly', { ...place.on, on: true });
  } catch (error) {
    if (error instanceof StepFailedError && error.failure.code === StepErrorCode.NotFound) {
      throw new Error(
        `${place.domain} has no read-only mode (module readonlymode): a blue-green migrate holds writes ` +
          'with it while the site serves; enable the module, or migrate in place (--strategy in-place)',
      );
    }
    throw error;
  }
  context.onRollback('writes allowed again', async () => {
    await context.step(place.web, 'app.readonly', { ...place.on, on: false });
  });
}

/**
 * The switch: the site linked into the target (nothing serves it there yet), then its vhost moves to
 * the target naming the copy: one reload, code and database together. Its credentials then name the
 * copy too, read-only ends, and the site must answer 200. Undone so that every moment is one code on
 * its own database: the credentials back first (the target's vhost still names the copy), then the
 * old platform's vhost.
 */
async function switchToCopy(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  place: SitePlace,
  switched: SitePlace,
): Promise<void> {
  const onTarget = switched.on;
  const undo: Undo[] = [
    ['settings back to the old database', () => steps.writeSettings(context, place)],
    [
      'the old platform serves the site again',
      () => context.step(place.web, 'http.write-vhost', vhostOf(place)),
    ],
    ['unlink from the target platform', () => context.step(place.web, 'site.unlink', onTarget)],
  ];
  registerUndo(context, undo);
  await context.step(place.web, 'site.link', onTarget);
  await context.step(place.web, 'http.write-vhost', {
    ...vhostOf(switched),
    database: switched.database.name,
  });
  await steps.writeSettings(context, switched);
  await context.step(place.web, 'app.readonly', { ...onTarget, on: false });
  await context.step(place.web, 'probe.http', { domain: place.domain, expectStatus: [200] });
}

/**
 * After a blue-green migrate succeeded: the old database, its rollback until now, dropped (its user is
 * the site's, granted on the copy: only the database goes). A failure here does not undo the migrate;
 * it says what is left where.
 */
export async function dropReplacedDatabase(
  context: TaskContext<'site.migrate'>,
  place: SitePlace,
): Promise<void> {
  try {
    await context.step(place.db, 'db.drop-database', { database: place.database.name });
  } catch (error) {
    if (!(error instanceof StepFailedError)) throw error;
    await context.log(
      `${place.domain} runs on its copy now, but the old database could not be dropped (${error.message}): ` +
        `database ${place.database.name} is left on ${place.dbName}; drop it there`,
    );
  }
}
