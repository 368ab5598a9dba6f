import type { MigrateParams } from '../../../../../shared/src/tasks.js';
import { StepFailedError, type TaskContext, type Workflow } from '../../../tasks/workflow.js';
import type { TaskResult } from '../../../../../shared/src/tasks.js';
import {
  placeWithout,
  platformWithout,
  SiteSteps,
  type BackupParts,
  type PlatformPlace,
  type RecordedBackup,
  type RestoreOptions,
  type SitePlace,
  type SiteTaskDependencies,
  vhostOf,
} from '../site-steps.js';
import { deployScratchSite } from '../scratch-site.js';
import { blueGreenMigrate, dropReplacedDatabase } from './blue-green.js';
import { MIGRATE_PHASES } from './migrate-phases.js';
import {
  holdWritesForTask,
  registerUndo,
  restoreRollbackPointUndo,
  takeRollbackPoint,
  updateAndHooks,
  type RollbackPoint,
  type Undo,
} from './window.js';

/**
 * The optimistic migrate (DESIGN.md "Migrate"): an online backup, a rehearsal of the updates on a
 * throwaway copy on the target platform, then writes held (read-only, else maintenance), a rollback
 * point, and an offline window that lasts only as long as the database updates. Any failure in
 * the window restores the rollback point on the old platform while the window still holds its
 * servers. The registry changes only at the end.
 *
 * To a platform on another web server (a move): the new server must reach the database first;
 * the rehearsal runs there; the site's files are copied there from the backup while the site still
 * serves, and inside the window only what changed since (a delta, see site.archive). Then the new
 * server serves the site and the old one passes its requests on (proxyTo) until the site is
 * released from it (site.release-old); its copy stays as it was, so a rollback is the old server
 * serving again with nothing lost.
 */
export function migrateWorkflow(deps: SiteTaskDependencies): Workflow<'site.migrate'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const params = context.task.params;
    let place = await steps.place(context, context.task.targetId, context.task.targetName);
    let target = await context.record('platform.place', () => deps.places.platform(params.targetPlatformId));
    if (!target) throw new Error(`the target platform ${params.targetPlatform} is no longer in the registry`);
    if (params.withoutHeads?.length) {
      // Heads that are down: stale first (site tasks leave them out until synced), then left out.
      const without = new Set(params.withoutHeads.map((head) => head.serverId));
      await context.record('heads.markStale', () => deps.heads.markStale([...without]));
      await context.log(
        `going on without ${params.withoutHeads.map((head) => head.name).join(', ')}: stale until \`berth cluster sync\``,
      );
      place = placeWithout(place, without);
      target = platformWithout(target, without);
    }
    const moved = movedPlace(place, target, params.targetDb);
    const how: Move = {
      server: moved.web !== place.web,
      database: moved.db !== place.db,
      platform: target.id !== place.platform.id,
    };
    if (context.task.workflowVersion >= MIGRATE_REMOVES_ROLLBACK_POINT) {
      // Only this task's rollback can use its rollback point: it leaves the store when the task
      // ends, after the rollback when there is one (the backup before it is kept by its policy).
      context.cleanup('remove the rollback point from the store', () =>
        context.record('archives.remove', () => deps.archives.remove(params.rollbackArchiveId)),
      );
    }
    if (params.strategy === 'blue-green') {
      const result = await context.scope('the migrate', () =>
        blueGreenMigrate(context, steps, deps, place, moved),
      );
      await dropReplacedDatabase(context, place);
      return result;
    }
    // Rolled back as a whole when any of it fails; what follows it (the old database dropped) no longer is.
    const result = await context.scope('the migrate', () => migrate(context, steps, deps, place, moved, how));
    if (!how.database) return result;
    return { ...result, database: await dropOldDatabase(context, steps, place, moved) };
  };
}

/** What a migrate changes: the web server, the database's server, the platform (one or more). */
interface Move {
  server: boolean;
  database: boolean;
  platform: boolean;
}

async function migrate(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  deps: SiteTaskDependencies,
  place: SitePlace,
  moved: SitePlace,
  how: Move,
): Promise<TaskResult<'site.migrate'>> {
  const params = context.task.params;
  const onTarget = moved.on;
  // Version 3 on: the new server must have nothing of the site yet (a leftover copy would be
  // replaced, and removed by a rollback).
  if (how.server && context.task.workflowVersion >= MIGRATE_CHECKS_TARGET)
    await context.step(moved.web, 'site.absent', { domain: moved.domain });
  if ((how.server || how.database) && moved.database.host !== '127.0.0.1') {
    // Before anything is made: the web server must reach the database where it will be.
    await context.step(moved.web, 'probe.tcp', { host: moved.database.host, port: moved.database.port });
  }
  if (how.database) await createMovedDatabase(context, steps, moved);

  const filled = fillsRehearsal(context, place, moved, how);
  // Version 8: a rehearsal on the live site's own web server copies its files there.
  const files =
    context.task.workflowVersion >= MIGRATE_COPIES_REHEARSAL_FILES && moved.web === place.web
      ? { filesFrom: place.domain }
      : {};
  const backup = filled
    ? await backupIntoRehearsal(context, steps, place, moved, params, files)
    : await context.phase(MIGRATE_PHASES.backup, () =>
        steps.archive(context, place, params.backupArchiveId, 'pre-migrate'),
      );
  if (how.platform && !filled) await rehearse(context, steps, moved, params, backup, files);

  if (how.server)
    await context.phase(MIGRATE_PHASES.copy, () => copyToNewServer(context, steps, moved, backup, how));

  // A cluster: every head ready to switch (or none), before writes are held.
  const cluster = steps.onCluster(place);
  if (cluster) await context.phase(MIGRATE_PHASES.prepare, () => prepareHeads(context, steps, moved));

  let switched: TaskResult<'site.migrate'>['switched'] | null = null;
  // Writes held from here: nothing acknowledged after the rollback point can be lost.
  const readOnly = await holdWritesForTask(context, place);

  await context.phase(MIGRATE_PHASES.readOnlyWindow, async () => {
    const point = await takeRollbackPoint(context, place, {
      archiveId: params.rollbackArchiveId,
      backup,
      // A database that moves is copied from its rollback point, which must then be a dump.
      byLog: !how.database && context.task.workflowVersion >= MIGRATE_REWINDS,
    });
    // The rollback point is the copy: taken with writes held, so nothing is missing from it.
    if (how.database) {
      await context.phase(MIGRATE_PHASES.databaseCopy, () =>
        context.step(moved.db, 'db.import', { database: moved.database.name, archiveId: point.archiveId }),
      );
    }
    // The window holds a slot on each server it touches, undo included: it never waits behind
    // another task's step once the site is down.
    const servers = [
      place.web,
      ...steps.heads(place).map((head) => head.id),
      moved.web,
      place.db,
      moved.db,
    ].filter((server, index, all) => all.indexOf(server) === index);
    switched = await context.scope(
      MIGRATE_PHASES.offlineWindow,
      async () => {
        if (cluster) return clusterWindow(context, steps, place, moved, params, point, readOnly);
        if (how.server)
          await movingWindow(
            context,
            deps.archives,
            place,
            moved,
            params,
            point,
            readOnly,
            how,
            changedSince(backup),
          );
        else await offlineWindow(context, steps, place, moved, params, point, readOnly, how);
        return null;
      },
      { servers, phase: true },
    );
    if (readOnly) await context.step(moved.web, 'app.readonly', { ...onTarget, on: false });
  });

  await steps.onHeads(context, moved, 'probe.http', () => ({ domain: place.domain, expectStatus: [200] }));
  // The old server answers too, passing the requests on: a visitor whose DNS still names it.
  if (how.server) await context.step(place.web, 'probe.http', { domain: place.domain, expectStatus: [200] });
  // Packages first, the platform last: a task that stops in between leaves the site where it was.
  const recorded = await steps.recordPackages(context, moved);
  if (how.database) {
    await context.record('sites.setDatabase', () =>
      deps.sites.setDatabase(place.siteId, { dbServerId: moved.db, dbHost: moved.database.host }),
    );
  }
  if (how.server) {
    await context.record('sites.setMoved', () =>
      deps.sites.setMoved(place.siteId, {
        platformId: moved.platform.id,
        dbHost: moved.database.host,
        previousPlatformId: place.platform.id,
        releaseOldAfter: new Date(Date.now() + (params.releaseOldAfterMs ?? DEFAULT_RELEASE_OLD_AFTER_MS)),
      }),
    );
    // The new server has no certificate of its own yet (keys never leave a server): a task right
    // after this one gets it, the CA's challenge reaching it through the old server until DNS moves.
    if (moved.edge?.https?.mode === 'letsencrypt')
      await context.record('certificates.queue', () => deps.edges.queueCertificate(place.siteId));
  } else if (how.platform) {
    await context.record('sites.setPlatform', () => deps.sites.setPlatform(place.siteId, moved.platform.id));
  }
  return {
    from: place.platform.name,
    to: moved.platform.name,
    ...recorded,
    ...(switched ? { switched } : {}),
  };
}

/**
 * A cluster's first phase: the site linked into the target platform and the target's vhost
 * prepared on every head (each tested with `nginx -t`). Any head that fails: every head's prepared
 * vhost discarded and link removed, nothing switched, the site untouched and serving.
 */
async function prepareHeads(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  moved: SitePlace,
): Promise<void> {
  context.onRollback('unlink every head from the target platform', async () => {
    await steps.onHeads(context, moved, 'site.unlink', () => moved.on);
  });
  await steps.onHeads(context, moved, 'site.link', () => moved.on);
  await steps.prepareVhosts(context, moved, vhostOf(moved));
}

/**
 * The window on a cluster: maintenance on (in the database, so every head honours it), the
 * updates once from the site's web server, then the prepared vhosts committed on every head at
 * once, and maintenance off. Undo, as offlineWindow's: every head holds the site (503 from a
 * static page) while the database is restored, then every head serves the old platform again.
 */
async function clusterWindow(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  place: SitePlace,
  moved: SitePlace,
  params: MigrateParams,
  point: RollbackPoint,
  readOnly: boolean,
): Promise<NonNullable<TaskResult<'site.migrate'>['switched']>> {
  const live = place.on;
  const undo: Undo[] = [
    [
      'hold the site on every head',
      () => steps.onHeads(context, place, 'http.write-vhost', () => ({ ...vhostOf(place), disabled: true })),
    ],
    ...restoreRollbackPoint(context, place, point, { server: false, database: false, platform: true }),
    [
      'every head back to the old platform',
      () => steps.onHeads(context, place, 'http.write-vhost', () => vhostOf(place)),
    ],
    ['maintenance off', () => context.step(place.web, 'app.maintenance', { ...live, on: false })],
  ];
  registerUndo(context, undo);
  if (readOnly) await context.step(place.web, 'app.maintenance', { ...live, on: true });
  await updateAndHooks(context, moved.web, moved.on, params.hooks);
  const reloads = await steps.commitVhosts(context, moved, 'by the caller');
  await context.step(moved.web, 'app.maintenance', { ...moved.on, on: false });
  const times = reloads.map((at) => Date.parse(at));
  const skewMs = Math.max(...times) - Math.min(...times);
  const heads = steps.heads(moved).map((head) => head.name);
  await context.log(
    `switched ${heads.join(', ')} to ${moved.platform.name}: ${skewMs} ms between the first and last reload`,
  );
  return { heads, skewMs };
}

/**
 * The database and user on the db server it moves to, before anything else is made: a database of
 * that name already there refuses the migrate (db.create fresh), and is not dropped on its way out.
 */
async function createMovedDatabase(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  moved: SitePlace,
): Promise<void> {
  const grant = steps.database(moved);
  await context.step(moved.db, 'db.create', { ...grant, fresh: true });
  context.onRollback('drop the database on the new db server', async () => {
    await context.step(moved.db, 'db.drop', grant);
  });
}

/**
 * After a database moved: the old one (the rollback point until now) dropped, with its user. The
 * site is already on the new one; a failure here does not undo that, it says what is left where.
 */
async function dropOldDatabase(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  place: SitePlace,
  moved: SitePlace,
): Promise<{ from: string; to: string; oldDropped: boolean }> {
  const moves = { from: place.dbName, to: moved.dbName };
  try {
    await context.step(place.db, 'db.drop', steps.database(place));
    return { ...moves, oldDropped: true };
  } catch (error) {
    if (!(error instanceof StepFailedError)) throw error;
    await context.log(
      `${place.domain} runs on its database on ${moved.dbName} now, but the old one could not be dropped ` +
        `(${error.message}): database ${place.database.name} and user '${place.database.user}' are left on ` +
        `${place.dbName}; drop them there`,
    );
    return { ...moves, oldDropped: false };
  }
}

/** The migrate's version from which a move checks first that the new server has nothing of the site. */
export const MIGRATE_CHECKS_TARGET = 3;

/** The migrate's version from which its rollback point is removed from the store when it ends. */
export const MIGRATE_REMOVES_ROLLBACK_POINT = 4;

/** The migrate's version from which it runs its deploy hooks after the updates (params.hooks). */
export const MIGRATE_RUNS_HOOKS = 5;

/**
 * The migrate's version from which its rollback point is the backup and the db server's binary log
 * (where the server keeps a row-based one), not a dump while writes wait (window.ts takeRollbackPoint).
 */
export const MIGRATE_REWINDS = 6;

/**
 * The migrate's version from which the backup's dump fills the rehearsal copy's database as it is
 * read, instead of the copy importing the backup back from the store (backupIntoRehearsal).
 */
export const MIGRATE_FILLS_REHEARSAL = 7;

/**
 * The migrate's version from which a rehearsal on the live site's own web server copies the site's
 * files there (site.copy) instead of extracting the backup's files archive from the store: the same
 * files, read once from the local disk instead of downloaded, gunzipped and unpacked.
 */
export const MIGRATE_COPIES_REHEARSAL_FILES = 8;

/** How long the old server keeps a moved site's copy when the task does not say: 24 hours. */
export const DEFAULT_RELEASE_OLD_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * The site as it will be after the migrate: on the target platform's server, its database where it
 * is or on the db server it moves to, reached from the web server (on loopback when the database
 * is on that server, else at the db server's address).
 */
export function movedPlace(
  place: SitePlace,
  target: PlatformPlace,
  targetDb?: MigrateParams['targetDb'],
): SitePlace {
  const on = { domain: place.domain, platform: target.name };
  const web = {
    platform: target,
    web: target.serverId,
    webName: target.serverName,
    webAddress: target.serverAddress,
    on,
  };
  const db = targetDb
    ? { db: targetDb.serverId, dbName: targetDb.name, dbAddress: targetDb.address }
    : { db: place.db, dbName: place.dbName, dbAddress: place.dbAddress };
  let host: string;
  if (db.db === target.serverId) host = '127.0.0.1';
  else if (!targetDb && db.db !== place.web) host = place.database.host;
  else {
    if (!db.dbAddress)
      throw new Error(
        `the address of ${db.dbName}, the database server of ${place.domain}, is not known yet`,
      );
    host = db.dbAddress;
  }
  return { ...place, ...web, ...db, database: { ...place.database, host } };
}

/**
 * What the delta in the window holds: what changed since the backup began reading the files
 * (by the old server's clock), a second earlier for timestamps that round.
 */
function changedSince(backup: RecordedBackup): string {
  const startedAt = backup.manifest.startedAt;
  if (typeof startedAt !== 'string') throw new Error(`backup ${backup.id} does not say when it began`);
  return new Date(Date.parse(startedAt) - 1_000).toISOString();
}

/**
 * The site's files on the new server while the old one still serves it: the backup's files
 * extracted there, its settings (the database as the new server reaches it), the link into the
 * target platform, and its database user granted from the new server. Nothing serves it there
 * yet (no vhost). Undone if the migrate fails, the old server's copy untouched.
 */
async function copyToNewServer(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  moved: SitePlace,
  backup: BackupParts,
  how: Move,
): Promise<void> {
  const grant = steps.database(moved);
  // A database that moves too was made for the new server already (createMovedDatabase).
  if (!how.database) {
    context.onRollback("drop the site's grant to the new server", async () => {
      await context.step(moved.db, 'db.drop-user', { user: grant.user, host: grant.host });
    });
  }
  context.onRollback('remove the copy on the new server', async () => {
    await context.step(moved.web, 'site.remove', { domain: moved.domain });
  });
  context.onRollback('unlink the copy on the new server', async () => {
    await context.step(moved.web, 'site.unlink', moved.on);
  });
  if (!how.database) await context.step(moved.db, 'db.create', grant);
  await context.step(moved.web, 'site.extract', {
    domain: backup.domain,
    archiveId: backup.archiveId,
    importDatabase: null,
  });
  await steps.writeSettings(context, moved);
  await context.step(moved.web, 'site.link', moved.on);
}

/**
 * The window of a move: maintenance on, the files changed since the copy carried over (a delta
 * through the store, removed after), the updates on the new server, its vhost, the old server
 * passing requests on, maintenance off. Undo: the old server's vhost back (503 while the database
 * is restored, then the site), the new server's vhost removed, maintenance off.
 */
async function movingWindow(
  context: TaskContext<'site.migrate'>,
  archives: SiteTaskDependencies['archives'],
  place: SitePlace,
  moved: SitePlace,
  params: MigrateParams,
  point: RollbackPoint,
  readOnly: boolean,
  how: Move,
  since: string,
): Promise<void> {
  const live = place.on;
  const undo: Undo[] = [
    [
      'hold the site at the old server',
      () => context.step(place.web, 'http.write-vhost', { ...vhostOf(place), disabled: true }),
    ],
    ...restoreRollbackPoint(context, place, point, how),
    [
      'the old server serves the site again',
      () => context.step(place.web, 'http.write-vhost', vhostOf(place)),
    ],
    [
      "remove the new server's vhost",
      () => context.step(moved.web, 'http.remove-vhost', { domain: moved.domain }),
    ],
    ['maintenance off', () => context.step(place.web, 'app.maintenance', { ...live, on: false })],
  ];
  registerUndo(context, undo);
  if (readOnly) await context.step(place.web, 'app.maintenance', { ...live, on: true });
  const deltaArchiveId = await context.record('archives.reserve', () =>
    archives.reserve(place.web, 'transfer'),
  );
  context.cleanup('remove the delta from the store', () =>
    context.record('archives.remove', () => archives.remove(deltaArchiveId)),
  );
  await context.step(place.web, 'site.archive', {
    domain: place.domain,
    archiveId: deltaArchiveId,
    includeDatabase: null,
    changedSince: since,
  });
  await context.step(moved.web, 'site.extract', {
    domain: place.domain,
    archiveId: deltaArchiveId,
    importDatabase: null,
    delta: true,
  });
  await updateAndHooks(context, moved.web, moved.on, params.hooks);
  const vhost = await context.step(moved.web, 'http.write-vhost', vhostOf(moved));
  if (!moved.webAddress) throw new Error(`the address of ${moved.webName} is not known yet`);
  const address = moved.webAddress.includes(':') ? `[${moved.webAddress}]` : moved.webAddress;
  await context.step(place.web, 'http.write-vhost', {
    ...vhostOf(place),
    proxyTo: `${address}:${vhost.port}`,
  });
  await context.step(moved.web, 'app.maintenance', { ...moved.on, on: false });
}

/** `item` in a list when `condition` holds. */
function when<T>(condition: boolean, item: T): T[] {
  return condition ? [item] : [];
}

/**
 * The undo that puts the database back to the rollback point, when the updates ran on it; a
 * database that moved was only copied, and the old one is as the rollback point left it.
 */
function restoreRollbackPoint(
  context: TaskContext<'site.migrate'>,
  place: SitePlace,
  point: RollbackPoint,
  how: Move,
): Undo[] {
  return when<Undo>(!how.database, restoreRollbackPointUndo(context, place, point));
}

/**
 * The window on the site's own server: maintenance on, then what the migrate changes — the site
 * linked into the target platform, its settings pointed at the moved database, the updates, the
 * target's vhost — and maintenance off. Every undo action is registered before the first step and
 * all of them run on any failure, in this order: while the database is restored it is half there,
 * so nginx answers 503 from a static page (the disabled vhost) instead of letting PHP serve it; the
 * real vhost comes back after.
 */
async function offlineWindow(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  place: SitePlace,
  moved: SitePlace,
  params: MigrateParams,
  point: RollbackPoint,
  readOnly: boolean,
  how: Move,
): Promise<void> {
  const live = place.on;
  const onTarget = moved.on;
  const undo: Undo[] = [
    [
      'hold the site at the web server',
      () => context.step(place.web, 'http.write-vhost', { ...vhostOf(place), disabled: true }),
    ],
    ...restoreRollbackPoint(context, place, point, how),
    ...when<Undo>(how.database, [
      'settings back to the old database',
      () => steps.writeSettings(context, place),
    ]),
    ['vhost back to the old platform', () => context.step(place.web, 'http.write-vhost', vhostOf(place))],
    ...when<Undo>(how.platform, [
      'unlink from the target platform',
      () => context.step(place.web, 'site.unlink', onTarget),
    ]),
    ['maintenance off', () => context.step(place.web, 'app.maintenance', { ...live, on: false })],
  ];
  registerUndo(context, undo);
  if (readOnly) await context.step(place.web, 'app.maintenance', { ...live, on: true });
  if (how.platform) await context.step(place.web, 'site.link', onTarget);
  if (how.database) await steps.writeSettings(context, moved);
  if (how.platform) {
    await updateAndHooks(context, place.web, onTarget, params.hooks);
    await context.step(place.web, 'http.write-vhost', vhostOf(moved));
  }
  await context.step(place.web, 'app.maintenance', { ...onTarget, on: false });
}

/**
 * The updates on a throwaway copy on the target, from the backup just taken (which proves it
 * restores). The copy is removed whatever happens: it must not outlive the task.
 */
async function rehearse(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  /** The site as it will be (movedPlace): the copy runs on the target's server, beside its database. */
  place: SitePlace,
  params: MigrateParams,
  backup: BackupParts,
  options: RestoreOptions = {},
): Promise<void> {
  await context.scope(
    MIGRATE_PHASES.rehearsal,
    async () => {
      await deployScratchSite(
        context,
        steps,
        place,
        backup,
        params.rehearsal,
        place.platform,
        async (on) => {
          await updateAndHooks(context, place.web, on, params.hooks);
        },
        options,
      );
    },
    { phase: true },
  );
}

/**
 * Whether the backup's dump fills the rehearsal copy's database as it is read (version 7 on): a
 * platform change whose database stays on its db server, where the copy's database is made too.
 */
function fillsRehearsal(
  context: TaskContext<'site.migrate'>,
  place: SitePlace,
  moved: SitePlace,
  how: Move,
): boolean {
  return (
    context.task.workflowVersion >= MIGRATE_FILLS_REHEARSAL &&
    how.platform &&
    !how.database &&
    moved.db === place.db
  );
}

/**
 * The backup and the rehearsal with one read of the rows: the copy's database made first, the
 * backup's dump imported into it as it streams to the store (db.dump alsoInto), then the copy's
 * files from the backup and the updates. The dump imported is the dump archived, so the rehearsal
 * still proves the backup restores. The copy's database goes when this ends, whatever happens.
 */
async function backupIntoRehearsal(
  context: TaskContext<'site.migrate'>,
  steps: SiteSteps,
  place: SitePlace,
  moved: SitePlace,
  params: MigrateParams,
  options: RestoreOptions,
): Promise<RecordedBackup> {
  const copy = params.rehearsal;
  const grant = { database: copy.database, user: copy.user, host: steps.grantHost(moved) };
  return context.scope('backup and rehearsal', async () => {
    context.cleanup("drop the rehearsal copy's database", async () => {
      await context.step(moved.db, 'db.drop', grant);
    });
    await context.step(moved.db, 'db.create', grant);
    const backup = await context.phase(MIGRATE_PHASES.backup, () =>
      steps.archive(context, place, params.backupArchiveId, 'pre-migrate', { alsoInto: copy.database }),
    );
    await rehearse(context, steps, moved, params, backup, { ...options, databaseFilled: true });
    return backup;
  });
}
