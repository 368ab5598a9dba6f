import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../shared/src/package-root.js';
import type {
  LightAgentCommand,
  LightAgentReport,
  LightAgentSpec,
} from '../../agent/src/testing/light-agent.js';
import { eventually, type MasterHandle } from '../../test/support/processes.js';

/**
 * Fleets of LIGHT agents for the control-plane benchmarks (agent/src/testing/light-agent.ts): many
 * server identities per process, each enrolled with its own token and holding its own mTLS Connect
 * stream, answering debug.noop with the real agent's supervisor. Compiled code from dist/, as the
 * real agents in the benchmarks run.
 */

const PROCESS_SCRIPT = join(packageRoot(), 'dist', 'agent', 'src', 'testing', 'light-agent-process.js');
const LOG_DIR = join(packageRoot(), 'test-artifacts', 'logs');

export interface LightAgentFleetOptions {
  /** Log files and server names start with it: `<prefix><n>`. */
  prefix: string;
  /** Light agents per process. */
  perProcess?: number;
  /** Enrollments in flight per process. */
  enrollConcurrency?: number;
  /** How long every agent of a batch has to show as connected on the master. */
  connectTimeoutMs?: number;
  /** Several masters on one registry: every agent is given all of them (default: this master only). */
  masters?: string[];
}

class LightAgentProcess {
  readonly child: ChildProcess;
  count = 0;
  /** Why the process cannot be trusted any more (it exited, an agent failed); undefined while fine. */
  broken: string | undefined;
  private readonly listeners = new Set<(report: LightAgentReport) => void>();

  constructor(label: string) {
    mkdirSync(LOG_DIR, { recursive: true });
    const log = createWriteStream(join(LOG_DIR, `${label}.log`), { flags: 'a' });
    this.child = fork(PROCESS_SCRIPT, [], { execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child.stdout!.pipe(log, { end: false });
    this.child.stderr!.pipe(log, { end: false });
    this.child.on('message', (report: LightAgentReport) => {
      if (report.kind === 'failed') this.broken ??= `light agent ${report.name} failed: ${report.message}`;
      for (const listener of this.listeners) listener(report);
    });
    this.child.on('exit', (code, signal) => {
      this.broken ??= `light-agent process ${this.child.pid} exited (code ${code}, signal ${signal}); see ${label}.log`;
      log.end(`\n[exit code=${code} signal=${signal}]\n`);
      for (const listener of this.listeners) listener({ kind: 'stopped' });
    });
  }

  /** Sends a command and resolves with the first report that `done` accepts; rejects once broken. */
  request(command: LightAgentCommand, done: (report: LightAgentReport) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const listener = (report: LightAgentReport) => {
        if (done(report)) {
          this.listeners.delete(listener);
          resolve();
        } else if (this.broken) {
          this.listeners.delete(listener);
          reject(new Error(this.broken));
        }
      };
      this.listeners.add(listener);
      this.child.send(command);
    });
  }

  rssBytes(): number {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return 0;
    return rssOf(this.child.pid!);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    if (this.child.connected) this.child.send({ kind: 'stop' } satisfies LightAgentCommand);
    else this.child.kill('SIGTERM');
    await exited;
    clearTimeout(kill);
  }
}

export class LightAgentFleet {
  readonly names: string[] = [];
  private readonly processes: LightAgentProcess[] = [];
  private readonly perProcess: number;

  constructor(
    private readonly master: MasterHandle,
    private readonly options: LightAgentFleetOptions,
  ) {
    if (!existsSync(PROCESS_SCRIPT)) {
      throw new Error(`${PROCESS_SCRIPT} is missing: run \`npm run build\` first (npm run bench does)`);
    }
    this.perProcess = options.perProcess ?? 50;
  }

  get processCount(): number {
    return this.processes.length;
  }

  /**
   * Adds `count` light agents: a server each on the master, enrolled and connected. Resolves once
   * the master lists every agent of the fleet as connected; throws, naming them, when some never do.
   */
  async add(count: number): Promise<void> {
    const specs: LightAgentSpec[] = [];
    const names = Array.from(
      { length: count },
      (_, index) => `${this.options.prefix}${this.names.length + index + 1}`,
    );
    for (let offset = 0; offset < names.length; offset += 10) {
      const batch = await Promise.all(
        names.slice(offset, offset + 10).map(async (name) => {
          const { enrollment } = await this.master.api.post<{ enrollment: { token: string } }>(
            '/api/servers',
            {
              name,
              slots: 1,
            },
          );
          return { name, token: enrollment.token };
        }),
      );
      specs.push(...batch);
    }
    this.names.push(...names);

    const starts: Promise<void>[] = [];
    while (specs.length > 0) {
      let target = this.processes.at(-1);
      if (!target || target.count >= this.perProcess) {
        target = new LightAgentProcess(`${this.options.prefix}-process${this.processes.length + 1}`);
        this.processes.push(target);
      }
      const batch = specs.splice(0, this.perProcess - target.count);
      target.count += batch.length;
      starts.push(
        target.request(
          {
            kind: 'start',
            master: (this.options.masters ?? [this.master.grpcAddress]).join(','),
            agents: batch,
            enrollConcurrency: this.options.enrollConcurrency ?? 4,
          },
          (report) => report.kind === 'started',
        ),
      );
    }
    await Promise.all(starts);
    await this.waitUntilConnected();
  }

  /** Throws when a process died or an agent failed, or the master does not list them all as connected. */
  async assertHealthy(): Promise<void> {
    const broken = this.processes.map((process) => process.broken).filter(Boolean);
    if (broken.length > 0) throw new Error(`light agents broke: ${broken.join('; ')}`);
    const missing = await this.disconnected();
    if (missing.length > 0) throw new Error(`${describeMissing(missing)} not connected to the master`);
  }

  /** The resident memory of all light-agent processes together. */
  rssBytes(): number {
    return this.processes.reduce((sum, process) => sum + process.rssBytes(), 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((process) => process.stop()));
  }

  private async waitUntilConnected(): Promise<void> {
    let missing: string[] = this.names;
    try {
      await eventually(
        `${this.names.length} light agents to connect`,
        async () => {
          const broken = this.processes.find((process) => process.broken)?.broken;
          // "exited:" makes eventually() give up at once.
          if (broken) throw new Error(`light agents exited: ${broken}`);
          missing = await this.disconnected();
          return missing.length === 0;
        },
        this.options.connectTimeoutMs ?? 180_000,
        250,
      );
    } catch (error) {
      throw new Error(`${describeMissing(missing)} never connected: ${(error as Error).message}`);
    }
  }

  private async disconnected(): Promise<string[]> {
    const { items } = await this.master.api.get<{ items: Array<{ name: string; connected: boolean }> }>(
      '/api/servers',
    );
    const connected = new Set(items.filter((server) => server.connected).map((server) => server.name));
    return this.names.filter((name) => !connected.has(name));
  }
}

function describeMissing(names: string[]): string {
  const shown = names.slice(0, 10).join(', ');
  return `${names.length} light agent${names.length === 1 ? '' : 's'} (${shown}${names.length > 10 ? ', …' : ''})`;
}

/** Resident memory in bytes, from /proc. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}
