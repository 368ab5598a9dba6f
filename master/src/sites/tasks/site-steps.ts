import type { SiteStatus } from '../../../../shared/src/site-status.js';
import { PLAIN_EDGE, poolUserName, type SiteEdge } from '../../../../shared/src/site-edge.js';
import type { ArchiveCheck } from '../../backups/archive-store.js';
import type { RecordedPackages, SiteOnPlatform, TaskType } from '../../../../shared/src/tasks.js';
import type { PackageRelease, PackageRow } from '../../packages/package-release.js';
import type { StepName, StepOutput, StepParams } from '../../../../shared/src/steps.js';
import { TaskRefusedError, type TaskContext } from '../../tasks/workflow.js';

/** A server that serves a site: its web server, or one head of its platform's cluster. */
export interface HeadPlace {
  id: string;
  name: string;
  /** What the other servers reach it at; null until its agent said. */
  address: string | null;
}

/** A platform as the site tasks need it. */
export interface PlatformPlace {
  id: string;
  name: string;
  /** `<root>/platforms/<name>` on its server. */
  path: string;
  serverId: string;
  /** Its server's name, for messages. */
  serverName: string;
  /** What the other servers reach its server at; null until its agent said. */
  serverAddress: string | null;
  coreVersion: string | null;
  /**
   * A platform on a cluster: every head, by name (serverId is the one the app steps run on).
   * Absent for a platform on one server (and in places recorded before clusters).
   */
  heads?: HeadPlace[];
}

/** Where a site lives: the names every step of its tasks needs, as plain data (no secrets). */
export interface SitePlace {
  siteId: string;
  domain: string;
  status: SiteStatus;
  platform: PlatformPlace;
  /** The server that serves it (its platform's). */
  web: string;
  /** That server's name, for messages. */
  webName: string;
  /** What the other servers reach the web server at; null until its agent said. */
  webAddress: string | null;
  /** The server that holds its database. */
  db: string;
  /** That server's name, for messages. */
  dbName: string;
  /** What the other servers reach the db server at; null until its agent said. */
  dbAddress: string | null;
  /**
   * The platform the site left for one on another server, whose server keeps its copy (and
   * passes its requests on) until the site is released from it; null when there is none.
   */
  previous: PlatformPlace | null;
  database: { name: string; user: string; host: string; port: number };
  on: SiteOnPlatform;
  /**
   * Its other names, HTTPS and PHP pool, as every vhost and settings file of it is written (see
   * vhostOf). Absent in places recorded before the web edge: the plain edge.
   */
  edge?: SiteEdge;
}

/** A backup as the site tasks record it (BackupsRepository.recordOnce). */
export interface NewBackup {
  siteId: string;
  domain: string;
  archiveId: string;
  /** The dump, an archive of its own from the db server's agent; null: database.sql inside. */
  databaseArchiveId: string | null;
  taskId: string;
  reason: string;
  manifest: Record<string, unknown>;
}

export interface RecordedBackup {
  id: string;
  archiveId: string;
  databaseArchiveId: string | null;
  domain: string;
  manifest: Record<string, unknown>;
}

/** What the site tasks read and change in the registry and the backup store. */
export interface SiteTaskDependencies {
  places: {
    /** Where a site lives now; null when it is no longer in the registry. */
    of(siteId: string): Promise<SitePlace | null>;
    platform(platformId: string): Promise<PlatformPlace | null>;
    /** Every platform of a cluster and every installed site on them (SitePlaces.ofCluster). */
    ofCluster(clusterId: string): Promise<{ platforms: PlatformPlace[]; sites: SitePlace[] }>;
    head(serverId: string): Promise<HeadPlace | null>;
  };
  sites: {
    setStatus(id: string, status: SiteStatus, verified?: boolean): Promise<void>;
    setPlatform(id: string, platformId: string): Promise<void>;
    /** The site moved to a platform on another server (see SitesRepository.setMoved). */
    setMoved(
      id: string,
      move: { platformId: string; dbHost: string; previousPlatformId: string; releaseOldAfter: Date },
    ): Promise<void>;
    /** The site's database moved to another db server (see SitesRepository.setDatabase). */
    setDatabase(id: string, database: { dbServerId: string; dbHost: string }): Promise<void>;
    /** The site runs on another database of its db server (see SitesRepository.setDatabaseName). */
    setDatabaseName(id: string, dbName: string): Promise<void>;
    setReleased(id: string): Promise<void>;
    setDomain(id: string, domain: string): Promise<void>;
    /** The site's own repository is at this ref and commit now (an install with --repo, a deploy). */
    setCode(id: string, code: { ref: string; commit: string; url?: string }): Promise<void>;
    remove(id: string): Promise<void>;
    /** Of these domains, the ones that are sites in the registry. */
    knownDomains(domains: readonly string[]): Promise<string[]>;
  };
  packages: {
    replace(owner: { siteId: string }, releases: PackageRelease[]): Promise<void>;
    list(owner: { siteId: string }): Promise<PackageRow[]>;
  };
  backups: {
    /** Records a backup of an archive, once: recording the same archive again returns the first. */
    recordOnce(backup: NewBackup): Promise<RecordedBackup>;
    findById(id: string): Promise<RecordedBackup | null>;
    remove(id: string): Promise<void>;
    /** A restore test's outcome; when it was recorded (ISO), null when the backup is gone. */
    setVerification(id: string, passed: boolean): Promise<string | null>;
  };
  archives: {
    /** Reserves an archive that a step on `serverId` will upload. */
    reserve(serverId: string, purpose: string): Promise<string>;
    remove(archiveId: string): Promise<void>;
    /** Reads a stored archive again against its sha256 (ArchiveStore.check). */
    check(archiveId: string): Promise<ArchiveCheck>;
    /**
     * Puts a stored archive that the store lost (or that no longer matches) back from an off-site
     * copy, checked against its sha256 (OffsiteStore.putBack): where from, or why it could not.
     */
    putBack(archiveId: string): Promise<{ from: string } | { failed: string }>;
  };
  agents: {
    /** Of these servers, the ones whose agent is not connected to this master now. */
    disconnected(serverIds: readonly string[]): Promise<string[]>;
  };
  edges: {
    /** The site's other names, HTTPS and pool as a task applied them (SiteEdgesRepository.setEdge). */
    setEdge(siteId: string, edge: SiteEdge): Promise<void>;
    /** A uid for a new site pool user, never given twice. */
    nextPoolUid(): Promise<number>;
    /**
     * A site.certificate task queued for the site (it runs after the task that asks, which holds
     * the site): a server that serves it now has no certificate of its own yet.
     */
    queueCertificate(siteId: string): Promise<void>;
  };
  heads: {
    /** A task goes on without these heads: they are stale until synced (ClustersRepository). */
    markStale(serverIds: readonly string[]): Promise<void>;
    clearStale(serverId: string): Promise<void>;
  };
}

/**
 * A platform without some of its cluster's heads (a task that goes on without them): the app
 * steps on the first head left when its own is one of them.
 */
export function platformWithout(platform: PlatformPlace, serverIds: ReadonlySet<string>): PlatformPlace {
  if (!platform.heads || serverIds.size === 0) return platform;
  const heads = platform.heads.filter((head) => !serverIds.has(head.id));
  const app = heads.find((head) => head.id === platform.serverId) ?? heads[0];
  if (!app) throw new Error(`no head of platform ${platform.name} would be left`);
  return { ...platform, heads, serverId: app.id, serverName: app.name, serverAddress: app.address };
}

/** A site without some of its cluster's heads (see platformWithout). */
export function placeWithout(place: SitePlace, serverIds: ReadonlySet<string>): SitePlace {
  const platform = platformWithout(place.platform, serverIds);
  return {
    ...place,
    platform,
    web: platform.serverId,
    webName: platform.serverName,
    webAddress: platform.serverAddress,
  };
}

/** The site under another name beside its own (a rename): its pool shares the site's user with it. */
export interface PoolOptions {
  sharesWith?: string;
}

/** A vhost as http.write-vhost and http.prepare-vhost take it. */
export type VhostParams = StepParams<'http.write-vhost'>;

/**
 * The site's vhost on a platform (its own, by default) with everything of its edge: the names it
 * serves and redirects, HTTPS. Every vhost a task writes for a site comes from here, so that no
 * migrate, rename or rollback drops what an operator set.
 */
export function vhostOf(
  place: Pick<SitePlace, 'domain' | 'platform' | 'edge'>,
  platform = place.platform.name,
): VhostParams {
  const edge = place.edge ?? PLAIN_EDGE;
  return {
    domain: place.domain,
    platform,
    ...(edge.aliases.length > 0 ? { aliases: edge.aliases } : {}),
    ...(edge.redirects.length > 0 ? { redirectFrom: edge.redirects } : {}),
    ...(edge.https ? { https: { redirect: edge.https.redirect, hsts: edge.https.hsts } } : {}),
  };
}

/** The names a site's settings.php trusts: its domain and the names it serves (never a redirect's). */
export function trustedHostsOf(place: Pick<SitePlace, 'domain' | 'edge'>): string[] {
  return [place.domain, ...(place.edge?.aliases ?? [])];
}

/**
 * The newest version of the site tasks that back up, restore or make databases. Version 2: every
 * database step on the db server's agent, the dump an archive of its own, a web server's reach of
 * its db server probed first. Version 1 tasks, started by a master from before, replay with the
 * database inside the site archive, through the web agent.
 */
export const SITE_WORKFLOW_VERSION = 2;
const SEPARATE_DUMPS = 2;

/** Install and clone version 3, verify version 2: the site gets a PHP-FPM pool of its own (ownPool). */
export const SITE_POOLS = 3;
export const VERIFY_MAKES_POOL = 2;

/** A backup's two parts as a restore puts them back. */
export type BackupParts = Pick<RecordedBackup, 'domain' | 'archiveId' | 'databaseArchiveId'>;

/** The pieces the site tasks share: where the site is, its settings, its backups, its packages. */
export class SiteSteps {
  constructor(private readonly deps: SiteTaskDependencies) {}

  /**
   * Where a site lives, read once and recorded: a replay after a restart sees the site where it was
   * when the task began, even if the task moved it since.
   */
  place = async (context: TaskContext<TaskType>, siteId: string, name: string): Promise<SitePlace> => {
    const place = await context.record('site.place', () => this.deps.places.of(siteId));
    if (!place) throw new Error(`site ${name} is no longer in the registry`);
    return place;
  };

  /**
   * The site with a PHP-FPM pool of its own: a site from before pools is given a Unix user (a uid
   * from the registry, the same on every server) and the registry says so at once, so that every
   * later task writes the pool wherever it writes the site's settings (writeSettingsOn).
   */
  ownPool = async (context: TaskContext<TaskType>, place: SitePlace): Promise<SitePlace> => {
    if (place.edge?.pool) return place;
    const uid = await context.record('edges.nextPoolUid', () => this.deps.edges.nextPoolUid());
    const edge: SiteEdge = {
      ...(place.edge ?? PLAIN_EDGE),
      pool: { user: poolUserName(uid), uid, settings: {} },
    };
    await context.record('edges.setEdge', () => this.deps.edges.setEdge(place.siteId, edge));
    return { ...place, edge };
  };

  /**
   * The host a site's database user may connect from: loopback when web and db share a server,
   * else the web server's address and nothing else.
   */
  grantHost = (place: SitePlace): string => {
    if (place.database.host === '127.0.0.1') return '127.0.0.1';
    if (!place.webAddress)
      throw new Error(
        `the address of ${place.webName} is not known yet (its agent reports it when it connects): ` +
          `its database user cannot be granted`,
      );
    return place.webAddress;
  };

  /** The grant of a site's database and user, as db.create and db.drop take it. */
  database = (place: SitePlace) => ({
    database: place.database.name,
    user: place.database.user,
    host: this.grantHost(place),
  });

  /**
   * The servers that serve a site: every head of its platform's cluster, or its web server. Its
   * vhost, its link into the platform and its settings are on each; its files (a directory the
   * heads share), its database and the app steps (install, updates, cron) are once.
   */
  heads = (place: SitePlace): HeadPlace[] =>
    place.platform.heads ?? [{ id: place.web, name: place.webName, address: place.webAddress }];

  /**
   * The hosts a site's database user connects from: the web server's (grantHost), and on a
   * cluster each other head's address too.
   */
  private extraGrantHosts = (place: SitePlace): string[] =>
    this.heads(place)
      .filter((head) => head.id !== place.web)
      .map((head) => {
        if (!head.address)
          throw new Error(
            `the address of ${head.name} is not known yet (its agent reports it when it connects): ` +
              `its database user cannot be granted`,
          );
        return head.address;
      });

  /** The site's database and its user, granted to every server that serves it. */
  createDatabase = async (context: TaskContext<TaskType>, place: SitePlace): Promise<void> => {
    const grant = this.database(place);
    await context.step(place.db, 'db.create', grant);
    for (const host of this.extraGrantHosts(place))
      await context.step(place.db, 'db.create', { ...grant, host });
  };

  /** The site's database and every grant of its user dropped (undoes createDatabase). */
  dropDatabase = async (context: TaskContext<TaskType>, place: SitePlace): Promise<void> => {
    for (const host of this.extraGrantHosts(place))
      await context.step(place.db, 'db.drop-user', { user: place.database.user, host });
    await context.step(place.db, 'db.drop', this.database(place));
  };

  /**
   * One step on every head of the site at once (on one server: just the step there). Each step is
   * asked for before any is awaited, in head order, so a replay asks for the same ones in the same
   * order; all of them are waited for, then the first failure fails the call: nothing is still
   * running on any head when the caller undoes.
   */
  onHeads = async <S extends StepName>(
    context: TaskContext<TaskType>,
    place: SitePlace,
    name: S,
    params: (head: HeadPlace) => StepParams<S>,
  ): Promise<StepOutput<S>[]> => {
    return sideBySide(...this.heads(place).map((head) => context.step(head.id, name, params(head))));
  };

  /**
   * The site's directory (which the heads share) and each head's configuration of it: site.remove
   * on the web server first, then on every other head (where the directory is gone already).
   */
  removeSite = async (context: TaskContext<TaskType>, place: SitePlace): Promise<void> => {
    for (const head of this.headsWebFirst(place))
      await context.step(head.id, 'site.remove', { domain: place.domain });
  };

  /** The heads, the site's web server (where the app steps run) first. */
  private headsWebFirst = (place: SitePlace): HeadPlace[] => {
    const heads = this.heads(place);
    const first = heads.find((head) => head.id === place.web) ?? heads[0]!;
    return [first, ...heads.filter((other) => other !== first)];
  };

  /** Whether the site is served by the heads of a cluster (more than one server). */
  onCluster = (place: SitePlace): boolean => this.heads(place).length > 1;

  /**
   * The first phase of a switch on a cluster: the new vhost prepared on every head and tested there
   * with `nginx -t`; if any head refuses, the prepared ones are discarded and nothing is switched.
   */
  prepareVhosts = async (
    context: TaskContext<TaskType>,
    place: SitePlace,
    vhost: VhostParams,
  ): Promise<void> => {
    context.onRollback('discard the prepared vhosts', async () => {
      await this.onHeads(context, place, 'http.discard-vhost', () => ({ domain: vhost.domain }));
    });
    await this.onHeads(context, place, 'http.prepare-vhost', () => vhost);
  };

  /**
   * The second phase: every head's prepared vhost put in place and nginx reloaded, sent to all
   * heads at once, only when every head's agent is connected (a head that is not would switch
   * late, or never). A head that fails makes the others go back to `back` (none: removed).
   * Returns when each head's nginx reloaded, by its clock.
   */
  commitVhosts = async (
    context: TaskContext<TaskType>,
    place: SitePlace,
    /** What the heads go back to on a failure; 'by the caller': the caller's undo does it. */
    back: VhostParams | null | 'by the caller',
  ): Promise<string[]> => {
    const heads = this.heads(place);
    const down = await context.record('agents.disconnected', () =>
      this.deps.agents.disconnected(heads.map((head) => head.id)),
    );
    if (down.length > 0) {
      const names = heads.filter((head) => down.includes(head.id)).map((head) => head.name);
      throw new TaskRefusedError(
        `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} not connected: no head of ${place.domain} was switched`,
      );
    }
    if (back !== 'by the caller') {
      context.onRollback('every head back to the vhost it had', async () => {
        if (back) await this.onHeads(context, place, 'http.write-vhost', () => back);
        else await this.onHeads(context, place, 'http.remove-vhost', () => ({ domain: place.domain }));
      });
    }
    const committed = await this.onHeads(context, place, 'http.commit-vhost', () => ({
      domain: place.domain,
    }));
    return committed.map((output) => output.reloadedAt);
  };

  /**
   * A vhost change: on one server, http.write-vhost; on a cluster, the two-phase switch
   * (prepareVhosts, then commitVhosts) so that every head serves the new vhost or none does.
   */
  switchVhosts = async (
    context: TaskContext<TaskType>,
    place: SitePlace,
    vhost: VhostParams,
    back: VhostParams | null,
  ): Promise<void> => {
    if (!this.onCluster(place)) {
      await context.step(place.web, 'http.write-vhost', vhost);
      return;
    }
    await context.scope('switch the vhosts', async () => {
      await this.prepareVhosts(context, place, vhost);
      await this.commitVhosts(context, place, back);
    });
  };

  /** What the registry keeps of a site's packages: drush's list with the database's schema versions. */
  recordPackages = async (context: TaskContext<TaskType>, place: SitePlace): Promise<RecordedPackages> => {
    const listed = await context.step(place.web, 'app.packages', place.on);
    const schema = await context.step(place.db, 'db.schema-versions', { database: place.database.name });
    // Drupal names a post-update <module>_post_update_<name>: each one the site ran, by its module.
    const ranBy = (module: string) =>
      schema.postUpdates?.filter((name) => name.startsWith(`${module}_post_update_`)) ?? null;
    await context.record('packages.replace', () =>
      this.deps.packages.replace(
        { siteId: place.siteId },
        listed.packages.map((item) => ({
          name: item.name,
          type: item.type === 'theme' || item.type === 'profile' ? item.type : 'module',
          version: item.version || null,
          schemaVersion: schema.versions[item.name] ?? 0,
          postUpdates: ranBy(item.name),
          path: null,
        })),
      ),
    );
    return { packages: listed.packages.length, schemaVersions: schema.versions };
  };

  /**
   * The site's settings on every server that serves it: settings.php in the site directory, its
   * credentials beside each head's configuration. The web server first, then the others one by
   * one: they keep the hash salt the first wrote (a directory the heads share).
   */
  writeSettings = async (
    context: TaskContext<TaskType>,
    place: SitePlace,
    options: PoolOptions = {},
  ): Promise<void> => {
    const byName = this.onCluster(place);
    for (const head of this.headsWebFirst(place))
      await this.writeSettingsOn(context, place, head.id, byName, options);
  };

  /**
   * The site's settings on one server; `byName`: a head of a cluster, which finds the platform under
   * its own root (the registry has one path).
   */
  writeSettingsOn = async (
    context: TaskContext<TaskType>,
    place: SitePlace,
    serverId: string,
    byName: boolean,
    options: PoolOptions = {},
  ) => {
    // Its own PHP pool (and Unix user) first: the settings are then written readable by it alone.
    const pool = place.edge?.pool;
    if (pool)
      await context.step(serverId, 'php.write-pool', {
        domain: place.domain,
        user: pool.user,
        uid: pool.uid,
        settings: pool.settings,
        ...(options.sharesWith ? { sharesWith: options.sharesWith } : {}),
      });
    return context.step(serverId, 'site.write-settings', {
      domain: place.domain,
      ...(byName ? { platform: place.platform.name } : { platformPath: place.platform.path }),
      database: place.database.name,
      user: place.database.user,
      dbHost: place.database.host,
      dbPort: place.database.port,
      trustedHosts: trustedHostsOf(place),
    });
  };

  /**
   * Archives the site into the store and records the backup: the files from the web server's agent
   * and a consistent dump from the db server's, each an archive of its own, one backup with one
   * manifest (both sha256s). A dump stored but never recorded is discarded.
   */
  archive = async (
    context: TaskContext<TaskType>,
    place: SitePlace,
    archiveId: string,
    reason: string,
    options: {
      /** An empty database on the site's db server the dump also fills as it goes (db.dump alsoInto). */
      alsoInto?: string;
      /**
       * The site as a restore set it aside (its directory and its tables under these names): what is
       * archived, as the site's own, its dump restoring into the site's database.
       */
      setAside?: SetAside;
    } = {},
  ): Promise<RecordedBackup> => {
    if (context.task.workflowVersion < SEPARATE_DUMPS) {
      const archived = await context.step(place.web, 'site.archive', {
        domain: place.domain,
        archiveId,
        includeDatabase: { database: place.database.name },
      });
      return this.recordBackup(context, place, { archiveId, archived, dump: null, reason });
    }
    return context.scope('archive', async () => {
      const dumpArchiveId = await context.record('archives.reserve', () =>
        this.deps.archives.reserve(place.db, 'backup'),
      );
      context.onRollback('discard the dump', () =>
        context.record('archives.remove', () => this.deps.archives.remove(dumpArchiveId)),
      );
      // The files on the web server and the dump on the db server side by side (one after the
      // other where they are one server: it has one slot).
      const [archived, dumped] = await sideBySide(
        context.step(place.web, 'site.archive', {
          domain: place.domain,
          archiveId,
          includeDatabase: null,
          ...(options.setAside ? { aside: options.setAside.directory } : {}),
        }),
        context.step(place.db, 'db.dump', {
          database: options.setAside?.database ?? place.database.name,
          archiveId: dumpArchiveId,
          ...(options.alsoInto ? { alsoInto: options.alsoInto } : {}),
        }),
      );
      return this.recordBackup(context, place, {
        archiveId,
        archived,
        dump: { archiveId: dumpArchiveId, ...dumped },
        reason,
      });
    });
  };

  /**
   * Releases a site from the server it moved from: that server's vhost (which passed the requests
   * on), its link and its copy go, and the database account it connected with, unless the site
   * connects with the same one now. Nothing when there is no previous server.
   */
  releaseOld = async (context: TaskContext<TaskType>, place: SitePlace): Promise<string | null> => {
    const old = place.previous;
    if (!old) return null;
    const on = { domain: place.domain, platform: old.name };
    await context.step(old.serverId, 'http.remove-vhost', { domain: place.domain });
    await context.step(old.serverId, 'site.unlink', on);
    await context.step(old.serverId, 'site.remove', { domain: place.domain });
    const oldGrant = place.db === old.serverId ? '127.0.0.1' : old.serverAddress;
    if (oldGrant && oldGrant !== this.grantHost(place)) {
      await context.step(place.db, 'db.drop-user', { user: place.database.user, host: oldGrant });
    }
    await context.record('sites.setReleased', () => this.deps.sites.setReleased(place.siteId));
    await context.log(`released ${place.domain} from ${old.serverName}`);
    return old.serverName;
  };

  /**
   * Puts a backup's files and database into a site (the site itself, a clone, a rehearsal copy):
   * the files through its web server's agent, the dump through its db server's, side by side. A
   * backup from before dumps were archives of their own has it as database.sql in the site archive.
   */
  restoreBackup = async (
    context: TaskContext<TaskType>,
    backup: BackupParts,
    into: { web: string; db: string; domain: string; database: string },
    options: RestoreOptions = {},
  ): Promise<void> => {
    const files = {
      domain: backup.domain,
      archiveId: backup.archiveId,
      ...(backup.domain !== into.domain ? { targetDomain: into.domain } : {}),
    };
    if (context.task.workflowVersion < SEPARATE_DUMPS) {
      await context.step(into.web, 'site.extract', { ...files, importDatabase: { database: into.database } });
      return;
    }
    const filesIn = options.filesFrom
      ? context.step(into.web, 'site.copy', { domain: options.filesFrom, targetDomain: into.domain })
      : context.step(into.web, 'site.extract', {
          ...files,
          importDatabase: null,
          ...(options.setAsideAs ? { setAsideAs: options.setAsideAs } : {}),
        });
    if (options.databaseFilled) {
      await filesIn;
      return;
    }
    // The files into the web server and the dump into the db server side by side.
    await sideBySide(
      filesIn,
      context.step(
        into.db,
        'db.import',
        backup.databaseArchiveId
          ? { database: into.database, archiveId: backup.databaseArchiveId }
          : { database: into.database, archiveId: backup.archiveId, siteArchive: true },
      ),
    );
  };

  private recordBackup = async (
    context: TaskContext<TaskType>,
    place: SitePlace,
    parts: {
      archiveId: string;
      archived: StepOutput<'site.archive'>;
      dump: (StepOutput<'db.dump'> & { archiveId: string }) | null;
      reason: string;
    },
  ): Promise<RecordedBackup> => {
    const { archived, dump } = parts;
    const backup = await context.record('backups.record', async () => {
      const packages = await this.deps.packages.list({ siteId: place.siteId });
      return this.deps.backups.recordOnce({
        siteId: place.siteId,
        domain: place.domain,
        archiveId: parts.archiveId,
        databaseArchiveId: dump?.archiveId ?? null,
        taskId: context.task.id,
        reason: parts.reason,
        manifest: {
          ...archived.manifest,
          ...(dump
            ? {
                database: {
                  database: place.database.name,
                  bytes: dump.bytes,
                  sha256: dump.sha256,
                  archiveId: dump.archiveId,
                  // Where the dump's snapshot is in the db server's binary log (a rollback point's start).
                  ...(dump.binlog ? { binlog: dump.binlog } : {}),
                },
              }
            : {}),
          archive: { sha256: archived.sha256, bytes: archived.bytes },
          // When the files were read from (the web server's clock): a move copies what changed since.
          ...(archived.startedAt ? { startedAt: archived.startedAt } : {}),
          platform: { name: place.platform.name, coreVersion: place.platform.coreVersion },
          packages: packages.map(({ name, type, version, schemaVersion }) => ({
            name,
            type,
            version,
            schemaVersion,
          })),
        },
      });
    });
    const size = archived.bytes + (dump?.bytes ?? 0);
    await context.log(
      `backup ${backup.id}: ${size} bytes, sha256 ${archived.sha256}` +
        (dump ? ` (files), ${dump.sha256} (database)` : ''),
    );
    return backup;
  };
}

/** Where a restore's parts come from when not from the backup's archives. */
export interface RestoreOptions {
  /** The database has the dump already (the backup's db.dump filled it): the files only. */
  databaseFilled?: boolean;
  /**
   * The files are this site's directory on the same web server, copied (site.copy), not the
   * backup's files archive: a rehearsal beside the live site.
   */
  filesFrom?: string;
  /** The site directory replaced is kept under this name (site.extract setAsideAs). */
  setAsideAs?: string;
}

/** A site as a restore set it aside: its directory (`<root>/sites/.aside-<directory>`) and its tables' database. */
export interface SetAside {
  directory: string;
  database: string;
}

/**
 * Steps that do not depend on each other (on two servers, say), all already asked for: asked in a
 * fixed order before any is awaited, so a replay asks for the same ones in the same order. All are
 * waited for, then the first failure (in that order) fails the call: nothing is still running when
 * the caller undoes (a dump still streaming into an archive the undo removes, say).
 */
export async function sideBySide<T extends readonly unknown[]>(
  ...asked: { [K in keyof T]: Promise<T[K]> }
): Promise<T> {
  const settled = await Promise.allSettled(asked);
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
