import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { usersOfRunningPools } from '../../agent/src/adapters/php-fpm.js';
import { readUsers, SITE_USER_COMMENT } from '../../agent/src/adapters/unix-users.js';
import { freePort } from './processes.js';

/**
 * A private nginx and a private PHP-FPM pool for one test file: real servers, isolated from the
 * system's and from other test files (own prefix, config, pid files, logs and socket in a temp dir,
 * a free loopback port). nginx includes `<root>/config/nginx/*.conf` as the system nginx does on a
 * Berth web server, so vhosts written by renderDrupalVhost (or the agent's steps) are served for real.
 */

const run = promisify(execFile);

/** What installs the servers, for the error when one is missing (never a silent skip). */
export const WEB_STACK_INSTALL_HINT =
  'install them with: ops/web-services.sh --packages-only ' +
  '(or: apt-get update && apt-get install -y nginx php-fpm php-mysql php-cli mariadb-client)';

export interface WebStackOptions {
  /** The Berth root: `<root>/config/nginx/*.conf` are included (the directory is created). */
  root: string;
  /**
   * A test host (test-hosts.ts) to run nginx and PHP-FPM in: they start inside its network
   * namespace and nginx listens on its address, port 80. Without it, a free loopback port.
   */
  host?: { namespace: string; address: string };
  /** The loopback port nginx listens on (a free one when left out); not with `host` (port 80). */
  port?: number;
}

export interface WebStack {
  /** The address nginx listens on: 127.0.0.1, or the test host's. */
  address: string;
  /** The port nginx listens on (render vhosts with `listen: <address>:<port>`). */
  port: number;
  /** The port sites' HTTPS listens on, on the same address (the agent's --https-port): 443 on a test host. */
  httpsPort: number;
  /** The PHP-FPM pool's unix socket, for `renderDrupalVhost({ phpFpmSocket })`. */
  phpFpmSocket: string;
  /**
   * PHP-FPM's main configuration (the agent's --php-fpm-conf): it includes the sites' own pools,
   * `<root>/config/php-fpm/*.conf`, as ops/web-services.sh makes the system's do.
   */
  phpFpmConf: string;
  /** The main nginx.conf of this stack. */
  nginxConf: string;
  /** nginx with this stack's prefix, config and error log: append `-t` or `-s reload`. */
  nginxCommand: readonly string[];
  /** The temp directory that holds config, sockets, pids and logs (removed by stop). */
  dir: string;
  /** Tests the config (`nginx -t`), then reloads gracefully and waits for the new workers. */
  reload(): Promise<void>;
  /** `nginx -t`: rejects with nginx's own message when the config (vhosts included) is invalid. */
  test(): Promise<void>;
  /** An HTTP request to this nginx with the given Host header (fetch cannot set Host). */
  request(host: string, path?: string, init?: SiteRequestInit): Promise<SiteResponse>;
  /** nginx's and PHP's error logs, to print when a test fails. */
  logs(): string;
  stop(): Promise<void>;
}

export interface SiteRequestInit {
  method?: string;
  /** Sent as application/x-www-form-urlencoded (a browser's form post). */
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface SiteResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request to address:port with a Host header; redirects are returned, not followed. */
export function requestSite(
  address: string,
  port: number,
  host: string,
  path = '/',
  init: SiteRequestInit = {},
): Promise<SiteResponse> {
  const body = init.form ? new URLSearchParams(init.form).toString() : undefined;
  const headers: Record<string, string> = { host, ...init.headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: address,
        port,
        path,
        method: init.method ?? (body ? 'POST' : 'GET'),
        headers,
        timeout: 30_000,
        // A fresh connection per request: a kept-alive one could be closed under us by a reload.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${host}${path} in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function startWebStack(options: WebStackOptions): Promise<WebStack> {
  const nginxBinary = findBinary(['/usr/sbin/nginx', '/usr/bin/nginx'], 'nginx');
  const fpmBinary = findBinary(phpFpmCandidates(), 'php-fpm');
  for (const shared of ['/etc/nginx/fastcgi_params', '/etc/nginx/mime.types']) {
    if (!existsSync(shared))
      throw new Error(`${shared} is missing (nginx's package installs it): ${WEB_STACK_INSTALL_HINT}`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'berth-web-'));
  const vhostDir = join(options.root, 'config', 'nginx');
  mkdirSync(vhostDir, { recursive: true });
  const poolsDir = join(options.root, 'config', 'php-fpm');
  mkdirSync(poolsDir, { recursive: true });
  // The sites' own pools run as their users, who pass through the root as others do (a temp
  // directory is 0700): o+x on it and on the temp directories above it, never o+r.
  for (let path = options.root; path.startsWith(`${tmpdir()}/`); path = dirname(path))
    chmodSync(path, statSync(path).mode | 0o001);
  for (const temp of ['client_body', 'fastcgi', 'proxy', 'uwsgi', 'scgi'])
    mkdirSync(join(dir, 'temp', temp), { recursive: true });
  copyFileSync('/etc/nginx/fastcgi_params', join(dir, 'fastcgi_params'));
  copyFileSync('/etc/nginx/mime.types', join(dir, 'mime.types'));

  const address = options.host?.address ?? '127.0.0.1';
  const port = options.host ? 80 : (options.port ?? (await freePort()));
  const httpsPort = options.host ? 443 : await freePort();
  // Inside a test host, every server process runs in its network namespace.
  const inHost = (binary: string, args: readonly string[]): [string, string[]] =>
    options.host ? ['ip', ['netns', 'exec', options.host.namespace, binary, ...args]] : [binary, [...args]];
  const isRoot = process.getuid?.() === 0;
  const phpFpmSocket = join(dir, 'php-fpm.sock');
  const nginxConf = join(dir, 'nginx.conf');
  const nginxErrorLog = join(dir, 'nginx-error.log');
  const phpErrorLog = join(dir, 'php-error.log');
  const fpmLog = join(dir, 'php-fpm.log');
  const phpFpmConf = join(dir, 'php-fpm.conf');

  writeFileSync(
    nginxConf,
    `# Private nginx for a Berth test (startWebStack).
daemon off;
master_process on;
worker_processes 1;
${isRoot ? 'user root;' : ''}
pid ${join(dir, 'nginx.pid')};
error_log ${nginxErrorLog} notice;

events {
    worker_connections 256;
}

http {
    include mime.types;
    default_type application/octet-stream;
    access_log ${join(dir, 'nginx-access.log')};
    client_body_temp_path ${join(dir, 'temp', 'client_body')};
    fastcgi_temp_path ${join(dir, 'temp', 'fastcgi')};
    proxy_temp_path ${join(dir, 'temp', 'proxy')};
    uwsgi_temp_path ${join(dir, 'temp', 'uwsgi')};
    scgi_temp_path ${join(dir, 'temp', 'scgi')};
    server_names_hash_bucket_size 128;
    # No keep-alive: after a reload every request reaches a worker with the new config.
    keepalive_timeout 0;

    # Hosts that no vhost names get a 404 here, not some other site.
    server {
        listen ${address}:${port} default_server;
        server_name _;
        return 404;
    }

    include ${vhostDir}/*.conf;
}
`,
  );

  writeFileSync(
    phpFpmConf,
    `; Private PHP-FPM for a Berth test (startWebStack).
[global]
pid = ${join(dir, 'php-fpm.pid')}
error_log = ${fpmLog}
daemonize = no
; A reload (a site's pool written) lets the requests in flight finish, as on a Berth server.
process_control_timeout = 10s

[berth-test]
${isRoot ? 'user = root\ngroup = root' : ''}
listen = ${phpFpmSocket}
listen.mode = 0666
pm = dynamic
pm.max_children = 6
pm.start_servers = 2
pm.min_spare_servers = 1
pm.max_spare_servers = 3
catch_workers_output = yes
php_admin_flag[log_errors] = on
php_admin_value[error_log] = ${phpErrorLog}
php_admin_flag[display_errors] = off
; Tests change settings.php and switch platforms within a second: always revalidate.
php_admin_value[opcache.revalidate_freq] = 0

; The sites' own pools (php.write-pool); as root, the master can run them as their users.
include=${poolsDir}/*.conf
`,
  );

  const nginxCommand = [nginxBinary, '-p', `${dir}/`, '-c', nginxConf, '-e', nginxErrorLog] as const;
  let nginx: ChildProcess | undefined;
  let fpm: ChildProcess | undefined;
  const stack: WebStack = {
    address,
    port,
    httpsPort,
    phpFpmSocket,
    phpFpmConf,
    nginxConf,
    nginxCommand,
    dir,
    test: async () => {
      await run(...inHost(nginxCommand[0], [...nginxCommand.slice(1), '-t', '-q'])).catch(
        (error: unknown) => {
          const stderr = (error as { stderr?: string }).stderr ?? String(error);
          throw new Error(`nginx -t failed:\n${stderr.trim()}`);
        },
      );
    },
    reload: async () => {
      await stack.test();
      const masterPid = nginx!.pid!;
      const before = workerPids(masterPid);
      await run(nginxCommand[0], [...nginxCommand.slice(1), '-s', 'reload']);
      await waitFor(
        'nginx to replace its workers with ones that have the new config',
        () => {
          // Old workers keep accepting until they see the master's QUIT: wait until they are gone.
          const now = workerPids(masterPid);
          return now.length > 0 && now.every((pid) => !before.includes(pid));
        },
        nginx,
      );
    },
    request: (host, path, init) => requestSite(address, port, host, path, init),
    logs: () =>
      [nginxErrorLog, fpmLog, phpErrorLog]
        .filter((file) => existsSync(file))
        .map((file) => `--- ${file}\n${readFileSync(file, 'utf8').slice(-4000)}`)
        .join('\n'),
    stop: async () => {
      if (nginx) await stopChild(nginx);
      if (fpm) await stopChild(fpm);
      await removePoolUsers(poolsDir);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    fpm = startChild(
      // Tests change settings.php and switch platforms and databases within a second: every pool
      // (the sites' own too) revalidates at once. A reload (SIGUSR2) keeps these arguments.
      ...inHost(fpmBinary, [
        '--nodaemonize',
        '--fpm-config',
        phpFpmConf,
        '-d',
        'opcache.revalidate_freq=0',
        ...(isRoot ? ['-R'] : []),
      ]),
    );
    await waitFor('PHP-FPM to listen on its socket', () => socketAnswers(phpFpmSocket), fpm);
    await stack.test();
    nginx = startChild(...inHost(nginxCommand[0], nginxCommand.slice(1)));
    await waitFor(`nginx to listen on ${address}:${port}`, () => portAnswers(address, port), nginx);
  } catch (error) {
    const logs = stack.logs();
    await stack.stop();
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
  return stack;
}

/**
 * The Unix users the agent made for the sites' own pools of this stack (php.write-pool), deleted
 * with it: /etc/passwd outlives every test. A user another running PHP-FPM's pool still runs as
 * (test hosts share /etc/passwd) is left to that one's stack.
 */
async function removePoolUsers(poolsDir: string): Promise<void> {
  const names = existsSync(poolsDir) ? readdirSync(poolsDir).filter((name) => name.endsWith('.conf')) : [];
  if (names.length === 0) return;
  const madeByBerth = new Set(
    (await readUsers()).filter((user) => user.comment === SITE_USER_COMMENT).map((user) => user.name),
  );
  const stillRunning = await usersOfRunningPools();
  for (const name of names) {
    const user = /^user = (\S+)$/m.exec(readFileSync(join(poolsDir, name), 'utf8'))?.[1];
    if (!user || !madeByBerth.has(user) || stillRunning.has(user)) continue;
    madeByBerth.delete(user);
    await run('userdel', [user]).catch(() => undefined);
    await run('groupdel', [user]).catch(() => undefined);
  }
}

function findBinary(candidates: string[], name: string): string {
  const found = candidates.find((path) => existsSync(path));
  if (!found)
    throw new Error(
      `${name} is not installed (looked for ${candidates.join(', ')}): ${WEB_STACK_INSTALL_HINT}`,
    );
  return found;
}

/** Debian names the binary after the PHP version (php-fpm8.2); the newest one wins. */
function phpFpmCandidates(): string[] {
  const versioned = existsSync('/usr/sbin')
    ? readdirSync('/usr/sbin')
        .filter((name) => /^php-fpm\d+\.\d+$/.test(name))
        .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
        .map((name) => join('/usr/sbin', name))
    : [];
  return [...versioned, '/usr/sbin/php-fpm', '/usr/bin/php-fpm'];
}

/** The tail of each server's own output, shown when it exits during start. */
const outputTails = new WeakMap<ChildProcess, string>();

function startChild(binary: string, args: readonly string[]): ChildProcess {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  outputTails.set(child, '');
  const keep = (chunk: Buffer) => {
    outputTails.set(child, ((outputTails.get(child) ?? '') + chunk.toString('utf8')).slice(-4000));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // SIGQUIT is the graceful stop of both nginx and PHP-FPM; SIGKILL if they hang.
  child.kill('SIGQUIT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function workerPids(masterPid: number): number[] {
  try {
    return readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function socketAnswers(path: string): Promise<boolean> {
  return probe(() => connect(path));
}

function portAnswers(address: string, port: number): Promise<boolean> {
  return probe(() => connect(port, address));
}

function probe(open: () => ReturnType<typeof connect>): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = open();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  child?: ChildProcess,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      const output = outputTails.get(child) ?? '';
      throw new Error(
        `gave up waiting for ${what}: the process exited (${child.exitCode ?? child.signalCode})\n${output}`,
      );
    }
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
