import type {
  ApiToken,
  AuditEvent,
  BackupPolicy,
  BackupPolicyInput,
  SiteBackupSchedule,
  SiteCron,
  SiteDeployHooks,
  Project,
  StoreUsage,
  OffsiteTarget,
  OffsiteTargetInput,
  MigrateCheck,
  Client,
  Cluster,
  Site,
  SiteEdgeView,
  Package,
  Platform,
  ApiErrorBody,
  CreatedServer,
  Enrollment,
  Health,
  LogPage,
  Server,
  Task,
  SiteQuery,
} from './api-types.js';
import type {
  ApiTokenListQuery,
  AuditListQuery,
  BackupListQuery,
  BackupPage,
  ClientListQuery,
  MasterInfo,
  Page,
  PageQuery,
  PlatformListQuery,
  ProjectListQuery,
  ServerListQuery,
  TaskListQuery,
  CreatedNotificationTarget,
  NotificationDelivery,
  NotificationDeliveryListQuery,
  NotificationTarget,
  NotificationTargetInput,
} from '../../shared/src/api.js';
import { CliError, ExitCode } from './errors.js';
import { readPages } from './paging.js';

export interface ApiClientOptions {
  baseUrl: string;
  token: string | undefined;
  /** Per request; a hung master must not hang the CLI. */
  timeoutMs?: number;
  /** Aborts every request in flight (Ctrl-C). */
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Added to the message of a 401: why no token, or this token, was sent. */
  authHint?: string;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The master's REST API, typed. Every failure becomes a CliError with the exit code the CLI
 * documents: 2 for requests the master refused (4xx), 1 for server errors, 3 when it cannot be
 * reached at all.
 */
export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly authHint: string | undefined;

  constructor(options: ApiClientOptions) {
    this.baseUrl = normaliseBaseUrl(options.baseUrl);
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.signal = options.signal;
    this.fetchImpl = options.fetch ?? fetch;
    this.authHint = options.authHint;
  }

  health(): Promise<Health> {
    return this.request('GET', '/api/health', { auth: false });
  }

  async listMasters(): Promise<MasterInfo[]> {
    return (await this.request<{ items: MasterInfo[] }>('GET', '/api/masters')).items;
  }

  createServer(input: { name: string; slots?: number }): Promise<CreatedServer> {
    return this.request('POST', '/api/servers', { body: input });
  }

  createCluster(body: { name: string; servers: string[] }): Promise<{ cluster: Cluster; task: Task }> {
    return this.request('POST', '/api/clusters', { body });
  }

  verifyCluster(nameOrId: string): Promise<Task> {
    return this.request('POST', `/api/clusters/${segment(nameOrId)}/verify`);
  }

  syncClusterHead(nameOrId: string, server: string): Promise<Task> {
    return this.request('POST', `/api/clusters/${segment(nameOrId)}/sync-head`, { body: { server } });
  }

  async listClusters(): Promise<Cluster[]> {
    return (await this.request<{ items: Cluster[] }>('GET', '/api/clusters')).items;
  }

  getCluster(nameOrId: string): Promise<Cluster> {
    return this.request('GET', `/api/clusters/${segment(nameOrId)}`);
  }

  addClusterServer(cluster: string, server: string): Promise<Cluster> {
    return this.request('POST', `/api/clusters/${segment(cluster)}/add-server`, { body: { server } });
  }

  removeClusterServer(cluster: string, server: string): Promise<Cluster> {
    return this.request('POST', `/api/clusters/${segment(cluster)}/remove-server`, { body: { server } });
  }

  createClient(body: { name: string; email?: string }): Promise<Client> {
    return this.request<Client>('POST', '/api/clients', { body });
  }

  issueClientToken(client: string): Promise<{ client: string; name: string; token: string }> {
    return this.request('POST', `/api/clients/${encodeURIComponent(client)}/tokens`);
  }

  /** Every client (shell completion); pageClients for a list a person reads. */
  listClients(): Promise<Client[]> {
    return everyItem((page) => this.pageClients(page));
  }

  /** One page of clients (GET /api/clients with limit, cursor and q). */
  pageClients(query: ClientListQuery): Promise<Page<Client>> {
    return this.request('GET', '/api/clients', { query: { ...query } });
  }

  createPlatform(body: {
    name: string;
    server?: string;
    cluster?: string;
    path?: string;
  }): Promise<{ platform: Platform; task: Task }> {
    return this.request('POST', '/api/platforms', { body });
  }

  buildPlatform(body: {
    name: string;
    server?: string;
    cluster?: string;
    git?: { url: string; ref?: string };
    composerProject?: string;
    composerRepository?: string;
    deployKey?: string;
    fromPlatform?: string;
  }): Promise<{ platform: Platform; task: Task }> {
    return this.request('POST', '/api/platforms/build', { body });
  }

  /** A platform task of its own route: pull, diff. */
  platformTask(nameOrId: string, action: 'pull' | 'diff', body: unknown): Promise<Task> {
    return this.request('POST', `/api/platforms/${segment(nameOrId)}/${action}`, { body });
  }

  updatePlatform(
    nameOrId: string,
    body: { ref: string; as?: string; concurrency?: number; force?: boolean; retire?: boolean },
  ): Promise<{ platform: Platform; task: Task }> {
    return this.request('POST', `/api/platforms/${segment(nameOrId)}/update`, { body });
  }

  /** Every platform (shell completion); pagePlatforms for a list a person reads. */
  listPlatforms(): Promise<Platform[]> {
    return everyItem((page) => this.pagePlatforms(page));
  }

  /** One page of platforms (GET /api/platforms with limit, cursor and filters). */
  pagePlatforms(query: PlatformListQuery): Promise<Page<Platform>> {
    return this.request('GET', '/api/platforms', { query: { ...query } });
  }

  getPlatform(nameOrId: string): Promise<Platform & { packages: Package[] }> {
    return this.request('GET', `/api/platforms/${segment(nameOrId)}`);
  }

  verifyPlatform(nameOrId: string): Promise<Task> {
    return this.request('POST', `/api/platforms/${segment(nameOrId)}/verify`);
  }

  migrateSites(from: string, body: { to: string; concurrency?: number; force?: boolean }): Promise<Task> {
    return this.request('POST', `/api/platforms/${segment(from)}/migrate-sites`, { body });
  }

  drainServer(server: string, body: { to?: string; concurrency?: number; force?: boolean }): Promise<Task> {
    return this.request('POST', `/api/servers/${segment(server)}/drain`, { body });
  }

  lockPlatform(nameOrId: string): Promise<Platform> {
    return this.request('POST', `/api/platforms/${segment(nameOrId)}/lock`);
  }

  /** The platform's deploy hooks, in order (empty: the updates only). */
  setPlatformHooks(nameOrId: string, hooks: string[]): Promise<Platform> {
    return this.request('PUT', `/api/platforms/${segment(nameOrId)}/hooks`, { body: { hooks } });
  }

  unlockPlatform(nameOrId: string): Promise<Platform> {
    return this.request('POST', `/api/platforms/${segment(nameOrId)}/unlock`);
  }

  /** Removes the platform from the registry; its codebase stays on the server. */
  deletePlatform(nameOrId: string): Promise<{ deleted: Platform; message: string }> {
    return this.request('POST', `/api/platforms/${segment(nameOrId)}/delete`);
  }

  /** A new site on the newest platform of its core, with its own repository (POST /api/sites/new). */
  newSite(body: {
    domain: string;
    core?: number;
    repository?: string;
    ref?: string;
    deployKey?: string;
    client?: string;
    dbServer?: string;
  }): Promise<{ site: Site; task: Task; platform: string }> {
    return this.request('POST', '/api/sites/new', { body });
  }

  installSite(body: {
    domain: string;
    platform: string;
    profile?: string;
    dbServer?: string;
    client?: string;
    repository?: string;
    ref?: string;
    deployKey?: string;
  }): Promise<{ site: Site; task: Task }> {
    return this.request('POST', '/api/sites', { body });
  }

  cloneSite(
    domain: string,
    body: { domain: string; platform?: string; client?: string; force?: boolean },
  ): Promise<{ site: Site; task: Task }> {
    return this.request('POST', `/api/sites/${segment(domain)}/clone`, { body });
  }

  /** One page of sites (GET /api/sites with limit, cursor and filters). */
  pageSites(query: SiteQuery): Promise<Page<Site>> {
    return this.request('GET', '/api/sites', { query: { ...query } });
  }

  /** Every site (shell completion); pageSites for a list a person reads. */
  listSites(): Promise<Site[]> {
    return everyItem((page) => this.pageSites(page));
  }

  getSite(domain: string): Promise<Site & { packages: Package[] }> {
    return this.request('GET', `/api/sites/${segment(domain)}`);
  }

  /** One page of a site's backups, newest first, with what all of them take. */
  pageBackups(domain: string, query: BackupListQuery): Promise<BackupPage> {
    return this.request('GET', `/api/sites/${segment(domain)}/backups`, { query: { ...query } });
  }

  migrateCheck(domain: string, platform: string): Promise<MigrateCheck> {
    return this.request('GET', `/api/sites/${segment(domain)}/migrate-check`, { query: { platform } });
  }

  /** A site's other names, HTTPS with its certificates, PHP pool. */
  getSiteEdge(domain: string): Promise<SiteEdgeView> {
    return this.request('GET', `/api/sites/${segment(domain)}/edge`);
  }

  addSiteAlias(domain: string, name: string, redirect: boolean): Promise<Task> {
    return this.request('POST', `/api/sites/${segment(domain)}/aliases`, { body: { name, redirect } });
  }

  removeSiteAlias(domain: string, name: string): Promise<Task> {
    return this.request('POST', `/api/sites/${segment(domain)}/aliases/${segment(name)}/delete`);
  }

  setSiteHttps(
    domain: string,
    https: {
      mode: 'letsencrypt' | 'uploaded' | 'off';
      redirect?: boolean;
      hsts?: boolean;
      certificate?: string;
      key?: string;
    },
  ): Promise<Task> {
    return this.request('PUT', `/api/sites/${segment(domain)}/https`, { body: https });
  }

  renewSiteCertificate(domain: string): Promise<Task> {
    return this.request('POST', `/api/sites/${segment(domain)}/https/renew`);
  }

  setSitePhp(domain: string, settings: Record<string, string | null>): Promise<Task> {
    return this.request('PUT', `/api/sites/${segment(domain)}/php`, { body: { settings } });
  }

  /** A site task: verify, backups (a new backup), disable, enable, login-reset, restore, delete. */
  siteAction(
    domain: string,
    action: string,
    options: { body?: unknown; force?: boolean } = {},
  ): Promise<Task> {
    return this.request('POST', `/api/sites/${segment(domain)}/${action}`, {
      body: options.body,
      query: options.force ? { force: 'true' } : undefined,
    });
  }

  /** Every server (shell completion); pageServers for a list a person reads. */
  listServers(): Promise<Server[]> {
    return everyItem((page) => this.pageServers(page));
  }

  /** One page of servers (GET /api/servers with limit, cursor and filters). */
  pageServers(query: ServerListQuery): Promise<Page<Server>> {
    return this.request('GET', '/api/servers', { query: { ...query } });
  }

  getServer(nameOrId: string): Promise<Server> {
    return this.request('GET', `/api/servers/${segment(nameOrId)}`);
  }

  createEnrollmentToken(nameOrId: string): Promise<Enrollment> {
    return this.request('POST', `/api/servers/${segment(nameOrId)}/enrollment-tokens`);
  }

  verifyServer(nameOrId: string): Promise<Task> {
    return this.request('POST', `/api/servers/${segment(nameOrId)}/verify`);
  }

  createTask(input: { type: string; server: string; params?: Record<string, unknown> }): Promise<Task> {
    return this.request('POST', '/api/tasks', { body: input });
  }

  /** One page of tasks, newest first (GET /api/tasks with limit, cursor and filters). */
  pageTasks(query: TaskListQuery): Promise<Page<Task>> {
    return this.request('GET', '/api/tasks', { query: { ...query } });
  }

  getTask(id: string): Promise<Task> {
    return this.request('GET', `/api/tasks/${segment(id)}`);
  }

  getTaskLog(id: string, options: { after?: string; limit?: number } = {}): Promise<LogPage> {
    return this.request('GET', `/api/tasks/${segment(id)}/log`, { query: { ...options } });
  }

  retryTask(id: string): Promise<Task> {
    return this.request('POST', `/api/tasks/${segment(id)}/retry`);
  }

  cancelTask(id: string): Promise<Task> {
    return this.request('POST', `/api/tasks/${segment(id)}/cancel`);
  }

  async listBackupPolicies(): Promise<BackupPolicy[]> {
    return (await this.request<{ items: BackupPolicy[] }>('GET', '/api/backup-policies')).items;
  }

  /** scope: the global default, a client's (by name) or a site's (by domain). */
  putBackupPolicy(scope: PolicyScopeRef, body: BackupPolicyInput): Promise<BackupPolicy> {
    return this.request('PUT', policyPath(scope), { body });
  }

  removeBackupPolicy(scope: PolicyScopeRef): Promise<void> {
    return this.request('DELETE', policyPath(scope));
  }

  /** A site's is `siteBackupSchedule` (what applies to it, from wherever it comes). */
  getBackupPolicy(scope: Exclude<PolicyScopeRef, { scope: 'site' }>): Promise<BackupPolicy> {
    return this.request('GET', policyPath(scope));
  }

  siteBackupSchedule(domain: string): Promise<SiteBackupSchedule> {
    return this.request('GET', `/api/backup-policies/sites/${segment(domain)}`);
  }

  /** One page of projects (GET /api/projects with limit, cursor, q and client). */
  pageProjects(query: ProjectListQuery): Promise<Page<Project>> {
    return this.request('GET', '/api/projects', { query: { ...query } });
  }

  createProject(body: { name: string; client?: string; sanitize?: string }): Promise<Project> {
    return this.request('POST', '/api/projects', { body });
  }

  getProject(name: string): Promise<Project> {
    return this.request('GET', `/api/projects/${segment(name)}`);
  }

  setProjectSanitize(name: string, sanitize: string): Promise<Project> {
    return this.request('PUT', `/api/projects/${segment(name)}/sanitize`, { body: { sanitize } });
  }

  deleteProject(name: string): Promise<{ removed: string }> {
    return this.request('POST', `/api/projects/${segment(name)}/delete`);
  }

  addEnvironment(project: string, body: { name: string; site: string }): Promise<Project> {
    return this.request('POST', `/api/projects/${segment(project)}/environments`, { body });
  }

  removeEnvironment(project: string, env: string): Promise<Project> {
    return this.request('POST', `/api/projects/${segment(project)}/environments/${segment(env)}/delete`);
  }

  /** Data down: from a later environment into an earlier one (task site.sync on the target). */
  syncEnvironments(
    project: string,
    body: { from: string; to: string; db?: boolean; files?: boolean },
  ): Promise<Task> {
    return this.request('POST', `/api/projects/${segment(project)}/sync`, { body });
  }

  /** Code up: a site deploy of the environment's site. */
  deployEnvironment(project: string, body: { to: string; ref: string }): Promise<Task> {
    return this.request('POST', `/api/projects/${segment(project)}/deploy`, { body });
  }

  /** The site's own deploy hooks; null: its platform's. */
  setSiteHooks(domain: string, hooks: string[] | null): Promise<SiteDeployHooks> {
    return this.request('PUT', `/api/sites/${segment(domain)}/hooks`, { body: { hooks } });
  }

  setSiteCron(domain: string, everyMinutes: number): Promise<SiteCron> {
    return this.request('PUT', `/api/sites/${segment(domain)}/cron`, { body: { everyMinutes } });
  }

  storeUsage(): Promise<StoreUsage> {
    return this.request('GET', '/api/store');
  }

  collectStore(): Promise<Task> {
    return this.request('POST', '/api/store/gc');
  }

  async listOffsiteTargets(): Promise<OffsiteTarget[]> {
    return (await this.request<{ items: OffsiteTarget[] }>('GET', '/api/store/offsite')).items;
  }

  addOffsiteTarget(body: OffsiteTargetInput): Promise<OffsiteTarget> {
    return this.request('POST', '/api/store/offsite', { body });
  }

  removeOffsiteTarget(name: string): Promise<void> {
    return this.request('DELETE', `/api/store/offsite/${segment(name)}`);
  }

  /** One page of the audit log (GET /api/audit with limit, cursor, since and target). */
  pageAudit(query: AuditListQuery): Promise<Page<AuditEvent>> {
    return this.request('GET', '/api/audit', { query: { ...query } });
  }

  /** One page of API tokens (GET /api/tokens with limit, cursor and client). */
  pageTokens(query: ApiTokenListQuery): Promise<Page<ApiToken>> {
    return this.request('GET', '/api/tokens', { query: { ...query } });
  }

  revokeToken(id: string): Promise<ApiToken> {
    return this.request('POST', `/api/tokens/${segment(id)}/revoke`);
  }

  async listNotificationTargets(): Promise<NotificationTarget[]> {
    return (await this.request<{ items: NotificationTarget[] }>('GET', '/api/notifications/targets')).items;
  }

  addNotificationTarget(input: NotificationTargetInput): Promise<CreatedNotificationTarget> {
    return this.request('POST', '/api/notifications/targets', { body: input });
  }

  async removeNotificationTarget(id: string): Promise<void> {
    await this.request('DELETE', `/api/notifications/targets/${segment(id)}`);
  }

  /** One page of the notification delivery log (GET /api/notifications/deliveries with limit and cursor). */
  pageNotificationDeliveries(query: NotificationDeliveryListQuery): Promise<Page<NotificationDelivery>> {
    return this.request('GET', '/api/notifications/deliveries', { query: { ...query } });
  }

  /**
   * A GET whose body is a file: resolves with the response once its headers came (within the request
   * timeout); the body then streams for as long as it takes (Ctrl-C still stops it).
   */
  async download(path: string, query: Record<string, string | undefined> = {}): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query)) if (value) url.searchParams.set(key, value);
    const headers: Record<string, string> = { accept: 'application/octet-stream' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const controller = new AbortController();
    this.signal?.addEventListener('abort', () => controller.abort(), { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    let response: Response;
    try {
      response = await this.fetchImpl(url, { method: 'GET', headers, signal: controller.signal });
    } catch (error) {
      if (this.signal?.aborted) throw new CliError('Interrupted', ExitCode.Interrupted);
      if (timedOut) {
        throw new CliError(
          `The Berth master at ${this.baseUrl} did not answer GET ${path} within ${Math.round(this.timeoutMs / 1000)}s`,
          ExitCode.Unreachable,
        );
      }
      throw unreachable(this.baseUrl, error);
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) {
      const text = await response.text();
      throw apiError(response.status, 'GET', path, parseJson(text), text, this.authHint);
    }
    return response;
  }

  async request<T>(
    method: Method,
    path: string,
    options: { body?: unknown; query?: Record<string, string | number | undefined>; auth?: boolean } = {},
  ): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.auth !== false && this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';

    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.signal ? AbortSignal.any([this.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal,
      });
      text = await response.text();
    } catch (error) {
      if (this.signal?.aborted) throw new CliError('Interrupted', ExitCode.Interrupted);
      if (timeout.aborted) {
        throw new CliError(
          `The Berth master at ${this.baseUrl} did not answer ${method} ${path} within ${Math.round(this.timeoutMs / 1000)}s`,
          ExitCode.Unreachable,
          { details: ['Check that the master is running and not overloaded (berth master start).'] },
        );
      }
      throw unreachable(this.baseUrl, error);
    }

    const body = parseJson(text);
    if (!response.ok) throw apiError(response.status, method, path, body, text, this.authHint);
    if (body === undefined) {
      if (response.status === 204 || text === '') return undefined as T;
      throw new CliError(
        `The master at ${this.baseUrl} answered ${method} ${path} with something that is not JSON ` +
          `(is --url pointing at a Berth master?)`,
        ExitCode.Failed,
      );
    }
    return body as T;
  }
}

export function normaliseBaseUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new CliError(
      `"${input}" is not a URL; pass the master's API URL, e.g. http://127.0.0.1:7600`,
      ExitCode.Usage,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`The master URL must start with http:// or https://, got "${input}"`, ExitCode.Usage);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** Which policy: the global default, a client's or a site's. */
export type PolicyScopeRef =
  { scope: 'global' } | { scope: 'client'; target: string } | { scope: 'site'; target: string };

function policyPath(ref: PolicyScopeRef): string {
  if (ref.scope === 'global') return '/api/backup-policies/global';
  return `/api/backup-policies/${ref.scope === 'client' ? 'clients' : 'sites'}/${segment(ref.target)}`;
}

/** Every item of a paged list, 500 a page (a master from before paging answers with all at once). */
async function everyItem<T>(
  fetchPage: (page: PageQuery) => Promise<{ items: T[]; next?: string | null }>,
): Promise<T[]> {
  return (await readPages({ all: true }, fetchPage)).items;
}

function segment(value: string): string {
  return encodeURIComponent(value);
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function unreachable(baseUrl: string, error: unknown): CliError {
  const reason = networkReason(error);
  return new CliError(`Cannot reach the Berth master at ${baseUrl} (${reason})`, ExitCode.Unreachable, {
    details: [
      'Start it with `berth master start`, or point the CLI at a running master with --url URL ' +
        'or the BERTH_URL environment variable.',
    ],
  });
}

/** fetch hides the socket error in `cause`; dig it out so the user sees "connection refused". */
function networkReason(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') {
      switch (code) {
        case 'ECONNREFUSED':
          return 'connection refused';
        case 'ENOTFOUND':
          return 'host not found';
        case 'ECONNRESET':
          return 'connection reset';
        case 'EHOSTUNREACH':
        case 'ENETUNREACH':
          return 'host unreachable';
        default:
          return code;
      }
    }
    current = current.cause;
  }
  return error instanceof Error ? error.message : String(error);
}

function apiError(
  status: number,
  method: Method,
  path: string,
  body: unknown,
  text: string,
  authHint: string | undefined,
): CliError {
  const parsed = isApiErrorBody(body) ? body : undefined;
  const message = parsed
    ? Array.isArray(parsed.message)
      ? parsed.message.join('; ')
      : parsed.message
    : `The master answered ${method} ${path} with HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  const details = parsed ? describeDetails(parsed.details) : [];
  if (status === 401) {
    if (authHint) details.push(authHint);
    details.push(
      'Pass an API token with --token or BERTH_TOKEN; the first `berth master start` prints the admin ' +
        'token and saves it for this CLI.',
    );
  }
  return new CliError(message, status >= 400 && status < 500 ? ExitCode.Usage : ExitCode.Failed, {
    details,
    code: parsed?.code,
  });
}

function isApiErrorBody(body: unknown): body is ApiErrorBody {
  if (typeof body !== 'object' || body === null) return false;
  const message = (body as { message?: unknown }).message;
  return typeof message === 'string' || Array.isArray(message);
}

/** Validation details (field -> problem, or a list of problems) as lines a person can read. */
function describeDetails(details: unknown): string[] {
  if (details === undefined || details === null) return [];
  if (typeof details === 'string') return [details];
  if (Array.isArray(details)) return details.flatMap((item) => describeDetails(item));
  if (typeof details === 'object') {
    const record = details as Record<string, unknown>;
    if (typeof record.field === 'string' && typeof record.message === 'string') {
      return [`${record.field}: ${record.message}`];
    }
    return Object.entries(record).map(
      ([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`,
    );
  }
  return [JSON.stringify(details)];
}
