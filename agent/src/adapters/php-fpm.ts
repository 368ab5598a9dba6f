import { readdir, readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import type { HostSettings } from '../config.js';
import { pathKind } from './files.js';
import type { RunOptions, RunResult } from './process-runner.js';

export interface PhpFpmContext {
  readonly host: Pick<HostSettings, 'phpFpmConf' | 'phpFpmBinary'>;
  exec(options: Omit<RunOptions, 'signal' | 'onLine'>): Promise<RunResult>;
}

/** What a reload waits for besides the master's new start: sockets that answer, sockets gone. */
export interface ReloadWait {
  answers?: readonly string[];
  gone?: readonly string[];
}

/**
 * The server's PHP-FPM, through its main configuration (`--php-fpm-conf`): `php-fpm -t` of that
 * configuration, and a graceful reload of its running master.
 */
export class PhpFpm {
  readonly conf: string;
  private readonly binary: string;

  constructor(private readonly context: PhpFpmContext) {
    const { phpFpmConf, phpFpmBinary } = context.host;
    if (!phpFpmConf || !phpFpmBinary) {
      throw new StepError({
        code: StepErrorCode.MissingDependency,
        message: !phpFpmConf
          ? 'no PHP-FPM main configuration: none was found in /etc/php/*/fpm/; install php-fpm (`apt-get install php-fpm`) or start the agent with --php-fpm-conf'
          : `no php-fpm binary for ${phpFpmConf} (looked for /usr/sbin/php-fpmX.Y): install php-fpm (\`apt-get install php-fpm\`)`,
        retryable: false,
      });
    }
    this.conf = phpFpmConf;
    this.binary = phpFpmBinary;
  }

  /**
   * Runs a change (users, pool files, test, reload, or put back) with no other change to this
   * PHP-FPM in between, in this agent process: a pool written between another step's test and
   * its reload would be loaded untested.
   */
  async exclusive<T>(change: () => Promise<T>): Promise<T> {
    const previous = changesInFlight.get(this.conf) ?? Promise.resolve();
    const mine = previous.then(change);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    changesInFlight.set(this.conf, settled);
    try {
      return await mine;
    } finally {
      if (changesInFlight.get(this.conf) === settled) changesInFlight.delete(this.conf);
    }
  }

  /**
   * `php-fpm -t` of the main configuration (every pool included): fails with CONFIG_REJECTED and
   * PHP-FPM's own words. A reload must never meet a configuration it cannot load: PHP-FPM reloads
   * by executing itself again, and a master that cannot read its new configuration exits, taking
   * every site's PHP with it.
   *
   * As root, with -R (pools may run as root): the running master was started with it if its
   * configuration has a root pool (it would not run otherwise), and Berth's pools never run as root.
   */
  async test(): Promise<void> {
    const asRoot = process.getuid?.() === 0;
    try {
      await this.context.exec({
        file: this.binary,
        args: ['-t', '--fpm-config', this.conf, ...(asRoot ? ['-R'] : [])],
        timeoutMs: 60_000,
        debianPackage: 'php-fpm',
      });
    } catch (error) {
      if (error instanceof StepError && error.code === StepErrorCode.CommandFailed) {
        throw new StepError({
          ...error.toFailure(),
          code: StepErrorCode.ConfigRejected,
          message: `PHP-FPM refused the configuration: ${fpmErrors(error.stderrTail)}`,
        });
      }
      throw error;
    }
  }

  /**
   * A graceful reload: SIGUSR2 to the master of the `pid` file (what `systemctl reload` sends). The
   * master lets its workers finish their requests (up to process_control_timeout), executes itself
   * again with the new configuration, keeps the sockets of the pools still there and writes its pid
   * file again; this waits for that, then for the sockets in `wait`.
   */
  async reload(wait: ReloadWait = {}): Promise<void> {
    const pidFile = await this.pidFile();
    const master = await masterPid(pidFile);
    if (master === undefined) {
      throw new StepError({
        code: StepErrorCode.MissingDependency,
        message: `PHP-FPM is not running (no master process in ${pidFile}): start it (\`systemctl start php-fpm\` or ${this.binary} --fpm-config ${this.conf}), then run the step again`,
        retryable: false,
      });
    }
    const before = (await stat(pidFile, { bigint: true })).mtimeNs;
    process.kill(master, 'SIGUSR2');
    const deadline = Date.now() + RELOAD_TIMEOUT_MS;
    let restarted = false;
    let current = master;
    let goneSince: number | undefined;
    while (Date.now() < deadline) {
      if (!(await isRunning(current))) {
        // A master started with --daemonize (ops/web-services.sh where there is no systemd)
        // executes itself again with that argument, and so forks: the new master has another pid,
        // which it writes to the pid file. Stopped only when the pid file names no master for a while.
        const successor = await masterPid(pidFile);
        if (successor !== undefined && successor !== current) {
          current = successor;
          restarted = true;
          goneSince = undefined;
          continue;
        }
        goneSince ??= Date.now();
        if (Date.now() - goneSince > DAEMON_HANDOVER_MS) {
          throw new StepError({
            code: StepErrorCode.ConfigRejected,
            message: `PHP-FPM stopped while it reloaded ${this.conf} (its error log says why): start it again`,
            retryable: false,
          });
        }
        await new Promise((done) => setTimeout(done, RELOAD_POLL_MS));
        continue;
      }
      goneSince = undefined;
      restarted ||= await stat(pidFile, { bigint: true }).then(
        (now) => now.mtimeNs !== before,
        () => false,
      );
      if (restarted && (await settled(wait))) return;
      await new Promise((done) => setTimeout(done, RELOAD_POLL_MS));
    }
    throw new StepError({
      code: StepErrorCode.Timeout,
      message: restarted
        ? `PHP-FPM reloaded, but ${[...(wait.answers ?? [])].join(', ') || 'the pools'} did not answer within ${RELOAD_TIMEOUT_MS / 1000} s (see PHP-FPM's error log)`
        : `PHP-FPM did not reload within ${RELOAD_TIMEOUT_MS / 1000} s (a request longer than process_control_timeout?)`,
      retryable: false,
    });
  }

  /**
   * Whether the main configuration, or a file it includes (as PHP-FPM does, five levels deep),
   * includes every `*.conf` of `dir`, and only those (a pattern that took `x.conf.old` in too
   * would load a pool twice).
   */
  async includes(dir: string): Promise<boolean> {
    const { patterns } = await configurationFiles(this.conf);
    return patterns.some((pattern) => {
      const matcher = globMatcher(basename(pattern));
      return dirname(pattern) === dir && matcher('example.org.conf') && !matcher('example.org.conf.old');
    });
  }

  /** The master's pid file: the `pid` line of the main configuration. */
  private async pidFile(): Promise<string> {
    const text = await readFile(this.conf, 'utf8').catch((error: Error) => {
      throw new StepError({
        code: StepErrorCode.MissingDependency,
        message: `cannot read PHP-FPM's configuration ${this.conf}: ${error.message}`,
        retryable: false,
      });
    });
    const pid = /^\s*pid\s*=\s*"?([^"\n]+?)"?\s*$/m.exec(text)?.[1];
    if (!pid || !isAbsolute(pid)) {
      throw new StepError({
        code: StepErrorCode.MissingDependency,
        message: `${this.conf} has no absolute "pid = ..." line in [global]: add one (Debian's: pid = /run/php/php8.2-fpm.pid) so that its master can be reloaded`,
        retryable: false,
      });
    }
    return pid;
  }
}

/**
 * The users the pools of every PHP-FPM running on this machine run as (each master names its
 * main configuration in its title). Where a machine holds several Berth roots (test hosts share
 * /etc/passwd), a site's user is still another root's when this one lets it go.
 */
export async function usersOfRunningPools(): Promise<Set<string>> {
  const users = new Set<string>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const title = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const conf = /^php-fpm: master process \((\/[^)]+)\)/.exec(title)?.[1];
    if (!conf) continue;
    for (const file of (await configurationFiles(conf)).files) {
      const text = await readFile(file, 'utf8').catch(() => '');
      for (const match of text.matchAll(/^\s*user\s*=\s*"?([a-z_][a-z0-9_-]*)"?\s*$/gm)) users.add(match[1]!);
    }
  }
  return users;
}

/**
 * A configuration's files as PHP-FPM reads them (itself, then what it includes, five levels
 * deep), and the include patterns met on the way.
 */
async function configurationFiles(conf: string): Promise<{ files: string[]; patterns: string[] }> {
  const files: string[] = [];
  const patterns: string[] = [];
  const visit = async (file: string, depth: number): Promise<void> => {
    if (depth > 5 || files.includes(file)) return;
    files.push(file);
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const match of text.matchAll(/^\s*include\s*=\s*"?([^"\n]+?)"?\s*$/gm)) {
      const pattern = isAbsolute(match[1]!) ? match[1]! : resolve(dirname(file), match[1]!);
      patterns.push(pattern);
      if (/[*?[]/.test(dirname(pattern))) continue;
      const matcher = globMatcher(basename(pattern));
      for (const name of (await readdir(dirname(pattern)).catch(() => [] as string[])).sort()) {
        if (matcher(name)) await visit(join(dirname(pattern), name), depth + 1);
      }
    }
  };
  await visit(conf, 0);
  return { files, patterns };
}

/** Whether a unix socket takes connections now. */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

async function settled(wait: ReloadWait): Promise<boolean> {
  for (const path of wait.answers ?? []) if (!(await socketAnswers(path))) return false;
  for (const path of wait.gone ?? []) if ((await pathKind(path)) !== 'missing') return false;
  return true;
}

/** The last configuration change queued for each PHP-FPM (by its main configuration file). */
const changesInFlight = new Map<string, Promise<void>>();

/** A reload waits for requests in flight, up to process_control_timeout (ops sets 10 s). */
const RELOAD_TIMEOUT_MS = 60_000;
const RELOAD_POLL_MS = 10;
/** How long a daemonized master's successor may take to write its pid file before PHP-FPM counts as stopped. */
const DAEMON_HANDOVER_MS = 5_000;

async function masterPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    // A stale pid file names another process, or none.
    const command = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return command.startsWith('php-fpm: master process') ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie: while it executes itself again its title is its argv for a moment. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X', 'x'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

/** A shell glob of one path part (`*`, `?`, `[...]`) as a test of a name; no leading dot for `*`. */
function globMatcher(glob: string): (name: string) => boolean {
  let source = '';
  for (let index = 0; index < glob.length; index += 1) {
    const character = glob[index]!;
    if (character === '*') source += '[^/]*';
    else if (character === '?') source += '[^/]';
    else if (character === '[') {
      const end = glob.indexOf(']', index + 1);
      if (end === -1) source += '\\[';
      else {
        source += `[${glob
          .slice(index + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        index = end;
      }
    } else source += character.replace(/[.+^${}()|\\]/g, (special) => `\\${special}`);
  }
  const pattern = new RegExp(`^${source}$`);
  return (name) => !(name.startsWith('.') && !glob.startsWith('.')) && pattern.test(name);
}

/** PHP-FPM's own errors, without the time stamps and the lines that only say that it failed. */
function fpmErrors(tail: string | undefined): string {
  const errors = (tail ?? '')
    .split('\n')
    .map((line) => line.replace(/^\[[^\]]*\]\s*/, '').trim())
    .filter((line) => line.startsWith('ERROR:'))
    .map((line) => line.replace(/^ERROR:\s*/, ''))
    .filter(
      (line) =>
        !/^(Unable to include|failed to load configuration file|FPM initialization failed)/.test(line),
    );
  return (errors.join(' / ') || (tail ?? '').trim().split('\n').slice(-2).join(' / ') || 'no message').slice(
    0,
    500,
  );
}
