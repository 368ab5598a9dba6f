import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname as osHostname, networkInterfaces } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parseRoles, type ServerRole } from '../../shared/src/server-roles.js';
import { isTimeZone, validateAbsolutePath, validateHostname } from '../../shared/src/validation.js';
import { AgentError, AgentErrorCode } from './errors.js';
import { type EnrollmentToken, parseEnrollmentToken } from './link/enrollment-token.js';

/** What the CLI (`berth agent start`) passes to startAgent. */
export interface AgentOptions {
  /** The master's gRPC address, HOST:PORT (an IPv6 host in brackets: [::1]:7601). */
  master: string;
  /** The enrollment token from `berth server add`; only needed the first time. */
  token?: string;
  /** The name this server reports (hello, CSR, enrollment); defaults to the OS hostname. */
  name?: string;
  /** Where the agent keeps its key, certificates and identity. */
  dataDir: string;
  /** Offer the debug.* steps (tests and benchmarks). */
  debugSteps?: boolean;
  /** How many steps the master may run here at once. */
  slots?: number;
  /** The server's IANA time zone as the master reads its sites' backup windows (default: the host's). */
  timeZone?: string;
  /** Where platforms, sites and their config live (default /var/berth; env BERTH_AGENT_ROOT). */
  root?: string;
  /** The nginx main configuration tested and reloaded (default /etc/nginx/nginx.conf; env BERTH_AGENT_NGINX_CONF). */
  nginxConf?: string;
  /** The PHP-FPM socket vhosts pass PHP to (default: the newest /run/php/php*-fpm.sock; env BERTH_AGENT_PHP_FPM_SOCKET). */
  phpFpmSocket?: string;
  /**
   * The PHP-FPM main configuration tested and reloaded when a site's pool changes; it must include
   * `<root>/config/php-fpm/*.conf` (default: the newest /etc/php/X.Y/fpm/php-fpm.conf; env
   * BERTH_AGENT_PHP_FPM_CONF).
   */
  phpFpmConf?: string;
  /**
   * The port vhosts listen on and probes use (default 80; env BERTH_AGENT_HTTP_PORT), or ADDRESS:PORT
   * (`127.0.0.1:8080`, `[::1]:8080`) to listen on one address only.
   */
  httpPort?: number | string;
  /**
   * The port sites' HTTPS listens on (default 443, on httpPort's address when it names one; env
   * BERTH_AGENT_HTTPS_PORT), or ADDRESS:PORT.
   */
  httpsPort?: number | string;
  /** A my.cnf with a [client] section for the MariaDB admin connection (default: the local socket as root; env BERTH_AGENT_DB_ADMIN_DEFAULTS). */
  dbAdminDefaults?: string;
  /** The user PHP runs as: owns files/ and private/, its group reads the credentials (default www-data when it exists; env BERTH_AGENT_WEB_USER). */
  webUser?: string;
  /**
   * The IP address the other servers reach this one at: a db server's sites connect to it, a web
   * server's database users are granted from it (default: the first non-loopback IPv4 address of
   * this host, else 127.0.0.1; env BERTH_AGENT_ADDRESS).
   */
  address?: string;
  /**
   * What this server offers to sites, `http`, `db` or both, comma-separated (default: what its
   * running services give; env BERTH_AGENT_ROLES): a host with MariaDB installed for something
   * else is not offered as a database server unless it says so.
   */
  roles?: string;
  log?: Logger;
}

/** Where things are on this server and how to reach its services: what the site steps work with. */
export interface HostSettings {
  /** `<root>/platforms/<platform>`, `<root>/sites/<domain>`, `<root>/config/...` */
  readonly root: string;
  readonly nginxConf: string;
  /** Undefined when none was given and none was found; steps that need it say so. */
  readonly phpFpmSocket: string | undefined;
  /** PHP-FPM's main configuration; undefined when none was given and none was found (no site pools then). */
  readonly phpFpmConf: string | undefined;
  /** The php-fpm binary of that configuration (`php-fpmX.Y` of /etc/php/X.Y), for `-t`. */
  readonly phpFpmBinary: string | undefined;
  readonly httpPort: number;
  /** What vhosts `listen` on: the port, or ADDRESS:PORT when an address was given. */
  readonly httpListen: string;
  /** What HTTPS server blocks `listen` on: a port, or ADDRESS:PORT. */
  readonly httpsListen: string;
  /** Where probes connect: the address given, else 127.0.0.1 (without brackets for IPv6). */
  readonly httpProbeAddress: string;
  /** Undefined: connect through the local socket as root. */
  readonly dbAdminDefaults: string | undefined;
  /** Undefined: files keep the agent's owner. */
  readonly webUser: { readonly name: string; readonly uid: number; readonly gid: number } | undefined;
  /** The address the other servers reach this one at (see AgentOptions.address). */
  readonly address: string;
  /** The roles given (see AgentOptions.roles); undefined: what the running services give. */
  readonly roles: readonly ServerRole[] | undefined;
}

/** The agent's configuration, validated once at start and frozen. */
export interface AgentConfig {
  /** HOST:PORT as dialled (brackets kept for IPv6): the first of masterAddresses. */
  readonly masterAddress: string;
  /**
   * Every master it may dial, in the order given (--master A:7601,B:7601): it keeps one stream to
   * one of them and moves to the next when it loses it.
   */
  readonly masterAddresses: readonly string[];
  /** The host part of the first, without brackets: it must be in the master certificate's SANs. */
  readonly masterHost: string;
  readonly masterPort: number;
  readonly token: EnrollmentToken | undefined;
  readonly hostname: string;
  readonly dataDir: string;
  readonly debugSteps: boolean;
  readonly slots: number;
  readonly timeZone: string;
  readonly host: HostSettings;
}

/** The environment variables the loader reads, flag > variable > default. */
export const AGENT_ENV = {
  root: 'BERTH_AGENT_ROOT',
  nginxConf: 'BERTH_AGENT_NGINX_CONF',
  phpFpmSocket: 'BERTH_AGENT_PHP_FPM_SOCKET',
  phpFpmConf: 'BERTH_AGENT_PHP_FPM_CONF',
  httpPort: 'BERTH_AGENT_HTTP_PORT',
  httpsPort: 'BERTH_AGENT_HTTPS_PORT',
  dbAdminDefaults: 'BERTH_AGENT_DB_ADMIN_DEFAULTS',
  webUser: 'BERTH_AGENT_WEB_USER',
  address: 'BERTH_AGENT_ADDRESS',
  roles: 'BERTH_AGENT_ROLES',
} as const;

export const DEFAULT_ROOT = '/var/berth';
export const DEFAULT_NGINX_CONF = '/etc/nginx/nginx.conf';

const MAX_SLOTS = 64;

/** A port, or ADDRESS:PORT with an IPv4 address or a bracketed IPv6 one (--http-port, --https-port). */
const listenPattern = /^(?:((?:\d{1,3}\.){3}\d{1,3})|\[([0-9a-fA-F:]+)\]):(\d{1,5})$|^(\d{1,5})$/;

/**
 * Validates the options (and, for what they leave out, the environment) once at start. The only
 * place of the agent that reads process.env.
 */
export function loadAgentConfig(
  options: AgentOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): AgentConfig {
  const masters = parseMasterAddresses(options.master);
  const { host, port } = masters[0]!;
  const dataDir = options.dataDir?.trim();
  if (!dataDir) {
    throw invalid('a data directory is required (--data-dir), e.g. /var/lib/berth/agent');
  }
  const name = options.name?.trim();
  let hostname: string;
  if (name) {
    const checked = validateHostname('--name', name);
    if (!checked.ok) throw invalid(checked.failure.message);
    hostname = checked.value;
  } else {
    hostname = osHostname();
  }
  const slots = options.slots ?? 1;
  if (!Number.isInteger(slots) || slots < 1 || slots > MAX_SLOTS) {
    throw invalid(`slots must be a whole number from 1 to ${MAX_SLOTS}, got ${String(slots)}`);
  }
  const timeZone = options.timeZone?.trim() || Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!isTimeZone(timeZone)) {
    throw invalid(`--time-zone: "${timeZone}" is not an IANA time zone such as Europe/Paris or UTC`);
  }
  const token = options.token?.trim() ? parseEnrollmentToken(options.token) : undefined;
  return Object.freeze({
    masterAddress: dialled(masters[0]!),
    masterAddresses: [...new Set(masters.map(dialled))],
    masterHost: host,
    masterPort: port,
    token,
    hostname,
    dataDir: isAbsolute(dataDir) ? resolve(dataDir) : resolve(process.cwd(), dataDir),
    debugSteps: options.debugSteps ?? false,
    slots,
    timeZone,
    host: loadHostSettings(options, env),
  });
}

/** The host part of the configuration; also what tests build their step contexts from. */
export function loadHostSettings(
  options: Pick<AgentOptions, keyof typeof AGENT_ENV>,
  env: Readonly<Record<string, string | undefined>> = {},
): HostSettings {
  const pick = (key: keyof typeof AGENT_ENV): string | undefined => {
    const flag = options[key];
    if (flag !== undefined && flag !== '') return String(flag);
    const value = env[AGENT_ENV[key]]?.trim();
    return value || undefined;
  };
  const root = absolutePath('--root', AGENT_ENV.root, pick('root') ?? DEFAULT_ROOT);
  if (root === '/') throw invalid('--root cannot be / : give the directory Berth owns, e.g. /var/berth');
  const nginxConf = absolutePath(
    '--nginx-conf',
    AGENT_ENV.nginxConf,
    pick('nginxConf') ?? DEFAULT_NGINX_CONF,
  );

  const socketOption = pick('phpFpmSocket');
  const phpFpmSocket =
    socketOption !== undefined
      ? absolutePath('--php-fpm-socket', AGENT_ENV.phpFpmSocket, socketOption)
      : detectPhpFpmSocket();
  const fpmConfOption = pick('phpFpmConf');
  const phpFpmConf =
    fpmConfOption !== undefined
      ? absolutePath('--php-fpm-conf', AGENT_ENV.phpFpmConf, fpmConfOption)
      : detectPhpFpmConf();
  const phpFpmBinary = detectPhpFpmBinary(phpFpmConf);

  const listenText = pick('httpPort') ?? '80';
  const listen = listenPattern.exec(listenText);
  const httpPort = Number(listen?.[3] ?? listen?.[4]);
  if (!listen || httpPort < 1 || httpPort > 65535) {
    throw invalid(
      `--http-port (${AGENT_ENV.httpPort}) must be a port from 1 to 65535 or ADDRESS:PORT, got "${listenText}"`,
    );
  }
  const httpListen = listenText;
  const httpProbeAddress = listen[1] ?? listen[2] ?? '127.0.0.1';
  const httpAddress = listen[1] ?? (listen[2] ? `[${listen[2]}]` : undefined);
  const httpsText = pick('httpsPort') ?? (httpAddress ? `${httpAddress}:443` : '443');
  const httpsMatch = listenPattern.exec(httpsText);
  const httpsPort = Number(httpsMatch?.[3] ?? httpsMatch?.[4]);
  if (!httpsMatch || httpsPort < 1 || httpsPort > 65535 || httpsText === httpListen) {
    throw invalid(
      `--https-port (${AGENT_ENV.httpsPort}) must be a port from 1 to 65535 or ADDRESS:PORT other than --http-port's, got "${httpsText}"`,
    );
  }
  const httpsListen = httpsText;

  const defaultsOption = pick('dbAdminDefaults');
  let dbAdminDefaults: string | undefined;
  if (defaultsOption !== undefined) {
    dbAdminDefaults = absolutePath('--db-admin-defaults', AGENT_ENV.dbAdminDefaults, defaultsOption);
    checkPrivateFile(dbAdminDefaults);
  }

  const webUserName = pick('webUser');
  const webUser = webUserName !== undefined ? lookUpUser(webUserName, true) : lookUpUser('www-data', false);

  const addressOption = pick('address');
  if (addressOption !== undefined && isIP(addressOption) === 0) {
    throw invalid(
      `--address (${AGENT_ENV.address}) must be an IP address, got "${addressOption.slice(0, 100)}"`,
    );
  }
  const address = addressOption ?? firstExternalAddress();

  const rolesOption = pick('roles');
  let roles: ServerRole[] | undefined;
  if (rolesOption !== undefined) {
    const parsed = parseRoles(rolesOption);
    if (parsed.unknown.length > 0 || parsed.roles.length === 0) {
      throw invalid(
        `--roles (${AGENT_ENV.roles}) must list http, db or both, comma-separated, got "${rolesOption.slice(0, 100)}"`,
      );
    }
    roles = parsed.roles;
  }

  return Object.freeze({
    root,
    nginxConf,
    phpFpmSocket,
    phpFpmConf,
    phpFpmBinary,
    httpPort,
    httpListen,
    httpsListen,
    httpProbeAddress,
    dbAdminDefaults,
    webUser,
    address,
    roles,
  });
}

/**
 * This host's first non-loopback IPv4 address, else 127.0.0.1: what the other servers reach it at
 * on a host with one network. A host on several gives --address.
 */
function firstExternalAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((entry) => entry.family === 'IPv4' && !entry.internal);
    if (found) return found.address;
  }
  return '127.0.0.1';
}

function absolutePath(flag: string, variable: string, value: string): string {
  const checked = validateAbsolutePath(flag, value);
  if (!checked.ok) throw invalid(`${checked.failure.message} (${flag} or ${variable})`);
  return checked.value;
}

/** The newest PHP's FPM socket under /run/php, as Debian's packages name it. */
function detectPhpFpmSocket(): string | undefined {
  let names: string[];
  try {
    names = readdirSync('/run/php');
  } catch {
    return undefined;
  }
  const sockets = names
    .map((name) => /^php(\d+)\.(\d+)-fpm\.sock$/.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]) || Number(b[2]) - Number(a[2]));
  return sockets[0] ? join('/run/php', sockets[0][0]) : undefined;
}

/** Debian's PHP versions with an FPM, newest first: `8.3`, `8.2` ... */
function phpVersions(names: readonly string[], pattern: RegExp): string[] {
  return names
    .map((name) => pattern.exec(name)?.[1])
    .filter((version): version is string => version !== undefined)
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** The newest PHP's FPM main configuration, as Debian's packages place it. */
function detectPhpFpmConf(): string | undefined {
  for (const version of phpVersions(listDir('/etc/php'), /^(\d+\.\d+)$/)) {
    const conf = join('/etc/php', version, 'fpm', 'php-fpm.conf');
    if (existsSync(conf)) return conf;
  }
  return undefined;
}

/**
 * The php-fpm binary of a configuration: `php-fpmX.Y` for Debian's /etc/php/X.Y/fpm/, else the
 * newest `php-fpmX.Y`, else a plain `php-fpm`.
 */
function detectPhpFpmBinary(conf: string | undefined): string | undefined {
  const version = conf ? /^\/etc\/php\/(\d+\.\d+)\/fpm\//.exec(conf)?.[1] : undefined;
  const candidates = [
    ...(version ? [`/usr/sbin/php-fpm${version}`] : []),
    ...phpVersions(listDir('/usr/sbin'), /^php-fpm(\d+\.\d+)$/).map((found) => `/usr/sbin/php-fpm${found}`),
    '/usr/sbin/php-fpm',
    '/usr/bin/php-fpm',
  ];
  return candidates.find((path) => existsSync(path));
}

/** The admin defaults file holds a password: it must exist and be readable by its owner only. */
function checkPrivateFile(path: string): void {
  let mode: number;
  try {
    accessSync(path, constants.R_OK);
    mode = statSync(path).mode;
  } catch (error) {
    throw invalid(`cannot read the database admin defaults file ${path}: ${(error as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw invalid(
      `the database admin defaults file ${path} can be read by others (mode ${(mode & 0o777).toString(8)}): ` +
        `run \`chmod 600 ${path}\``,
    );
  }
}

function lookUpUser(name: string, required: boolean): { name: string; uid: number; gid: number } | undefined {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) {
    throw invalid(`--web-user "${name.slice(0, 40)}" is not a valid user name`);
  }
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // No passwd file: no such user.
  }
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  if (required) {
    throw invalid(`--web-user ${name} does not exist on this server (${AGENT_ENV.webUser})`);
  }
  return undefined;
}

/** Several masters' addresses, separated by commas (HOST:PORT each). */
export function parseMasterAddresses(input: string | undefined): Array<{ host: string; port: number }> {
  const items = (input ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0) return [parseMasterAddress(input)];
  return items.map((item) => parseMasterAddress(item));
}

function dialled({ host, port }: { host: string; port: number }): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Splits HOST:PORT; accepts DNS names, IPv4 and bracketed IPv6. */
export function parseMasterAddress(input: string | undefined): { host: string; port: number } {
  const value = (input ?? '').trim();
  if (!value)
    throw invalid('the master address is required (--master HOST:PORT), e.g. master.example.com:7601');
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/.exec(value);
  if (!match) {
    throw invalid(
      `the master address "${value}" is not HOST:PORT (e.g. master.example.com:7601, 10.0.0.5:7601, [::1]:7601)`,
    );
  }
  const host = (match[1] ?? match[2] ?? '').toLowerCase();
  const port = Number(match[3]);
  if (port < 1 || port > 65535) throw invalid(`the master port ${port} is not between 1 and 65535`);
  return { host, port };
}

function invalid(message: string): AgentError {
  return new AgentError(AgentErrorCode.ConfigInvalid, message);
}
