/**
 * Task and attempt states, and every task type with its parameters and result (TaskDefinitions),
 * as StepDefinitions does for steps: the master's services write a task's params with this shape,
 * its workflow reads them with it, and the API and the CLI show them.
 */
import type { DeployHook } from './deploy-hooks.js';
import type { PlatformSource } from './platform-source.js';
import type { SiteHttps } from './site-edge.js';
import type { SiteStatus } from './site-status.js';
import type { ServiceInfo, StepOutput } from './steps.js';

export const TASK_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const FINISHED_TASK_STATES: readonly TaskState[] = ['succeeded', 'failed', 'cancelled'];

export const STEP_STATES = ['pending', 'running', 'done', 'failed'] as const;
export type StepState = (typeof STEP_STATES)[number];

/**
 * pending: waiting for a slot on its server or for the agent to connect; assigned: sent, not yet
 * accepted; running: accepted by the agent; done / failed: finished; lost: the agent stopped
 * answering or came back without it.
 */
export const ATTEMPT_STATES = ['pending', 'assigned', 'running', 'done', 'failed', 'lost'] as const;
export type AttemptState = (typeof ATTEMPT_STATES)[number];
export const ACTIVE_ATTEMPT_STATES: readonly AttemptState[] = ['assigned', 'running'];

/** `store`: the master's own backup store (its garbage collector), one target of its own. */
export type TaskTargetKind = 'server' | 'platform' | 'site' | 'cluster' | 'store';

/** A site and the platform it is on: what most app and site steps are given. */
export type SiteOnPlatform = { domain: string; platform: string };

/** What a site.edge task changes (the rest of the edge stays as the registry has it when it runs). */
export type EdgeChange =
  | { kind: 'alias-add'; name: string; redirect: boolean }
  | { kind: 'alias-remove'; name: string }
  | { kind: 'https'; https: SiteHttps | null }
  | { kind: 'php'; settings: Record<string, string> };

/** The site's edge once a site.edge task applied it. */
export type EdgeResult = {
  aliases: string[];
  redirects: string[];
  https: 'off' | SiteHttps['mode'];
  /** The certificate's end, when one was issued or kept. */
  certificateNotAfter: string | null;
  /** The pool's user, when the site has its own. */
  poolUser: string | null;
};

/** The packages a site task recorded for the site: how many, and their schema versions. */
export type RecordedPackages = { packages: number; schemaVersions: Record<string, number> };

/**
 * What a migrate is created with (sites service, checked and named up front so a replay uses the
 * same): the target, the archives reserved for its backup and rollback point, the rehearsal's names.
 */
export type MigrateParams = {
  targetPlatformId: string;
  /** The target's name at queue time, for people reading the task. */
  targetPlatform: string;
  /** The online backup, deployed as the rehearsal. */
  backupArchiveId: string;
  /** The rollback point dumped once writes are held. */
  rollbackArchiveId: string;
  rehearsal: ScratchSite;
  /**
   * A move to a platform on another server: how long (ms) the old server keeps the site's copy and
   * passes its requests on, before the master releases the site from it. Absent in older tasks.
   */
  releaseOldAfterMs?: number;
  /**
   * A move of the database to another db server (migrate --db-server): copied there once writes
   * are held, switched to in the window, the old one dropped after success. Absent: it stays.
   * `address` is what the site's web server reaches it at (null when it is that same server).
   */
  targetDb?: { serverId: string; name: string; address: string | null };
  /**
   * A site on a cluster: the heads whose agents are down that the migrate goes on without
   * (--without-head). Each is marked stale first, and left out until `cluster sync` catches it up.
   */
  withoutHeads?: Array<{ serverId: string; name: string }>;
  /**
   * The deploy hooks run after the updates, in the rehearsal and in the window (workflow version 5
   * on): the site's own list or its target platform's, fixed at queue time. Absent: none.
   */
  hooks?: DeployHook[];
  /**
   * `blue-green` (migrate --strategy blue-green): no offline window. Writes held, the database
   * copied on its server (`blueGreen.database`), the updates run on the copy under the target
   * platform as a hidden site (`blueGreen.domain`), then code and database switch in one reload.
   * Absent: the in-place migrate.
   */
  strategy?: MigrateStrategy;
  blueGreen?: { domain: string; database: string };
};

/** How a migrate switches a site: updates in a short offline window, or on a copy switched to (0 s offline). */
export const MIGRATE_STRATEGIES = ['in-place', 'blue-green'] as const;
export type MigrateStrategy = (typeof MIGRATE_STRATEGIES)[number];

/**
 * What a site deploy is created with (sites service): the ref of the site's own repository to
 * deploy, the archives reserved for its backup and rollback point, the rehearsal's names, and the
 * hooks to run after the updates (the site's own or its platform's, fixed at queue time).
 */
export type DeployParams = {
  ref: string;
  backupArchiveId: string;
  rollbackArchiveId: string;
  rehearsal: ScratchSite;
  hooks?: DeployHook[];
};

/**
 * What an environment sync is created with (projects service): the site whose data is copied down
 * (never changed), what is copied, how the copy is scrubbed, the hooks run after, and the archives
 * reserved for the target's backup first and the source's copy.
 */
export type SyncParams = {
  source: { siteId: string; domain: string };
  db: boolean;
  files: boolean;
  /** A drush sanitize command (shared/src/environments.ts), run when the database is copied. */
  sanitize: string;
  hooks?: DeployHook[];
  targetArchiveId: string;
  sourceArchiveId: string;
};

/** What a run of the store's garbage collector did (task store.gc's result). */
export type StoreGcReport = {
  /** Backups removed by retention, with both their archives. */
  backupsRemoved: number;
  /** Archives no backup and no unfinished task names (rollback points, transfers, unused reservations). */
  archivesRemoved: number;
  /** Files in the store without a stored archive row: removed. */
  strayFiles: number;
  /** Backups whose archive file is missing from the store: their rows removed (a restore would fail). */
  brokenBackups: Array<{ backupId: string; domain: string; archiveId: string }>;
  /** Backups whose archive file is missing from the store but copied off-site: kept, a restore puts it back. */
  offsiteOnly: Array<{ backupId: string; domain: string; archiveId: string }>;
  bytesFreed: number;
};

/** A throwaway site beside a live one (a migrate's rehearsal, a restore test): named up front. */
export type ScratchSite = { domain: string; database: string; user: string };

/**
 * What a restore test is created with: the backup, and the scratch site it is restored into.
 * `reason` "scheduled": started by its policy's verify schedule (absent: asked for by a person).
 */
export type BackupVerifyParams = { backupId: string; scratch: ScratchSite; reason?: 'scheduled' };

/** What a head's sync is created with: the head, by id and by name for people reading the task. */
export type HeadSyncParams = { serverId: string; serverName: string };

/**
 * What a clone is created with. The task targets the source (so no other task changes it while it
 * is copied); the new site's row exists already, with its own database names and password, and
 * `secretsFrom` names it so that db.create and site.write-settings get the new site's password.
 */
export type CloneParams = {
  cloneSiteId: string;
  cloneDomain: string;
  /** The platform the clone goes on, by name, for people reading the task. */
  platform: string;
  /** The source's backup that the clone is made of, reserved up front. */
  archiveId: string;
  secretsFrom: string;
};

/** What a rename is created with: both names fixed up front, so a replay uses the same. */
export type RenameParams = {
  from: string;
  domain: string;
  /** The backup taken first, online: a restore point of the site as it was (reserved up front). */
  archiveId: string;
  /** The site's files as the window starts, which become the new name's directory; removed after. */
  filesArchiveId: string;
  /** Keep the old name as a permanent redirect to the new one; else it no longer answers. */
  redirect: boolean;
};

/**
 * Where a platform is built: its server (the app server of a cluster platform), and the other heads
 * of its cluster, which get a copy of what was built there (the same code, file for file).
 */
export type PlatformPlacement = {
  platform: string;
  serverId: string;
  heads?: Array<{ serverId: string; name: string }>;
};

/** What a platform build or a scan of one recorded: its commit, core and package count, content hash. */
export type PlatformBuilt = {
  path: string;
  commit: string | null;
  composer: boolean;
  coreVersion: string | null;
  packages: number;
  sha256?: string;
};

/**
 * A leap-frog (platform update): a new platform built from the same source at another ref, every
 * site of the old one migrated to it (each with its rehearsal and window), the old one locked, and
 * deleted (codebase too) when `retire` and no site is left on it.
 */
export type PlatformUpdateParams = {
  /** The old platform's servers (retired: its codebase is removed from each). */
  from: PlatformPlacement;
  newPlatformId: string;
  build: PlatformPlacement & { source: PlatformSource };
  concurrency: number;
  force: boolean;
  retire: boolean;
  sites: Array<{ id: string; domain: string }>;
};

/** What a platform upgrade is created with: the sites fixed up front, so a replay sees the same list. */
export type PlatformUpgradeParams = {
  targetPlatformId: string;
  targetPlatform: string;
  concurrency: number;
  force: boolean;
  sites: Array<{ id: string; domain: string }>;
};

/**
 * What a server drain is created with: every site that has its platform or its database on the
 * server, each with where it goes (planDrain): a platform elsewhere, a db server elsewhere, or both.
 */
export type ServerDrainParams = {
  /** The server the sites leave, or null: wherever planDrain put each. */
  to: string | null;
  concurrency: number;
  force: boolean;
  sites: Array<{
    id: string;
    domain: string;
    platform: string | null;
    dbServer: string | null;
    /** Why the site has nowhere to go: not migrated, failed in the summary. */
    refused?: string;
  }>;
};

/** platform.diff's answer: A → B. */
export type PlatformDiff = {
  from: string;
  to: string;
  packages: Array<{
    name: string;
    from: { version: string | null; schema: number } | null;
    to: { version: string | null; schema: number } | null;
  }>;
  /** null: not both built from one repository. */
  commits: { list: Array<{ sha: string; subject: string }>; truncated: boolean } | null;
};

export type PlatformUpgradeSite =
  | { state: 'migrated'; domain: string; taskId: string; offlineMs: number | null }
  | { state: 'failed'; domain: string; taskId: string | null; reason: string };

export type PlatformUpgradeSummary = {
  to: string;
  migrated: number;
  failed: number;
  longestOfflineMs: number | null;
  medianOfflineMs: number | null;
  sites: PlatformUpgradeSite[];
};

/** Every task type: what it targets, what it is created with, and what it returns. */
export type TaskDefinitions = {
  'server.verify': {
    target: 'server';
    params: Record<string, never>;
    result: { hostname: string; os: string; agentVersion: string; services: ServiceInfo[] };
  };
  'server.transfer-check': {
    target: 'server';
    params: { archiveId: string; bytes: number };
    result: StepOutput<'link.transfer-check'>;
  };
  'platform.verify': {
    target: 'platform';
    /**
     * `heads`: a platform on a cluster is scanned on every head, and refused unless their codebases
     * hash the same. Absent: scanned on `serverId` alone.
     */
    params: { platform: string; serverId: string; heads?: Array<{ serverId: string; name: string }> };
    result: { coreVersion: string | null; packages: number; sha256?: string };
  };
  'cluster.verify': {
    target: 'cluster';
    /**
     * Whether every head sees one shared site directory: `marker` written with `token` through the
     * first head, read through the others, removed after.
     */
    params: { heads: Array<{ serverId: string; name: string }>; marker: string; token: string };
    result: { heads: string[]; sitesDir: Record<string, string> };
  };
  'platform.migrate-sites': {
    target: 'platform';
    params: PlatformUpgradeParams;
    result: PlatformUpgradeSummary;
  };
  /** A platform built from its source on its server (every head of its cluster), then scanned. */
  'platform.build': {
    target: 'platform';
    /**
     * copyOf: a copy of another server's platform (build --from-platform) instead of a build from
     * the source, which it keeps (and the commit its checkout is at).
     */
    params: PlatformPlacement & {
      source: PlatformSource;
      copyOf?: { serverId: string; platform: string; commit: string | null };
    };
    result: PlatformBuilt;
  };
  /** A git platform without sites moved to another ref in place, then scanned again. */
  'platform.pull': {
    target: 'platform';
    params: PlatformPlacement & { ref: string };
    result: PlatformBuilt & { previous: string };
  };
  'platform.update': {
    target: 'platform';
    params: PlatformUpdateParams;
    result: {
      built: { platform: string; commit: string | null; coreVersion: string | null };
      upgrade: PlatformUpgradeSummary | null;
      locked: boolean;
      retired: boolean;
    };
  };
  /**
   * What moving from one platform to another brings: the packages whose version or schema differ,
   * and, when both were built from one repository, the commits between their two commits.
   */
  'platform.diff': {
    target: 'platform';
    params: {
      to: { id: string; name: string };
      /** Both from one repository: listed by the agent of `to`'s server, in its checkout. */
      commits: { serverId: string; platform: string; from: string; to: string } | null;
    };
    result: PlatformDiff;
  };
  'server.drain': {
    target: 'server';
    params: ServerDrainParams;
    result: PlatformUpgradeSummary;
  };
  'cluster.sync-head': {
    target: 'cluster';
    params: HeadSyncParams;
    /** The sites the head was brought up to date for, and the vhosts of sites gone that it lost. */
    result: { head: string; sites: number; removedVhosts: string[] };
  };
  'site.install': {
    target: 'site';
    /**
     * repository: the site's own code, checked out into its directory before Drupal installs;
     * newRepository: one made on its web server first (site new without --repo), checked out at main.
     */
    params: { profile: string; repository?: { url: string; ref: string }; newRepository?: true };
    result: { domain: string; status: number } & RecordedPackages;
  };
  'site.verify': {
    target: 'site';
    params: Record<string, never>;
    result: { drupalVersion: string; bootstrap: string; probe: number } & RecordedPackages;
  };
  'site.backup': {
    target: 'site';
    /** `reason` is recorded with the backup: absent for a person's (manual), "scheduled" for a policy's. */
    params: { archiveId: string; reason?: 'scheduled' };
    result: { backupId: string; manifest: Record<string, unknown> };
  };
  'site.restore': {
    target: 'site';
    params: { backupId: string; preArchiveId: string };
    result: { restored: string; preRestoreBackupId: string };
  };
  'site.login-reset': { target: 'site'; params: Record<string, never>; result: { url: string } };
  /** Drupal's cron (drush core:cron) on the site's app head: on its schedule, or asked for. */
  'site.cron': { target: 'site'; params: Record<string, never>; result: { durationMs: number } };
  'site.migrate': {
    target: 'site';
    params: MigrateParams;
    result: {
      from: string;
      to: string;
      /** A database moved: its servers, and whether the old copy was dropped (else the log says why). */
      database?: { from: string; to: string; oldDropped: boolean };
      /**
       * On a cluster: the heads switched to the new platform at once, and the skew between the
       * first head's nginx reload and the last's (their clocks), in milliseconds.
       */
      switched?: { heads: string[]; skewMs: number };
    } & RecordedPackages;
  };
  /**
   * A ref of the site's own repository deployed with a migrate's safety: fetched, a backup, the
   * code, updates and hooks rehearsed on a copy, then writes held, a rollback point, and the same in
   * a short window; any failure there puts the code and the database back.
   */
  'site.deploy': {
    target: 'site';
    params: DeployParams;
    result: {
      ref: string;
      commit: string;
      /** The commit the site was at; the same as commit when there was nothing to deploy. */
      previous: string;
      unchanged: boolean;
    } & RecordedPackages;
  };
  /**
   * Another environment's data copied down into this site (env sync): this site backed up first,
   * the source backed up (online, never changed), its database and/or files/ copied in, the copy
   * scrubbed, the updates and hooks run; any failure restores this site's backup.
   */
  'site.sync': {
    target: 'site';
    params: SyncParams;
    result: {
      from: string;
      to: string;
      db: boolean;
      files: boolean;
      sanitized: string | null;
      backupId: string;
    };
  };
  'site.clone': {
    target: 'site';
    params: CloneParams;
    result: {
      domain: string;
      from: string;
      platform: string;
      backupId: string;
      updated: boolean;
      status: number;
    } & RecordedPackages;
  };
  'site.rename': {
    target: 'site';
    params: RenameParams;
    result: { from: string; domain: string; redirect: boolean; backupId: string; status: number };
  };
  'site.disable': { target: 'site'; params: Record<string, never>; result: { status: 'disabled' } };
  'site.enable': { target: 'site'; params: Record<string, never>; result: { status: 'enabled' } };
  'site.delete': {
    target: 'site';
    params: { archiveId: string; force: boolean };
    result: { lastBackupId: string };
  };
  'site.backup-delete': { target: 'site'; params: { backupId: string }; result: { deleted: string } };
  /**
   * A restore test: the backup's archives checked against their sha256, then restored into a scratch
   * site beside the live one (its own directory, database and user), probed over HTTP, removed.
   */
  'site.backup-verify': {
    target: 'site';
    params: BackupVerifyParams;
    result: {
      backupId: string;
      verifiedAt: string;
      probe: number;
      archives: Array<{ archiveId: string; sha256: string; bytes: number }>;
    };
  };
  /**
   * A change to the site's web edge (site-edge.ts): another name added or removed, HTTPS on or off,
   * its PHP settings. Applied to every server of the site (settings, pool, vhost, a certificate
   * when the names it must cover changed), then recorded; a failure puts the previous edge back.
   */
  'site.edge': { target: 'site'; params: { change: EdgeChange }; result: EdgeResult };
  /** The site's certificates issued again (Let's Encrypt), on every server of it: a renewal. */
  'site.certificate': {
    target: 'site';
    params: { reason: 'renewal' | 'asked' };
    result: { names: string[]; notAfter: string; servers: string[] };
  };
  /** The site's copy on the server it moved from: its vhost (the proxy), link, directory, database grant. */
  'site.release-old': { target: 'site'; params: Record<string, never>; result: { released: string | null } };
  /**
   * The store's garbage collector: backups past their policy's retention, archives nothing names
   * any more (a finished task's rollback point, transfers), and the mismatches between rows and files.
   */
  'store.gc': { target: 'store'; params: Record<string, never>; result: StoreGcReport };
  'debug.sleep': { target: 'server'; params: { ms: number }; result: StepOutput<'debug.sleep'> };
  'debug.noop': { target: 'server'; params: Record<string, never>; result: StepOutput<'debug.noop'> };
};

export type TaskType = keyof TaskDefinitions;
export type TaskParams<T extends TaskType> = TaskDefinitions[T]['params'];
export type TaskResult<T extends TaskType> = TaskDefinitions[T]['result'];
export type TaskTarget<T extends TaskType> = TaskDefinitions[T]['target'];

/** What the runtime knows of a task type beyond its shape. */
export interface TaskKind<Target extends TaskTargetKind = TaskTargetKind> {
  target: Target;
  /**
   * A site task a site offers as an action (a button in the web UI, a CLI command that checks it),
   * and the states in which it does. Absent for site tasks that come with something else: install
   * with the new site, backup-delete with a backup.
   */
  offeredIn?: readonly SiteStatus[];
  /** Exists for tests and benchmarks; the master accepts it only when told to. */
  debug?: true;
  /** A server task that its feature's API creates (server drain), not `POST /api/tasks`. */
  ownApi?: true;
}

/**
 * Every task type, in the order they are listed and offered. Aegir's rule for a site's actions: a
 * disabled site offers only enable and delete; an enabled one everything but enable (delete needs it
 * disabled first); a site being installed offers nothing yet.
 */
export const TASK_KINDS = {
  'server.verify': { target: 'server' },
  'server.transfer-check': { target: 'server' },
  'platform.verify': { target: 'platform' },
  'site.install': { target: 'site' },
  'site.verify': { target: 'site', offeredIn: ['enabled'] },
  'site.backup': { target: 'site', offeredIn: ['enabled'] },
  'site.backup-verify': { target: 'site', offeredIn: ['enabled'] },
  'site.restore': { target: 'site', offeredIn: ['enabled'] },
  'site.login-reset': { target: 'site', offeredIn: ['enabled'] },
  'site.cron': { target: 'site', offeredIn: ['enabled'] },
  'site.migrate': { target: 'site', offeredIn: ['enabled'] },
  // Not offered as a button: a deploy needs a ref (berth site deploy, POST /api/sites/{domain}/deploy).
  'site.deploy': { target: 'site' },
  // Not offered either: a sync names its source (berth env sync, POST /api/projects/{p}/sync).
  'site.sync': { target: 'site' },
  'site.clone': { target: 'site', offeredIn: ['enabled'] },
  'site.rename': { target: 'site', offeredIn: ['enabled'] },
  'site.disable': { target: 'site', offeredIn: ['enabled'] },
  'site.enable': { target: 'site', offeredIn: ['disabled'] },
  'site.delete': { target: 'site', offeredIn: ['disabled'] },
  'site.backup-delete': { target: 'site' },
  'site.release-old': { target: 'site' },
  // Not offered as buttons: each names what changes (berth site alias / https / php).
  'site.edge': { target: 'site' },
  'site.certificate': { target: 'site' },
  'platform.migrate-sites': { target: 'platform' },
  'platform.build': { target: 'platform' },
  'platform.pull': { target: 'platform' },
  'platform.update': { target: 'platform' },
  'platform.diff': { target: 'platform' },
  'cluster.verify': { target: 'cluster' },
  'server.drain': { target: 'server', ownApi: true },
  'cluster.sync-head': { target: 'cluster', ownApi: true },
  'store.gc': { target: 'store', ownApi: true },
  'debug.sleep': { target: 'server', debug: true },
  'debug.noop': { target: 'server', debug: true },
} as const satisfies { readonly [T in TaskType]: TaskKind<TaskTarget<T>> };

export const TASK_TYPES = Object.keys(TASK_KINDS) as TaskType[];

export function isTaskType(value: string): value is TaskType {
  return Object.hasOwn(TASK_KINDS, value);
}

/** The task types that `POST /api/tasks` creates on a server; the others come from their feature's API. */
export type ServerTaskType = {
  [T in TaskType]: TaskTarget<T> extends 'server'
    ? (typeof TASK_KINDS)[T] extends { ownApi: true }
      ? never
      : T
    : never;
}[TaskType];
export const SERVER_TASK_TYPES = TASK_TYPES.filter((type): type is ServerTaskType => isServerTaskType(type));

export function isServerTaskType(value: string): value is ServerTaskType {
  return isTaskType(value) && TASK_KINDS[value].target === 'server' && !('ownApi' in TASK_KINDS[value]);
}

/** Task types that exist for tests and benchmarks; the master accepts them only when told to. */
export const DEBUG_TASK_TYPES: readonly TaskType[] = TASK_TYPES.filter((type) => 'debug' in TASK_KINDS[type]);
