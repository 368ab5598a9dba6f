import { readdir, readFile } from 'node:fs/promises';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import type { HostSettings } from '../config.js';
import type { RunOptions, RunResult } from './process-runner.js';

export interface NginxContext {
  readonly host: Pick<HostSettings, 'nginxConf'>;
  exec(options: Omit<RunOptions, 'signal' | 'onLine'>): Promise<RunResult>;
}

/** The server's nginx, through its own binary, always with the agent's main configuration (-c). */
export class Nginx {
  constructor(private readonly context: NginxContext) {}

  /**
   * Runs a configuration change (write, `nginx -t`, reload, or put back) with no other change to
   * this nginx in between, in this agent process. Two changes side by side went wrong both ways: a
   * reload waited on the other step's new workers and returned before nginx had read its own vhost
   * (the probe right after it met a 404), and a file written between another step's test and its
   * reload could make that reload fail.
   */
  async exclusive<T>(change: () => Promise<T>): Promise<T> {
    const conf = this.context.host.nginxConf;
    const previous = changesInFlight.get(conf) ?? Promise.resolve();
    const mine = previous.then(change);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    changesInFlight.set(conf, settled);
    try {
      return await mine;
    } finally {
      if (changesInFlight.get(conf) === settled) changesInFlight.delete(conf);
    }
  }

  /** Whether this nginx runs (a master process in the pid file of its main configuration). */
  async running(): Promise<boolean> {
    return (await nginxMasterPid(this.context.host.nginxConf)) !== undefined;
  }

  /** `nginx -t`: fails with CONFIG_REJECTED and nginx's own words when the configuration is invalid. */
  async test(): Promise<void> {
    try {
      await this.context.exec({
        file: 'nginx',
        args: ['-t', '-q', '-c', this.context.host.nginxConf],
        timeoutMs: 60_000,
      });
    } catch (error) {
      if (error instanceof StepError && error.code === StepErrorCode.CommandFailed) {
        throw new StepError({
          ...error.toFailure(),
          code: StepErrorCode.ConfigRejected,
          message: `nginx refused the configuration: ${lastLines(error.stderrTail)}`,
        });
      }
      throw error;
    }
  }

  /**
   * `nginx -s reload`: a graceful reload (old workers finish their requests). The signal returns
   * before the new configuration serves, so this waits until nginx has new workers and the old ones
   * no longer take connections; otherwise a probe right after a vhost change would still meet the
   * old configuration.
   */
  async reload(options: { mustRenew?: boolean } = {}): Promise<void> {
    const master = await nginxMasterPid(this.context.host.nginxConf);
    const before = master === undefined ? [] : await childPids(master);
    if (master !== undefined && before.length > 0) {
      // What `nginx -s reload` does (SIGHUP to the master of the pid file), without starting a
      // process: a switch sends this to every head at once, and a spawn's time varies the most.
      process.kill(master, 'SIGHUP');
    } else {
      await this.context.exec({
        file: 'nginx',
        args: ['-s', 'reload', '-c', this.context.host.nginxConf],
        timeoutMs: 60_000,
      });
      return;
    }
    const deadline = Date.now() + RELOAD_SETTLE_MS;
    while (Date.now() < deadline) {
      const now = await childPids(master);
      const renewed = now.some((pid) => !before.includes(pid));
      const oldStillAccepting = await Promise.all(
        before.filter((pid) => now.includes(pid)).map(async (pid) => !(await isShuttingDown(pid))),
      );
      if (renewed && !oldStillAccepting.includes(true)) return;
      await new Promise((resolve) => setTimeout(resolve, RELOAD_POLL_MS));
    }
    // nginx keeps its old workers when it cannot load the new configuration (it logs why).
    if (options.mustRenew)
      throw new StepError({
        code: StepErrorCode.ConfigRejected,
        message: `nginx did not take the new configuration within ${RELOAD_SETTLE_MS / 1000} s (see its error log)`,
        retryable: false,
      });
  }
}

/** The last configuration change queued for each nginx (by its main configuration file). */
const changesInFlight = new Map<string, Promise<void>>();

/** How long a reload may take to put its new workers in place before the step goes on anyway. */
const RELOAD_SETTLE_MS = 10_000;
/** How often a reload looks at the workers: the reload's own time is a few milliseconds. */
const RELOAD_POLL_MS = 2;

/**
 * The master's pid, from the `pid` directive of the main configuration (Debian's default
 * otherwise), when that process is an nginx master (a stale pid file names another process).
 */
async function nginxMasterPid(nginxConf: string): Promise<number | undefined> {
  try {
    const conf = await readFile(nginxConf, 'utf8');
    const pidFile = /^\s*pid\s+([^;\s]+)\s*;/m.exec(conf)?.[1] ?? '/run/nginx.pid';
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const command = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return command.startsWith('nginx: master process') ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The processes whose parent is `parent`: the kernel's list of its children when it has one
 * (/proc/<pid>/task/<pid>/children), else a scan of /proc.
 */
async function childPids(parent: number): Promise<number[]> {
  try {
    const listed = await readFile(`/proc/${parent}/task/${parent}/children`, 'utf8');
    return listed.split(' ').filter(Boolean).map(Number);
  } catch {
    // No such file on this kernel: every process's parent, below.
  }
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // The fields after the command name (which may hold spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === parent) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

/** nginx retitles a worker that stopped accepting connections "worker process is shutting down". */
async function isShuttingDown(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('shutting down');
  } catch {
    return true;
  }
}

function lastLines(tail: string | undefined): string {
  const lines = (tail ?? '').trim().split('\n').filter(Boolean);
  return (lines.slice(-2).join(' / ') || 'no message').slice(0, 500);
}
