import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../shared/src/package-root.js';
import type { TestDatabase } from './test-database.js';

/**
 * Masters and agents as real processes (the built `berth` command), on loopback, for the
 * cross-process tests. Their output goes to test-artifacts/logs/ so a failure can be read after.
 */

const BERTH = join(packageRoot(), 'bin', 'berth.js');
const LOG_DIR = join(packageRoot(), 'test-artifacts', 'logs');

/** Timing for tests: short heartbeats and leases so that a lost agent is noticed in seconds. */
export const FAST_LEASES = { BERTH_HEARTBEAT_MS: '300', BERTH_LEASE_MS: '2500' };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class BerthProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private output = '';

  constructor(
    readonly label: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    /** A test host's network namespace to run in (test-hosts.ts); `ip netns exec` execs, same pid. */
    namespace?: string,
  ) {
    mkdirSync(LOG_DIR, { recursive: true });
    const log = createWriteStream(join(LOG_DIR, `${label}.log`), { flags: 'a' });
    const command = [process.execPath, BERTH, ...args];
    const [binary, ...rest] = namespace ? ['ip', 'netns', 'exec', namespace, ...command] : command;
    this.child = spawn(binary!, rest, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      log.write(chunk);
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        log.end(`\n[exit code=${code} signal=${signal}]\n`);
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  text(): string {
    return this.output;
  }

  /** Resident memory in bytes, from /proc. */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return Number(kb) * 1024;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** kill -9: no chance to clean up, as when a machine loses power or the OOM killer strikes. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export interface MasterHandle {
  url: string;
  grpcAddress: string;
  token: string;
  dataDir: string;
  process: BerthProcess;
  api: Api;
  /** Starts the master again on the same data and ports (after stop or kill9). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMaster(
  database: TestDatabase,
  options: {
    label: string;
    env?: NodeJS.ProcessEnv;
    /**
     * A test network's gateway (test-hosts.ts): the agent gateway listens there, and the master's
     * certificate names it, so that agents on the test hosts dial it over the bridge.
     */
    gateway?: string;
    /** Its own data directory instead of the database's (another master on the same PostgreSQL). */
    dataDir?: string;
    /**
     * The admin token of the registry when it has one already (a second master on it shows none):
     * the start is not waited on for a first token.
     */
    adminToken?: string;
  },
): Promise<MasterHandle> {
  const dataDir = options.dataDir ?? database.dataDir;
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const configDir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  const env: NodeJS.ProcessEnv = {
    BERTH_CONFIG_DIR: configDir,
    BERTH_DEBUG_TASKS: '1',
    // A test that counts tasks (or holds a site) would meet the hourly collector's at :17 and the
    // sites' hourly cron; the schedules test turns them on.
    BERTH_STORE_GC_SCHEDULE: 'off',
    BERTH_SITE_CRON: 'off',
    ...FAST_LEASES,
    ...(database.url ? { DATABASE_URL: database.url } : { DATABASE_URL: '' }),
    ...options.env,
  };
  const args = [
    'master',
    'start',
    '--port',
    String(httpPort),
    '--grpc-port',
    String(grpcPort),
    '--data-dir',
    dataDir,
    ...(options.gateway ? ['--grpc-host', options.gateway, '--public-host', options.gateway] : []),
  ];
  const url = `http://127.0.0.1:${httpPort}`;
  const handle: MasterHandle = {
    url,
    grpcAddress: `${options.gateway ?? '127.0.0.1'}:${grpcPort}`,
    token: options.adminToken ?? '',
    dataDir,
    process: new BerthProcess(options.label, args, env),
    api: new Api(url, ''),
    restart: async () => {
      handle.process = new BerthProcess(options.label, args, env);
      await waitForHealth(handle);
    },
    stop: async () => {
      await handle.process.stop();
      rmSync(configDir, { recursive: true, force: true });
    },
  };
  const credentialsFile = join(configDir, 'credentials.json');
  if (options.adminToken !== undefined) {
    try {
      await waitForHealth(handle);
    } catch (error) {
      await handle.stop();
      throw error;
    }
    handle.api = new Api(url, options.adminToken);
    return handle;
  }
  try {
    await waitForHealth(handle);
    // The CLI saves the first admin token just after the API starts answering.
    await eventually('the admin token to be saved', () => Promise.resolve(existsSync(credentialsFile)));
  } catch (error) {
    await handle.stop();
    throw error;
  }
  const credentials = JSON.parse(readFileSync(credentialsFile, 'utf8')) as {
    token: string;
  };
  handle.token = credentials.token;
  handle.api = new Api(url, credentials.token);
  return handle;
}

async function waitForHealth(master: MasterHandle): Promise<void> {
  await eventually(`the master at ${master.url} to answer`, async () => {
    if (!master.process.running) throw new Error(`the master exited:\n${master.process.text().slice(-3000)}`);
    const response = await fetch(`${master.url}/api/health`).catch(() => undefined);
    return response?.ok === true;
  });
}

export interface AgentHandle {
  name: string;
  dataDir: string;
  process: BerthProcess;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Adds the server on the master, then starts its agent with the enrollment token in its environment. */
export async function startAgent(
  master: MasterHandle,
  options: {
    name: string;
    slots?: number;
    label?: string;
    args?: string[];
    /** A test host to run on (test-hosts.ts): the agent runs in its network namespace. */
    host?: { namespace: string };
    /** Every master it may dial (several on one registry); default: this master only. */
    masters?: string[];
  },
): Promise<AgentHandle> {
  const { enrollment } = await master.api.post<{ enrollment: { token: string } }>('/api/servers', {
    name: options.name,
    slots: options.slots ?? 1,
  });
  const dataDir = mkdtempSync(join(tmpdir(), `berth-agent-${options.name}-`));
  const label = options.label ?? `agent-${options.name}`;
  const args = [
    'agent',
    'start',
    '--master',
    (options.masters ?? [master.grpcAddress]).join(','),
    '--name',
    options.name,
    '--data-dir',
    dataDir,
    '--debug-steps',
    ...(options.args ?? []),
  ];
  const handle: AgentHandle = {
    name: options.name,
    dataDir,
    process: new BerthProcess(label, args, { BERTH_AGENT_TOKEN: enrollment.token }, options.host?.namespace),
    restart: async () => {
      // Enrolled already: the certificate in its data directory is all it needs.
      handle.process = new BerthProcess(label, args, { BERTH_AGENT_TOKEN: '' }, options.host?.namespace);
      await waitForConnected(master, options.name, handle.process);
    },
    stop: async () => {
      await handle.process.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitForConnected(master, options.name, handle.process);
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return handle;
}

export async function waitForConnected(
  master: MasterHandle,
  name: string,
  agent?: BerthProcess,
): Promise<void> {
  await eventually(`agent ${name} to connect`, async () => {
    if (agent && !agent.running) throw new Error(`agent ${name} exited:\n${agent.text().slice(-3000)}`);
    const server = await master.api.get<{ connected: boolean }>(`/api/servers/${name}`);
    return server.connected;
  });
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

export class Api {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed as T;
  }
}

export interface TaskSummary {
  id: string;
  state: string;
  error: string | null;
  errorCode: string | null;
  result: Record<string, unknown> | null;
  startedAt: string | null;
  finishedAt: string | null;
  steps?: Array<{
    name: string;
    serverName: string;
    state: string;
    attempts: Array<{ state: string; startedAt: string | null; finishedAt: string | null; epoch: string }>;
  }>;
}

export async function waitForTask(
  master: MasterHandle,
  id: string,
  timeoutMs = 120_000,
): Promise<TaskSummary> {
  return eventually(
    `task ${id} to finish`,
    async () => {
      const task = await master.api.get<TaskSummary>(`/api/tasks/${id}`);
      return ['succeeded', 'failed', 'cancelled'].includes(task.state) ? task : undefined;
    },
    timeoutMs,
  );
}

export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      if (error instanceof Error && /exited:/.test(error.message)) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${lastError instanceof Error ? ` (last error: ${lastError.message})` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
