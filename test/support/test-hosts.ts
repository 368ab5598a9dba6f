import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { privateMariaDb } from '../../agent/src/testing/mariadb.js';
import { packageRoot } from '../../shared/src/package-root.js';

/**
 * Test hosts: Linux network namespaces on one bridge, so that a test runs web servers, database
 * servers and their agents as separate hosts with their own addresses, reached over a real network
 * boundary (../shared/notes/test-hosts.md has the commands this is made of). Each network takes one
 * private /24, 10.231.N.0/24, that nothing else on the machine uses: the bridge has .1 (the root
 * namespace, where the master runs), hosts get .11, .12, ... Nothing is ever sent to any other
 * address. Everything a network starts is stopped by pid, then the namespaces, the bridge and the
 * directories go — `stop()` in a `finally`, so that a failed test leaves nothing behind.
 */

const run = promisify(execFile);

/** What a test host needs, for the error when it is missing (never a silent skip). */
export const TEST_HOSTS_INSTALL_HINT =
  'test hosts need root and iproute2 (apt-get update && apt-get install -y iproute2; ops/test.sh installs it)';

/** The MariaDB server binaries a db host runs. */
export const DB_HOST_INSTALL_HINT = 'install them with: apt-get update && apt-get install -y mariadb-server';

const LOG_DIR = join(packageRoot(), 'test-artifacts', 'logs');

export interface TestHost {
  name: string;
  /** Its network namespace (`ip netns exec <namespace> ...`). */
  namespace: string;
  /** Its address on the bridge. */
  address: string;
  /** A directory of its own (namespaces share the filesystem). */
  dir: string;
  /** Starts a long-running process inside the host; the network stops it by pid. */
  start(label: string, binary: string, args: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** Runs a command inside the host to its end. */
  exec(binary: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }>;
}

export interface TestNetwork {
  /** `10.231.N`: the /24 of this network. */
  prefix: string;
  /** The root namespace's address on the bridge (`<prefix>.1`): what the hosts dial the master at. */
  gateway: string;
  hosts: readonly TestHost[];
  addHost(name: string): Promise<TestHost>;
  /** Registers a clean-up that runs at stop, before the namespaces go (newest first). */
  onStop(action: () => Promise<void>): void;
  stop(): Promise<void>;
}

/** Whether this process can make test hosts; the reason when it cannot. */
export function testHostsProblem(): string | null {
  if (process.getuid?.() !== 0) return `not running as root: ${TEST_HOSTS_INSTALL_HINT}`;
  if (!['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].some((path) => existsSync(path)))
    return `ip is not installed: ${TEST_HOSTS_INSTALL_HINT}`;
  return null;
}

export async function startTestNetwork(label: string): Promise<TestNetwork> {
  const problem = testHostsProblem();
  if (problem) throw new Error(problem);
  const id = randomBytes(3).toString('hex');
  const bridge = `bb${id}`;
  const dir = mkdtempSync(join(tmpdir(), `berth-hosts-${label}-`));
  const hosts: TestHost[] = [];
  const namespaces: string[] = [];
  const children: ChildProcess[] = [];
  const stopActions: Array<() => Promise<void>> = [];
  const prefix = await claimSubnet(bridge);

  const stop = async () => {
    const failures: unknown[] = [];
    for (const action of stopActions.reverse())
      await action().catch((error: unknown) => failures.push(error));
    await Promise.all(children.map(stopChild));
    for (const namespace of namespaces) await run('ip', ['netns', 'del', namespace]).catch(() => undefined);
    await run('ip', ['link', 'del', bridge]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    if (failures.length > 0) throw failures[0];
  };

  const network: TestNetwork = {
    prefix,
    gateway: `${prefix}.1`,
    hosts,
    onStop: (action) => stopActions.push(action),
    stop,
    addHost: async (name) => {
      if (!/^[a-z][a-z0-9]{0,7}$/.test(name))
        throw new Error(`test host name "${name}" must be short [a-z0-9]`);
      const index = hosts.length;
      const namespace = `berth-${id}-${name}`;
      // Interface names are at most 15 characters.
      const outside = `bv${id}${index}`;
      const inside = `bp${id}${index}`;
      const address = `${prefix}.${11 + index}`;
      namespaces.push(namespace);
      await run('ip', ['netns', 'add', namespace]);
      await run('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
      await run('ip', ['link', 'set', inside, 'netns', namespace]);
      await run('ip', ['link', 'set', outside, 'master', bridge]);
      await run('ip', ['link', 'set', outside, 'up']);
      const inNamespace = (args: string[]) => run('ip', ['netns', 'exec', namespace, ...args]);
      await inNamespace(['ip', 'addr', 'add', `${address}/24`, 'dev', inside]);
      await inNamespace(['ip', 'link', 'set', inside, 'up']);
      await inNamespace(['ip', 'link', 'set', 'lo', 'up']);
      const hostDir = join(dir, name);
      mkdirSync(hostDir, { recursive: true });
      const host: TestHost = {
        name,
        namespace,
        address,
        dir: hostDir,
        start: (childLabel, binary, args, env) => {
          mkdirSync(LOG_DIR, { recursive: true });
          const log = createWriteStream(join(LOG_DIR, `${childLabel}.log`), { flags: 'a' });
          const child = spawn('ip', ['netns', 'exec', namespace, binary, ...args], {
            env: { ...process.env, ...env },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          child.stdout.pipe(log);
          child.stderr.pipe(log);
          children.push(child);
          return child;
        },
        exec: (binary, args) => run('ip', ['netns', 'exec', namespace, binary, ...args]),
      };
      hosts.push(host);
      return host;
    },
  };
  return network;
}

/**
 * Takes a /24 for the bridge: a random 10.231.N that no interface on the machine has yet (two test
 * files may make networks at once). The bridge holds the address from then on, so another network
 * made later sees it taken.
 */
async function claimSubnet(bridge: string): Promise<string> {
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const prefix = `10.231.${1 + (randomBytes(1)[0]! % 250)}`;
    const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show']);
    if (stdout.includes(` ${prefix}.`)) continue;
    await run('ip', ['addr', 'add', `${prefix}.1/24`, 'dev', bridge]);
    await run('ip', ['link', 'set', bridge, 'up']);
    return prefix;
  }
  await run('ip', ['link', 'del', bridge]).catch(() => undefined);
  throw new Error('no free 10.231.N.0/24 for a test network after 20 tries');
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface DbHost {
  host: TestHost;
  /** The MariaDB server's port on the host's address. */
  port: number;
  /** The server's unix socket: root administers it through this, as the db host's agent does. */
  socket: string;
  /** A 0600 defaults file for the db agent's admin connection (root over the socket). */
  adminDefaults: string;
  /** One SQL statement as root; tab-separated rows, no headers. */
  sql(statement: string): Promise<string>;
  logs(): string;
}

/**
 * A MariaDB server of the host's own: its own datadir (mariadb-install-db), socket and pid file,
 * listening on the host's address only — the other hosts reach it over TCP, never through
 * the machine's 3306. Root logs in only through the socket (unix_socket authentication). The
 * server is stopped with the network's other processes, by pid.
 */
export async function startDbHost(host: TestHost, options: { binaryLog?: boolean } = {}): Promise<DbHost> {
  if (!existsSync('/usr/sbin/mariadbd') || !existsSync('/usr/bin/mariadb-install-db'))
    throw new Error(`mariadbd or mariadb-install-db is not installed: ${DB_HOST_INSTALL_HINT}`);
  const base = join(host.dir, 'mariadb');
  mkdirSync(base, { recursive: true });
  const own = privateMariaDb(base, {
    network: [`--bind-address=${host.address}`, '--port=3306', '--skip-name-resolve'],
    binaryLog: options.binaryLog ?? false,
  });
  const { socket, errorLog } = own;
  await run('mariadb-install-db', own.installArgs);
  const child = host.start(`${host.name}-mariadbd`, '/usr/sbin/mariadbd', own.serverArgs);
  const logs = () => (existsSync(errorLog) ? readTail(errorLog) : '');
  await waitUntil(
    `mariadbd on ${host.name} to listen on ${host.address}:3306`,
    child,
    async () => (await portAnswers(host.address, 3306)) && existsSync(socket),
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n${logs()}`);
  });
  const adminDefaults = join(base, 'admin.cnf');
  writeFileSync(adminDefaults, `[client]\nsocket=${socket}\nuser=root\n`, { mode: 0o600 });
  return {
    host,
    port: 3306,
    socket,
    adminDefaults,
    logs,
    sql: async (statement) =>
      (
        await run('mariadb', ['--no-defaults', '-S', socket, '-uroot', '-N', '-B', '-e', statement])
      ).stdout.trim(),
  };
}

function readTail(file: string): string {
  return `--- ${file}\n${readFileSync(file, 'utf8').slice(-4000)}`;
}

function portAnswers(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, address);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntil(
  what: string,
  child: ChildProcess,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`gave up waiting for ${what}: it exited (${child.exitCode ?? child.signalCode})`);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
