import { hostname } from 'node:os';
import { resolve } from 'node:path';

/**
 * Everything the master is configured with, validated once at start and frozen. Flags of
 * `berth master start` win over the environment; nothing else in the master reads process.env.
 */
export interface MasterConfig {
  /** Where the embedded database, the CA and the backup store live. */
  readonly dataDir: string;
  /** PostgreSQL URL; absent means the embedded PGlite in dataDir. */
  readonly databaseUrl: string | undefined;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly grpcHost: string;
  readonly grpcPort: number;
  /** Names and addresses agents may dial the master by; all go into its certificate. */
  readonly publicHosts: readonly string[];
  /** The address printed in agent commands: the first --public-host, else 127.0.0.1. */
  readonly advertisedHost: string;
  /** How often agents send heartbeats. */
  readonly heartbeatIntervalMs: number;
  /** An attempt whose agent is silent this long is lost. */
  readonly leaseMs: number;
  /** How long a step waits for its server's agent to connect before the task fails. */
  readonly agentWaitMs: number;
  /** How long an enrollment token stays valid. */
  readonly enrollmentTtlMs: number;
  /** Accept the debug.* task types (tests and benchmarks). */
  readonly debugTasks: boolean;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Base64 key for the registry's secrets; absent means <dataDir>/secret.key. Shared by several masters. */
  readonly secretKey: string | undefined;
  /** Bearer token Prometheus scrapes GET /metrics with (an admin API token works too); absent: none. */
  readonly metricsToken: string | undefined;
  /**
   * How long the server a site moved from keeps its copy and passes its requests on, before the
   * master releases the site from it (BERTH_RELEASE_OLD_AFTER_MS, default 24 h).
   */
  readonly releaseOldAfterMs: number;
  /** How many scheduled tasks (backups) may be queued or running per server at once (default 1). */
  readonly scheduledPerServer: number;
  /**
   * When the store's garbage collector runs: a cron expression in UTC (default hourly, at :17);
   * null (BERTH_STORE_GC_SCHEDULE=off): only when asked for (`berth store gc`).
   */
  readonly storeGcSchedule: string | null;
  /** How old an archive nothing names must be before the collector removes it (default 1 h). */
  readonly storeGcGraceMs: number;
  /** Whether the master runs every enabled site's cron on its period (BERTH_SITE_CRON=off: never). */
  readonly siteCron: boolean;
  /** The SMTP server notification emails go through (BERTH_SMTP_URL, smtp:// or smtps://); absent: no email. */
  readonly smtpUrl: string | undefined;
  /** Their From: address (BERTH_SMTP_FROM, default berth@<this host>). */
  readonly smtpFrom: string;
  /** How often the master looks for failed tasks and due notifications (BERTH_NOTIFY_POLL_MS, default 5 s). */
  readonly notifyPollMs: number;
  /** The waits before each retry of a notification (BERTH_NOTIFY_BACKOFF_MS, comma-separated; one more attempt than waits). */
  readonly notifyBackoffMs: readonly number[];
  /** An agent silent this long is told of as agent.disconnected (BERTH_NOTIFY_AGENT_DOWN_MS, default 5 min). */
  readonly notifyAgentDownMs: number;
  /** How often the master looks for backups to copy to (or remove from) off-site storage (BERTH_OFFSITE_POLL_MS, default 10 s). */
  readonly offsitePollMs: number;
  /** The waits before each retry of an off-site copy (BERTH_OFFSITE_BACKOFF_MS; one more attempt than waits). */
  readonly offsiteBackoffMs: readonly number[];
  /**
   * The ACME directory HTTPS certificates are ordered from (BERTH_ACME_DIRECTORY, default Let's
   * Encrypt's production directory).
   */
  readonly acmeDirectoryUrl: string;
  /** The contact address given to the CA for expiry notices (BERTH_ACME_EMAIL); absent: none. */
  readonly acmeEmail: string | undefined;
  /**
   * A PEM file of a CA the ACME directory's own HTTPS is checked against too (BERTH_ACME_CA_FILE):
   * a private ACME server's (tests use pebble's). Absent: the public roots only.
   */
  readonly acmeCaFile: string | undefined;
  /** A certificate is renewed once it ends within this (BERTH_CERT_RENEW_BEFORE_MS, default 30 days). */
  readonly certRenewBeforeMs: number;
  /** How often the master looks for certificates to renew (BERTH_CERT_CHECK_MS, default 12 h). */
  readonly certCheckMs: number;
  /**
   * This master's name among several on one PostgreSQL (BERTH_MASTER_ID, default the host name): the
   * owner recorded on the tasks it runs. A master started again under the same name takes its tasks
   * back at once (and an older process still running under it stops).
   */
  readonly masterId: string;
  /**
   * How long a master's hold on its tasks (and on the periodic work) lasts without renewal
   * (BERTH_MASTER_LEASE_MS, default 10 s): another master adopts the tasks of one silent this long.
   */
  readonly masterLeaseMs: number;
}

export interface MasterFlags {
  dataDir?: string;
  port?: number;
  grpcPort?: number;
  host?: string;
  grpcHost?: string;
  publicHost?: string[];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_HTTP_PORT = 7600;
export const DEFAULT_GRPC_PORT = 7601;

export function loadMasterConfig(
  flags: MasterFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): MasterConfig {
  const dataDir = resolve(flags.dataDir ?? env.BERTH_DATA_DIR ?? defaultDataDir(env));
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      `DATABASE_URL must be a postgres:// URL, got "${databaseUrl.split('@').pop() ?? ''}"`,
    );
  }
  const extraHosts = flags.publicHost ?? splitList(env.BERTH_PUBLIC_HOSTS);
  const config: MasterConfig = {
    dataDir,
    databaseUrl,
    httpHost: flags.host ?? env.BERTH_HTTP_HOST ?? '127.0.0.1',
    httpPort: flags.port ?? port('BERTH_HTTP_PORT', env.BERTH_HTTP_PORT, DEFAULT_HTTP_PORT),
    grpcHost: flags.grpcHost ?? env.BERTH_GRPC_HOST ?? '0.0.0.0',
    grpcPort: flags.grpcPort ?? port('BERTH_GRPC_PORT', env.BERTH_GRPC_PORT, DEFAULT_GRPC_PORT),
    publicHosts: [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...extraHosts])],
    advertisedHost: extraHosts[0] ?? '127.0.0.1',
    heartbeatIntervalMs: positive('BERTH_HEARTBEAT_MS', env.BERTH_HEARTBEAT_MS, 2_000),
    leaseMs: positive('BERTH_LEASE_MS', env.BERTH_LEASE_MS, 15_000),
    agentWaitMs: positive('BERTH_AGENT_WAIT_MS', env.BERTH_AGENT_WAIT_MS, 10 * 60_000),
    enrollmentTtlMs: positive('BERTH_ENROLLMENT_TTL_MS', env.BERTH_ENROLLMENT_TTL_MS, 24 * 3600_000),
    debugTasks: env.BERTH_DEBUG_TASKS === '1',
    logLevel: logLevel(env.BERTH_LOG_LEVEL),
    secretKey: env.BERTH_SECRET_KEY?.trim() || undefined,
    metricsToken: metricsToken(env.BERTH_METRICS_TOKEN),
    releaseOldAfterMs: positive('BERTH_RELEASE_OLD_AFTER_MS', env.BERTH_RELEASE_OLD_AFTER_MS, 24 * 3600_000),
    scheduledPerServer: positive('BERTH_SCHEDULED_PER_SERVER', env.BERTH_SCHEDULED_PER_SERVER, 1, ''),
    storeGcSchedule: gcSchedule(env.BERTH_STORE_GC_SCHEDULE),
    storeGcGraceMs: positive('BERTH_STORE_GC_GRACE_MS', env.BERTH_STORE_GC_GRACE_MS, 3600_000),
    siteCron: onOff('BERTH_SITE_CRON', env.BERTH_SITE_CRON, true),
    smtpUrl: smtpUrl(env.BERTH_SMTP_URL),
    smtpFrom: env.BERTH_SMTP_FROM?.trim() || `berth@${hostname()}`,
    notifyPollMs: positive('BERTH_NOTIFY_POLL_MS', env.BERTH_NOTIFY_POLL_MS, 5_000),
    notifyBackoffMs: backoff('BERTH_NOTIFY_BACKOFF_MS', env.BERTH_NOTIFY_BACKOFF_MS, NOTIFY_BACKOFF_MS),
    notifyAgentDownMs: positive('BERTH_NOTIFY_AGENT_DOWN_MS', env.BERTH_NOTIFY_AGENT_DOWN_MS, 5 * 60_000),
    offsitePollMs: positive('BERTH_OFFSITE_POLL_MS', env.BERTH_OFFSITE_POLL_MS, 10_000),
    offsiteBackoffMs: backoff('BERTH_OFFSITE_BACKOFF_MS', env.BERTH_OFFSITE_BACKOFF_MS, OFFSITE_BACKOFF_MS),
    acmeDirectoryUrl: acmeDirectory(env.BERTH_ACME_DIRECTORY),
    acmeEmail: acmeEmail(env.BERTH_ACME_EMAIL),
    acmeCaFile: env.BERTH_ACME_CA_FILE?.trim() ? resolve(env.BERTH_ACME_CA_FILE.trim()) : undefined,
    certRenewBeforeMs: positive(
      'BERTH_CERT_RENEW_BEFORE_MS',
      env.BERTH_CERT_RENEW_BEFORE_MS,
      30 * 24 * 3600_000,
    ),
    certCheckMs: positive('BERTH_CERT_CHECK_MS', env.BERTH_CERT_CHECK_MS, 12 * 3600_000),
    masterId: masterId(env.BERTH_MASTER_ID),
    masterLeaseMs: positive('BERTH_MASTER_LEASE_MS', env.BERTH_MASTER_LEASE_MS, 10_000),
  };
  if (config.masterLeaseMs < 1_000) {
    throw new ConfigError(
      `BERTH_MASTER_LEASE_MS (${config.masterLeaseMs}) must be at least 1000: it is renewed three times per lease`,
    );
  }
  if (config.leaseMs < 2 * config.heartbeatIntervalMs) {
    throw new ConfigError(
      `BERTH_LEASE_MS (${config.leaseMs}) must be at least twice BERTH_HEARTBEAT_MS (${config.heartbeatIntervalMs})`,
    );
  }
  return Object.freeze(config);
}

function onOff(name: string, value: string | undefined, fallback: boolean): boolean {
  const text = value?.trim();
  if (!text) return fallback;
  if (text === 'on') return true;
  if (text === 'off') return false;
  throw new ConfigError(`${name} must be "on" or "off", got "${value}"`);
}

/** Let's Encrypt's production directory (RFC 8555 §7.1.1). */
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

function acmeDirectory(value: string | undefined): string {
  const url = value?.trim() || LETS_ENCRYPT_DIRECTORY;
  if (!/^https:\/\/[^/]+/.test(url))
    throw new ConfigError(`BERTH_ACME_DIRECTORY must be an https:// URL of an ACME directory, got "${url}"`);
  return url;
}

function acmeEmail(value: string | undefined): string | undefined {
  const email = value?.trim();
  if (!email) return undefined;
  if (!/^[^\s@:]+@[^\s@:]+\.[^\s@:]+$/.test(email))
    throw new ConfigError(`BERTH_ACME_EMAIL must be an email address, got "${email}"`);
  return email;
}

function gcSchedule(value: string | undefined): string | null {
  const schedule = value?.trim() || '17 * * * *';
  return schedule === 'off' ? null : schedule;
}

function smtpUrl(value: string | undefined): string | undefined {
  const url = value?.trim();
  if (!url) return undefined;
  if (!/^smtps?:\/\/[^/]/.test(url)) {
    throw new ConfigError(`BERTH_SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://mail.example:587`);
  }
  return url;
}

/** 5 s, 30 s, 2 min, 10 min: five attempts over about 13 minutes, then the delivery has failed. */
const NOTIFY_BACKOFF_MS = [5_000, 30_000, 120_000, 600_000];
/**
 * 1 min, 5 min, 30 min, 2 h, 6 h: an object store that is down for a night still gets the copy;
 * six attempts over about nine hours, then the copy has failed (and is told).
 */
const OFFSITE_BACKOFF_MS = [60_000, 300_000, 1_800_000, 7_200_000, 21_600_000];

function backoff(name: string, value: string | undefined, fallback: number[]): number[] {
  const text = value?.trim();
  if (!text) return fallback;
  const waits = text.split(',').map((item) => Number(item.trim()));
  if (waits.some((wait) => !Number.isInteger(wait) || wait < 0)) {
    throw new ConfigError(
      `${name} must be whole numbers of milliseconds separated by commas, got "${value}"`,
    );
  }
  return waits;
}

function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return env.HOME ? `${env.HOME}/.berth/master` : '/var/lib/berth/master';
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function port(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new ConfigError(`${name} must be a port number (0-65535), got "${value}"`);
  }
  return parsed;
}

function positive(
  name: string,
  value: string | undefined,
  fallback: number,
  unit = ' of milliseconds',
): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new ConfigError(`${name} must be a positive whole number${unit}, got "${value}"`);
  }
  return parsed;
}

/** Long enough not to be guessed; one word, as it travels in an Authorization header. */
function metricsToken(value: string | undefined): string | undefined {
  const token = value?.trim();
  if (!token) return undefined;
  if (token.length < 16 || /\s/.test(token)) {
    throw new ConfigError(
      'BERTH_METRICS_TOKEN must be at least 16 characters without spaces (e.g. `openssl rand -hex 32`)',
    );
  }
  return token;
}

/** A name that goes into the registry and the logs as it is: letters, digits, dot, dash, underscore. */
function masterId(value: string | undefined): string {
  const id = value?.trim() || hostname();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(id)) {
    throw new ConfigError(
      `BERTH_MASTER_ID must be 1-63 letters, digits, dots, dashes or underscores, got "${value ?? id}"`,
    );
  }
  return id;
}

function logLevel(value: string | undefined): MasterConfig['logLevel'] {
  if (value === undefined || value === '') return 'info';
  if (value === 'debug' || value === 'info' || value === 'warn' || value === 'error') return value;
  throw new ConfigError(`BERTH_LOG_LEVEL must be debug, info, warn or error, got "${value}"`);
}
