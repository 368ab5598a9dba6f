/**
 * The REST API's answers as they travel in JSON (see /api/docs): written once, here. The master's
 * services declare their results with these types, so the compiler holds the master to them; the
 * CLI and the web UI read the same types. Dates are ISO 8601 strings, as JSON carries them.
 * Types only: importing this file loads nothing at run time.
 */
import type { DeployHook } from './deploy-hooks.js';
import type { NotificationEvent } from './notification-events.js';
import type { PlatformSource } from './platform-source.js';
import type { ServerRole } from './server-roles.js';
import type { StepFailure } from './errors.js';
import type { SiteAction } from './site-actions.js';
import type { ServiceInfo } from './steps.js';
import type { AttemptState, StepState, TaskState, TaskTargetKind, TaskType } from './tasks.js';

/** GET /api/auth/me: who a token is. */
export interface WhoAmI {
  name: string;
  role: 'admin' | 'client';
  /** The client whose sites a client token sees; null for an admin. */
  client: string | null;
}

export interface Client {
  id: string;
  name: string;
  email: string | null;
  createdAt: string;
}

/** A master alive on the registry (several masters on one PostgreSQL). */
export interface MasterInfo {
  /** BERTH_MASTER_ID. */
  id: string;
  httpUrl: string | null;
  grpcPort: number | null;
  startedAt: string;
  /** When it last said it is alive (every third of its lease). */
  seenAt: string;
  /** Agents whose stream it holds. */
  agents: number;
  /** It runs the periodic work (schedules, the lease sweep) now. */
  periodic: boolean;
}

export interface Server {
  id: string;
  name: string;
  slots: number;
  slotsBusy: number;
  /** What the agent found on the server at its last verify. */
  services: ServiceInfo[];
  /** What it offers to sites: http (web server), db (database server). */
  roles: ServerRole[];
  /** The IP address the other servers reach it at; null until its agent said. */
  address: string | null;
  connected: boolean;
  agentVersion: string | null;
  hostname: string | null;
  /** The IANA time zone its agent reports (UTC until it said): its sites' backup windows are read in it. */
  timeZone: string;
  enrolledAt: string | null;
  lastSeenAt: string | null;
  verifiedAt: string | null;
  createdAt: string;
}

/** A web cluster: heads that serve the same platforms behind a load balancer. */
export interface Cluster {
  id: string;
  name: string;
  heads: Array<{
    name: string;
    address: string | null;
    connected: boolean;
    roles: ServerRole[];
    /** A task went on without it (--without-head): since when; null when it is up to date. */
    staleSince: string | null;
  }>;
  /** The platforms that live on every head. */
  platforms: string[];
  /** How many sites are on those platforms. */
  sites: number;
  /** When the heads were last seen to share one site directory (cluster verify); null: not since a head joined, or never. */
  sitesSharedAt: string | null;
  createdAt: string;
}

/** A one-time token for `berth agent start`, and the command that uses it. */
export interface Enrollment {
  token: string;
  expiresAt: string;
  agentCommand: string;
}

/** POST /api/servers. */
export interface CreatedServer {
  server: Server;
  enrollment: Enrollment;
}

export interface Platform {
  id: string;
  name: string;
  serverId: string;
  serverName: string;
  /** The cluster whose every head holds it; null for a platform on one server. */
  cluster: string | null;
  path: string;
  docroot: string;
  coreVersion: string | null;
  status: string;
  locked: boolean;
  verifiedAt: string | null;
  createdAt: string;
  /** What Berth built it from (berth platform build); null for a codebase put there by hand. */
  source: PlatformSource | null;
  /** The commit its checkout is at (a git build or pull). */
  commit: string | null;
  /** Whether a deploy key is stored for its repository (the key itself is never shown). */
  deployKey: boolean;
  /** Run after the database updates on each site that comes onto it, unless the site has its own. */
  deployHooks: DeployHook[];
}

export type PackageType = 'core' | 'module' | 'theme' | 'profile' | 'theme_engine';

/** A package of a platform or a site (the `packages` of GET /api/platforms/{name} and /api/sites/{domain}). */
export interface Package {
  name: string;
  type: PackageType;
  title: string | null;
  version: string | null;
  schemaVersion: number;
  /** A platform's hook_update_last_removed() (0: none). */
  lastRemovedSchema: number;
  /**
   * A platform's post-update functions, or those a site ran (null: the site's database did not say).
   */
  postUpdates: string[] | null;
  /** A platform's removed post-updates: a site must have run them before moving here. */
  removedPostUpdates: string[];
  path: string | null;
  enabled?: boolean;
}

/**
 * A page of a list: `next` is the cursor of the page after it (`?cursor=`), null on the last page.
 * Pages follow a stable order (a site list by domain), so rows added between two requests are
 * neither skipped nor repeated.
 */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/**
 * The paging part of every list's query (`?limit=&cursor=`): rows per page (1-500), and the `next`
 * of the previous page. A cursor is opaque: only the list that gave it takes it back.
 */
export interface PageQuery {
  limit?: number;
  cursor?: string;
}

/** The query of a site list (GET /api/sites): a page, and its filters. */
export interface SiteListQuery extends PageQuery {
  status?: string;
  /** A platform's name or id. */
  platform?: string;
  /** A server's name or id: sites whose web server or database server it is. */
  server?: string;
  /** A client's name or id (admins only). */
  client?: string;
  /** A piece of the domain. */
  q?: string;
}

/**
 * The query of a task list (GET /api/tasks), newest first (created, then id): a page, and its filters.
 */
export interface TaskListQuery extends PageQuery {
  state?: TaskState;
  type?: TaskType;
  /** What the task is on: a site's domain, a platform's, server's or cluster's name, or any id. */
  target?: string;
  /** A server's name or id: the tasks whose target it is (kept from before `target`). */
  server?: string;
  /** ISO 8601: tasks created at or after it. */
  since?: string;
}

/** GET /api/platforms, in name order. */
export interface PlatformListQuery extends PageQuery {
  /** A server's name or id: the platforms it holds. */
  server?: string;
  status?: string;
  /** A piece of the name. */
  q?: string;
}

/** GET /api/servers, in name order. */
export interface ServerListQuery extends PageQuery {
  role?: ServerRole;
  /** 'true' or 'false': whether its agent is connected to a master now. */
  connected?: string;
  /** A piece of the name. */
  q?: string;
}

/** GET /api/clients, in name order. */
export interface ClientListQuery extends PageQuery {
  /** A piece of the name. */
  q?: string;
}

/** GET /api/projects, in name order (a client token sees its own). */
export interface ProjectListQuery extends PageQuery {
  /** A piece of the project's name. */
  q?: string;
  /** A client's name or id: that client's projects (admins only). */
  client?: string;
}

/** GET /api/sites/{domain}/backups, newest first: a page, and what all of the site's backups take. */
export type BackupListQuery = PageQuery;

/** GET /api/audit, newest first (the time, then the id): a page, and its filters. */
export interface AuditListQuery extends PageQuery {
  /** ISO 8601: events at or after it. */
  since?: string;
  /** A route parameter's value (a domain, a server's name), a value of the summary, or a task id. */
  target?: string;
}

/** GET /api/notifications/deliveries, newest first (created, then id); a client token's own only. */
export type NotificationDeliveryListQuery = PageQuery;

/** GET /api/tokens, newest first (created, then id). */
export interface ApiTokenListQuery extends PageQuery {
  /** A client's name or id: that client's tokens. */
  client?: string;
}

export interface BackupPage extends Page<Backup> {
  /** Every backup of the site (not only this page's) and the bytes they take in the store. */
  total: { count: number; bytes: number };
}

/**
 * GET /api/overview: the dashboard's counts, each from one query, and what needs attention. Nothing in
 * it grows with the number of sites: each attention list shows at most 10 rows, its count is of all.
 */
export interface Overview {
  sites: { total: number; byStatus: Record<string, number> };
  /** Admins only (null for a client token). */
  platforms: number | null;
  servers: { total: number; connected: number } | null;
  clients: number | null;
  tasks: { queued: number; running: number; failedLastDay: number };
  attention: {
    /** Failed tasks of the last 24 hours, newest first. */
    failedTasks: { count: number; items: Task[] };
    /** Servers whose agent is not connected (admins only: empty for a client). */
    disconnectedServers: { count: number; items: Array<{ name: string; lastSeenAt: string | null }> };
    /** Enabled sites not verified for a day (or never), the longest first. */
    unverifiedSites: { count: number; items: Array<{ domain: string; verifiedAt: string | null }> };
  };
}

export interface Site {
  id: string;
  domain: string;
  status: string;
  platform: string;
  client: string | null;
  dbServer: string;
  profile: string;
  url: string;
  verifiedAt: string | null;
  createdAt: string;
  /** The tasks the site offers in its state (shared/src/site-actions.ts): the web UI's buttons. */
  actions: readonly SiteAction[];
  /**
   * The site's own repository (installed with --repo), the ref last deployed and its commit; null
   * for a site whose code is all its platform's.
   */
  code: {
    repository: string;
    ref: string | null;
    commit: string | null;
    /** Whether a deploy key is stored for its repository (the key itself is never shown). */
    deployKey?: boolean;
  } | null;
  /** Only in GET /api/sites/{domain}. */
  cron?: SiteCron;
  /** Only in GET /api/sites/{domain}. */
  deployHooks?: SiteDeployHooks;
  /** Only in GET /api/sites/{domain}: its other names, HTTPS and certificates, PHP pool. */
  edge?: SiteEdgeView;
}

/** A site's web edge as the API shows it (GET /api/sites/{domain}, .../aliases, .../https, .../php). */
export interface SiteEdgeView {
  aliases: string[];
  redirects: string[];
  https: { mode: 'letsencrypt' | 'uploaded'; redirect: boolean; hsts: boolean } | null;
  /** What each server of the site serves it with (its own key, never shown). */
  certificates: SiteCertificate[];
  /** Its own PHP-FPM pool; null: the server's shared pool (verify gives it one). */
  pool: {
    user: string;
    uid: number;
    settings: Record<string, string>;
    effective: Record<string, string>;
  } | null;
}

export interface SiteCertificate {
  server: string;
  names: string[];
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  mode: 'letsencrypt' | 'uploaded';
}

/**
 * What runs on a site after the database updates when its code changes: its own list (null: none of
 * its own) and the one that applies (its own, else its platform's).
 */
export interface SiteDeployHooks {
  own: DeployHook[] | null;
  effective: DeployHook[];
}

/** A site's Drupal cron: how often, and how its recent runs went. */
export interface SiteCron {
  /** Minutes between runs while the site is enabled; 0: only when asked for (`berth site cron`). */
  everyMinutes: number;
  /** Where in each period the site's runs fall (stable per site, so not every site runs at :00). */
  offsetSeconds: number;
  lastRun: {
    taskId: string;
    state: string;
    at: string;
    durationMs: number | null;
    error: string | null;
  } | null;
  /** Failed runs since the last one that succeeded (of the last 20). */
  failuresInARow: number;
}

/** What a backup's archive holds (shared/src/steps.ts SiteArchiveManifest) and where it came from. */
export interface BackupManifest {
  archive?: { bytes: number; sha256: string };
  platform?: { name: string; coreVersion: string | null };
  [part: string]: unknown;
}

export interface Backup {
  id: string;
  /** The file in the master's store (<data dir>/store/archives/<archiveId>): the site's files. */
  archiveId: string;
  /** The database dump, an archive of its own; null in backups from before (database.sql inside). */
  databaseArchiveId: string | null;
  /** What the backup takes in the store: both archives, gzipped. */
  bytes: number;
  domain: string;
  reason: string;
  createdAt: string;
  manifest: BackupManifest;
  /** When a restore test last restored it into a scratch site that answered; null: never. */
  verifiedAt: string | null;
  /** When a restore test last failed on it (damaged archive, a copy that did not answer); null: never. */
  verifyFailedAt: string | null;
  /** Its copies in off-site targets (its policy's), if any. */
  offsite: BackupOffsiteCopy[];
}

/** A platform a site could move to (GET /api/sites/{domain}/migrate-candidates, in `items`). */
export interface MigrateCandidate {
  name: string;
  coreVersion: string | null;
  locked: boolean;
}

/** too-old: below the target's last removed update, or missing a post-update the target removed. */
export type CompatibilityStatus = 'same' | 'upgrade' | 'missing' | 'downgrade' | 'too-old' | 'core-too-old';
export type CompatibilitySeverity = 'ok' | 'warning' | 'error';

export interface CompatibilityRow {
  name: string;
  type: PackageType;
  siteVersion: string | null;
  /** null when the target does not have the package. */
  targetVersion: string | null;
  siteSchema: number;
  /** null when the target does not have the package. */
  targetSchema: number | null;
  /** The target's post-updates of the package the site has not run: `drush updatedb` runs them. */
  pendingPostUpdates: number;
  status: CompatibilityStatus;
  severity: CompatibilitySeverity;
  message: string;
}

/** Aegir's package comparison of a site with a target platform (also a refused migrate's details.report). */
export interface CompatibilityReport {
  /** Errors first, then warnings, then upgrades, then unchanged packages; by name within each. */
  rows: CompatibilityRow[];
  /** Rows that refuse the move (a schema downgrade, an older core). */
  errors: number;
  /** Rows that allow it with a risk (a package missing on the target). */
  warnings: number;
  /** Rows that will change: newer code, database updates for schema changes. */
  upgrades: number;
}

/** GET /api/sites/{domain}/migrate-check?platform=: the report, with the target platform's name. */
export interface MigrateCheck extends CompatibilityReport {
  platform: string;
}

/** A named stretch of a task (e.g. the offline window of a migrate). */
export interface TaskPhase {
  name: string;
  startedAt: string;
  endedAt: string | null;
}

/** What the running step last reported of its progress (only while the task runs). */
export interface TaskProgress {
  stepName: string;
  phase: string;
  done: number;
  total: number;
  unit: string;
}

export interface StepAttempt {
  id: string;
  attemptNo: number;
  /** A bigint, as a string. */
  epoch: string;
  state: AttemptState;
  assignedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

export interface TaskStep {
  id: string;
  seq: number;
  name: string;
  serverId: string;
  serverName: string;
  state: StepState;
  output: unknown;
  failure: StepFailure | null;
  createdAt: string;
  finishedAt: string | null;
  attempts: StepAttempt[];
}

export interface Task {
  id: string;
  type: TaskType;
  state: TaskState;
  targetKind: TaskTargetKind;
  /** The failed or cancelled task this one starts again (`berth task retry`); null otherwise. */
  retryOf: string | null;
  targetId: string;
  targetName: string;
  params: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: string | null;
  errorCode: string | null;
  rollbackCompleted: boolean | null;
  phases: TaskPhase[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  cancelRequestedAt: string | null;
  progress: TaskProgress | null;
  /** Only in GET /api/tasks/{id}. */
  steps?: TaskStep[];
}

/** GET /api/tasks/{id}: the task with its steps. */
export type TaskWithSteps = Task & { steps: TaskStep[] };

export interface LogLine {
  /** A bigint, as a string: the cursor for the next page. */
  id: string;
  at: string;
  stream: string;
  text: string;
  stepId: string | null;
}

/** GET /api/tasks/{id}/log. */
export interface LogPage {
  lines: LogLine[];
  /** The cursor to pass as `after` for the next page. */
  next: string;
  taskState: TaskState;
}

/** A backup policy (GET /api/backup-policies, PUT /api/backup-policies/...). */
export interface BackupPolicy {
  id: string;
  scope: 'global' | 'client' | 'site';
  /** The client's name or the site's domain; null for the global default. */
  target: string | null;
  /** A five-field cron expression in the web server's time zone; null: no scheduled backups. */
  schedule: string | null;
  /** Scheduled backups start only between these local times ("HH:MM"); null: any time. */
  window: { start: string; end: string } | null;
  /** Retention: the newest `last`, and the newest of each of the last `daily` days, weeks, months. */
  keep: { last: number; daily: number; weekly: number; monthly: number };
  /** When the newest backup of each site is restore-tested (same window); null: never on its own. */
  verifySchedule: string | null;
  /** The off-site target (its name) each backup is copied to; null: none. */
  offsite: string | null;
  updatedAt: string;
}

/** The body of PUT /api/backup-policies/...: what is left out stays as it was (or the default). */
export interface BackupPolicyInput {
  /** A cron expression, or null for none. */
  schedule?: string | null;
  /** "HH:MM-HH:MM", or null for any time. */
  window?: string | null;
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  /** A cron expression for restore tests of each site's newest backup, or null for none. */
  verifySchedule?: string | null;
  /** The off-site target's name each backup is copied to, or null for none. */
  offsite?: string | null;
}

/** A schedule's firing: one due time of it, for one site. */
export interface ScheduleFiring {
  dueAt: string;
  opensAt: string;
  expiresAt: string;
  state: 'waiting' | 'started' | 'missed';
  taskId: string | null;
}

/** GET /api/backup-policies/sites/{domain}: what applies to a site and where it comes from. */
export interface SiteBackupSchedule {
  domain: string;
  /** The policy that applies (the site's, its client's or the global one); null: none. */
  policy: BackupPolicy | null;
  /** The web server's time zone the schedule and window are read in. */
  timeZone: string;
  nextDueAt: string | null;
  lastFiring: ScheduleFiring | null;
}

/** An S3-compatible bucket backups are copied to (GET /api/store/offsite): never its secret key. */
export interface OffsiteTarget {
  id: string;
  name: string;
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string;
  pathStyle: boolean;
  accessKeyId: string;
  createdAt: string;
  /** Archives copied and read back whole, waiting to be copied, given up on; bytes of the copied. */
  copies: { copied: number; pending: number; failed: number; bytes: number };
  /** The policies that copy their backups there ("global", "client acme", "site shop.example"). */
  policies: string[];
}

/** The body of POST /api/store/offsite. */
export interface OffsiteTargetInput {
  name: string;
  /** http(s)://host[:port] of the S3 API. */
  endpoint: string;
  bucket: string;
  /** Default us-east-1 (what most S3-compatible servers accept). */
  region?: string;
  /** Prepended to every key, e.g. "berth/"; default none. */
  prefix?: string;
  /** Path-style URLs (endpoint/bucket/key); default true, as most S3-compatible servers want. */
  pathStyle?: boolean;
  accessKeyId: string;
  secretAccessKey: string;
}

/** A backup's archives in one off-site target: copied only when every archive is. */
export interface BackupOffsiteCopy {
  target: string;
  state: 'pending' | 'copied' | 'failed' | 'removing';
  /** When the last of its archives was copied (state copied). */
  copiedAt: string | null;
  lastError: string | null;
}

/** GET /api/store: what the master's backup store holds. */
export interface StoreUsage {
  totalBytes: number;
  archives: number;
  backups: { count: number; bytes: number };
  /** Archives no backup names: rollback points and transfers of unfinished tasks, or garbage. */
  otherBytes: number;
  byClient: Array<{ client: string | null; backups: number; bytes: number }>;
  /** The sites that take the most, largest first. */
  topSites: Array<{ domain: string; client: string | null; backups: number; bytes: number }>;
}

/** An API token as GET /api/tokens lists it: never the token, nor its hash. */
export interface ApiToken {
  id: string;
  name: string;
  role: 'admin' | 'client';
  /** A client token's client (its name). */
  client: string | null;
  createdAt: string;
  /** To the minute: the master notes a use at most once a minute per token. */
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** One change asked of the REST API, as GET /api/audit lists it (newest first). */
export interface AuditEvent {
  id: string;
  /** When the request arrived. */
  at: string;
  /** Who: the token (null when the request had no valid token: see errorCode). */
  tokenId: string | null;
  tokenName: string | null;
  role: 'admin' | 'client' | null;
  clientId: string | null;
  method: string;
  /** The route's pattern, e.g. /api/sites/:domain/backup; null when no route matched. */
  route: string | null;
  /** The path as requested, without its query. */
  path: string;
  /** The route's parameters, e.g. { domain: 'a.example' }. */
  target: Record<string, string>;
  /** Allow-listed fields of the query and body (names, switches); never the body itself. */
  summary: Record<string, unknown> | null;
  /** The caller's address (the socket's peer). */
  address: string | null;
  /** The HTTP status answered; null when the caller went away first. */
  status: number | null;
  /** The code of an error answer (AUTH_INVALID_TOKEN, SITE_NOT_FOUND, ...). */
  errorCode: string | null;
  /** The task the request created. */
  taskId: string | null;
  durationMs: number;
}

/** What notifications are sent about. */
export type { NotificationEvent } from './notification-events.js';
export type NotificationKind = 'webhook' | 'email';
export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** A webhook or an email address notified of events (GET /api/notifications/targets). */
export interface NotificationTarget {
  id: string;
  kind: NotificationKind;
  /** The webhook's URL; null for email. */
  url: string | null;
  /** The email address; null for a webhook. */
  address: string | null;
  /** The client whose sites' events it hears; null: the admins' (every event). */
  client: string | null;
  /** The events it wants; null: all. */
  events: NotificationEvent[] | null;
  createdAt: string;
}

/** POST /api/notifications/targets: the webhook's signing secret, shown this once. */
export type CreatedNotificationTarget = NotificationTarget & { secret: string | null };

export interface NotificationTargetInput {
  kind: NotificationKind;
  url?: string;
  address?: string;
  /** A client's name or id (admin tokens; a client token's targets are always its own). */
  client?: string;
  events?: NotificationEvent[];
  /** The webhook's HMAC key; generated when left out. */
  secret?: string;
}

/** One event for one target and its attempts (GET /api/notifications/deliveries, newest first). */
export interface NotificationDelivery {
  id: string;
  targetId: string;
  event: NotificationEvent;
  subjectId: string;
  state: DeliveryState;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
  payload: Record<string, unknown>;
}

/** A project: sites grouped as environments, code going up the list and data coming down it. */
export interface Project {
  id: string;
  name: string;
  client: string | null;
  /** What scrubs a copy synced down: sql:sanitize, or the project's own <namespace>:sanitize. */
  sanitize: string;
  /** In order: code is deployed up the list (dev, test, live), data synced down it. */
  environments: Environment[];
  createdAt: string;
}

export interface Environment {
  name: string;
  /** 1 for the first (dev), counting up towards live. */
  position: number;
  /** The site's domain; null when the site was deleted (remove the environment). */
  site: string | null;
  platform: string | null;
  status: string | null;
  /** The site's own repository: the ref deployed and its commit. */
  code: Site['code'];
  /** The newest sync into it: when, from where, and how it ended. */
  lastSync: { taskId: string; from: string; state: string; at: string } | null;
}

// The answers below are named so that the OpenAPI document (/api/docs) can point at them: each
// route's success shape is one of this file's types (master/src/infra/http/openapi-answers.ts).

/** GET /api/health (no token needed): which master answered, on which database, with how many agents. */
export interface Health {
  status: 'ok';
  version: string;
  database: 'postgres' | 'pglite';
  /** BERTH_MASTER_ID of the master that answered. */
  master: string;
  /** The agents whose stream this master holds. */
  agentsConnected: number;
}

/** A list answered whole, in one piece: `{ items }`. */
export interface List<T> {
  items: T[];
}

export type MasterList = List<MasterInfo>;
export type ClusterList = List<Cluster>;
export type MigrateCandidateList = List<MigrateCandidate>;
export type BackupPolicyList = List<BackupPolicy>;
export type OffsiteTargetList = List<OffsiteTarget>;
export type NotificationTargetList = List<NotificationTarget>;
export type SitePage = Page<Site>;
export type TaskPage = Page<Task>;
export type PlatformPage = Page<Platform>;
export type ServerPage = Page<Server>;
export type ClientPage = Page<Client>;
export type AuditEventPage = Page<AuditEvent>;
export type NotificationDeliveryPage = Page<NotificationDelivery>;
export type ApiTokenPage = Page<ApiToken>;
export type ProjectPage = Page<Project>;

/** GET /api/platforms/{platform}. */
export type PlatformWithPackages = Platform & { packages: Package[] };
/** GET /api/sites/{domain}. */
export type SiteWithPackages = Site & { packages: Package[] };

/** POST /api/platforms, .../build and .../{platform}/update: the platform and the task that verifies or builds it. */
export interface PlatformAndTask {
  platform: Platform;
  task: Task;
}

/** POST /api/platforms/{platform}/delete. */
export interface DeletedPlatform {
  /** The platform as it was. */
  deleted: Platform;
  message: string;
}

/** POST /api/sites and .../{domain}/clone: the new site (installing) and its task. */
export interface SiteAndTask {
  site: Site;
  task: Task;
}

/** POST /api/sites/new: with the platform chosen for it. */
export interface NewSite extends SiteAndTask {
  platform: string;
}

/** POST /api/clusters: the cluster with its heads, and its verify. */
export interface ClusterAndTask {
  cluster: Cluster;
  task: Task;
}

/** POST /api/clients/{client}/tokens: the token, shown this once. */
export interface ClientToken {
  client: string;
  name: string;
  token: string;
}

/** POST /api/projects/{project}/delete. */
export interface RemovedProject {
  removed: string;
}
