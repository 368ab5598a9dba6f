import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import { LineSplitter, TailBuffer } from './line-splitter.js';
import type { ProcessLedger } from './process-ledger.js';

export type OutputStream = 'stdout' | 'stderr';

export interface RunOptions {
  /** The program: a name looked up in PATH or an absolute path. */
  file: string;
  /** Arguments, passed as they are (no shell). Never put a secret here: argv is world-readable. */
  args: readonly string[];
  /** Working directory; "/" unless given. */
  cwd?: string;
  /** Added to the minimal environment (PATH, LANG); nothing is inherited from the agent. */
  env?: Readonly<Record<string, string>>;
  /** Written to stdin, then stdin is closed; the way to hand a program a secret. */
  input?: string | Buffer;
  /**
   * Streamed into stdin (with backpressure) instead of `input`. If it fails or closes before its
   * end, the process group is stopped, so that the program never takes a cut-short input as whole.
   */
  stdin?: Readable;
  /**
   * Receives stdout as it comes (with backpressure) instead of the log. It is not ended here: the
   * caller ends it once the run succeeded, or destroys it, so a consumer never sees a failed
   * program's partial output as complete.
   */
  stdout?: Writable;
  signal?: AbortSignal;
  /** Stops the process group after this long (TIMEOUT); none when absent or 0. */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  onLine?: (stream: OutputStream, line: string) => void;
  /** Keep stdout (up to this many bytes) in the result, for programs whose output is parsed. */
  captureStdoutBytes?: number;
  /** Exit codes that are not failures (0 always is). */
  okExitCodes?: readonly number[];
  /** The Debian package that provides `file`, for the MISSING_DEPENDENCY message. */
  debianPackage?: string;
  /** false: stdout is not sent to onLine (it holds a secret: a login link); capture it instead. */
  logStdout?: boolean;
  /** Applied to every logged line and to the stderr tail (a program that prints a password). */
  redact?: (text: string) => string;
  /** Run as this user and group (the web user), instead of the agent's. */
  user?: { uid: number; gid: number };
}

export interface RunResult {
  exitCode: number;
  durationMs: number;
  /** Captured stdout, when captureStdoutBytes was given. */
  stdout: string;
  /** The last STDERR_TAIL_BYTES of stderr. */
  stderrTail: string;
}

export const STDERR_TAIL_BYTES = 4096;
export const DEFAULT_KILL_GRACE_MS = 5_000;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Debian packages of the programs steps run, for a message that says what to install. */
const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  sleep: 'coreutils',
  tar: 'tar',
  gzip: 'gzip',
  nginx: 'nginx',
  apache2: 'apache2',
  apache2ctl: 'apache2',
  php: 'php-cli',
  mariadb: 'mariadb-client',
  'mariadb-dump': 'mariadb-client',
  'mariadb-binlog': 'mariadb-client',
  mysql: 'mariadb-client',
  mysqldump: 'mariadb-client',
  mariadbd: 'mariadb-server',
  mysqld: 'mariadb-server',
  systemctl: 'systemd',
};

/** What steps and detectors need from a process runner (a fake one in unit tests). */
export interface CommandRunner {
  run(options: RunOptions): Promise<RunResult>;
}

/**
 * Runs programs for steps. Each child leads its own process group (detached), so a cancel or a
 * timeout stops it and everything it started: SIGTERM to the group, SIGKILL after a grace period.
 */
export class ProcessRunner implements CommandRunner {
  /** With a ledger, every running group is recorded so that a restarted agent can reap orphans. */
  constructor(private readonly ledger?: ProcessLedger) {}

  async run(options: RunOptions): Promise<RunResult> {
    const command = describeCommand(options.file, options.args);
    const cwd = options.cwd ?? '/';
    if (!existsSync(cwd)) {
      throw new StepError({
        code: StepErrorCode.Internal,
        message: `cannot run ${command}: its working directory ${cwd} does not exist`,
        retryable: false,
      });
    }
    if (options.signal?.aborted) throw abortReason(options.signal, command);

    const started = performance.now();
    const child = execa(options.file, [...options.args], {
      cwd,
      env: { PATH: DEFAULT_PATH, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', ...options.env },
      extendEnv: false,
      detached: true,
      shell: false,
      reject: false,
      buffer: false,
      stripFinalNewline: false,
      input: options.input,
      stdin: options.input === undefined && options.stdin === undefined ? 'ignore' : 'pipe',
      // Kills are ours: to the whole group, not only to the leader as execa's would be.
      forceKillAfterDelay: false,
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    });

    if (child.pid !== undefined) this.ledger?.record(child.pid, command);
    const stderrTail = new TailBuffer(STDERR_TAIL_BYTES);
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stdoutOverflow = false;
    const redact = options.redact ?? ((text: string) => text);
    const logLine = options.onLine;
    const onLine = logLine && ((stream: OutputStream, line: string) => logLine(stream, redact(line)));
    const outSplitter = new LineSplitter((line) => onLine?.('stdout', line));
    const errSplitter = new LineSplitter((line) => onLine?.('stderr', line));
    if (options.stdout) child.stdout?.pipe(options.stdout, { end: false });
    else
      child.stdout?.on('data', (chunk: Buffer) => {
        if (onLine && options.logStdout !== false) outSplitter.push(chunk);
        if (options.captureStdoutBytes !== undefined) {
          stdoutBytes += chunk.length;
          if (stdoutBytes <= options.captureStdoutBytes) stdoutChunks.push(chunk);
          else stdoutOverflow = true;
        }
      });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (onLine) errSplitter.push(chunk);
      stderrTail.push(chunk);
    });

    // Why the group was stopped, if it was; decides the error reported.
    let stopReason: StepError | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const stopGroup = (reason: StepError) => {
      if (stopReason) return;
      stopReason = reason;
      signalGroup(child.pid, 'SIGTERM');
      graceTimer = setTimeout(
        () => signalGroup(child.pid, 'SIGKILL'),
        options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      );
      graceTimer.unref();
    };
    const onAbort = () => stopGroup(abortReason(options.signal, command));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const detachStreams = attachStreams(child, options, command, stopGroup);
    const timeoutTimer =
      options.timeoutMs && options.timeoutMs > 0
        ? setTimeout(
            () =>
              stopGroup(
                new StepError({
                  code: StepErrorCode.Timeout,
                  message: `${command} did not finish within ${options.timeoutMs} ms and was stopped`,
                  retryable: true,
                }),
              ),
            options.timeoutMs,
          )
        : undefined;

    try {
      const result = await child;
      outSplitter.end();
      errSplitter.end();
      const durationMs = Math.round(performance.now() - started);
      const tail = redact(stderrTail.toString());
      if (stopReason) {
        // The leader is gone; anything else in its group gets the rest of the grace period.
        if (!groupAlive(child.pid) && graceTimer) clearTimeout(graceTimer);
        throw new StepError({ ...stopReason.toFailure(), stderrTail: tail || undefined });
      }
      if (result.failed && result.exitCode === undefined && result.signal === undefined) {
        throw spawnFailure(options, command, result.code, result.message ?? '');
      }
      const exitCode = result.exitCode ?? 128 + signalNumber(result.signal);
      if (exitCode !== 0 && !(options.okExitCodes ?? []).includes(exitCode)) {
        const lastLine = (tail.trimEnd().split('\n').pop() ?? '').slice(0, 300);
        throw new StepError({
          code: StepErrorCode.CommandFailed,
          message:
            result.signal !== undefined
              ? `${command} was killed by ${result.signal}`
              : `${command} exited with status ${exitCode}${lastLine ? `: ${lastLine}` : ''}`,
          retryable: false,
          exitCode,
          stderrTail: tail || undefined,
        });
      }
      if (stdoutOverflow) {
        throw new StepError({
          code: StepErrorCode.Internal,
          message: `${command} wrote more than ${options.captureStdoutBytes} bytes to stdout`,
          retryable: false,
        });
      }
      return {
        exitCode,
        durationMs,
        stdout: Buffer.concat(stdoutChunks).toString('utf8'),
        stderrTail: tail,
      };
    } finally {
      if (child.pid !== undefined) this.ledger?.forget(child.pid);
      if (timeoutTimer) clearTimeout(timeoutTimer);
      options.signal?.removeEventListener('abort', onAbort);
      detachStreams();
    }
  }
}

/**
 * Wires the caller's stdin source and stdout destination, if any: a source that fails or closes
 * early, or a destination that fails, stops the process group with a TRANSFER_FAILED reason.
 * Returns the function that unhooks the listeners.
 */
function attachStreams(
  child: { stdin: Writable | null; stdout: Readable | null },
  options: RunOptions,
  command: string,
  stopGroup: (reason: StepError) => void,
): () => void {
  const cleanups: (() => void)[] = [];
  const broken = (what: string, error?: unknown) =>
    stopGroup(
      error instanceof StepError
        ? error
        : new StepError({
            code: StepErrorCode.TransferFailed,
            message: `${command} was stopped: ${what}${error instanceof Error ? `: ${error.message}` : ''}`,
            retryable: true,
          }),
    );
  const source = options.stdin;
  const stdin = child.stdin;
  if (source && stdin) {
    let ended = false;
    const onEnd = () => {
      ended = true;
    };
    const onError = (error: unknown) => broken('its input failed', error);
    const onClose = () => {
      if (!ended) broken('its input was cut short');
    };
    // EPIPE when the program exits before reading everything: its exit status tells why.
    const onStdinError = () => undefined;
    source.on('end', onEnd);
    source.on('error', onError);
    source.on('close', onClose);
    stdin.on('error', onStdinError);
    source.pipe(stdin);
    cleanups.push(() => {
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
      // A late error of the source (the program is gone) must not crash the agent; the caller has
      // its own account of the source's failure.
      source.on('error', () => undefined);
      source.unpipe(stdin);
    });
  }
  const destination = options.stdout;
  if (destination) {
    const onError = (error: unknown) => broken('its output could not be written', error);
    const onClose = () => {
      if (!destination.writableEnded) broken('its output was closed');
    };
    destination.on('error', onError);
    destination.on('close', onClose);
    cleanups.push(() => {
      destination.off('error', onError);
      destination.off('close', onClose);
    });
  }
  return () => cleanups.forEach((cleanup) => cleanup());
}

/** `file arg1 arg2`, for messages; arguments are never secrets (see RunOptions.args). */
export function describeCommand(file: string, args: readonly string[]): string {
  const shown = [basename(file), ...args].map((part) =>
    /^[\w./:=@%+,-]+$/.test(part) ? part : JSON.stringify(part),
  );
  const text = shown.join(' ');
  return `\`${text.length > 200 ? `${text.slice(0, 197)}...` : text}\``;
}

function abortReason(signal: AbortSignal | undefined, command: string): StepError {
  const reason: unknown = signal?.reason;
  if (reason instanceof StepError) return reason;
  return new StepError({
    code: StepErrorCode.Cancelled,
    message: `${command} was cancelled`,
    retryable: false,
  });
}

function spawnFailure(
  options: RunOptions,
  command: string,
  code: string | undefined,
  message: string,
): StepError {
  if (code === 'ENOENT') {
    const name = basename(options.file);
    const pkg = options.debianPackage ?? DEBIAN_PACKAGES[name];
    return new StepError({
      code: StepErrorCode.MissingDependency,
      message:
        `${name} is not installed on this server` +
        (pkg ? `: install it with \`apt-get install ${pkg}\`` : ' (it is not in PATH)'),
      retryable: false,
    });
  }
  return new StepError({
    code: StepErrorCode.Internal,
    message: `cannot run ${command}: ${message.split('\n').pop() ?? message}`,
    retryable: false,
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function signalNumber(signal: string | undefined): number {
  return (signal && SIGNAL_NUMBERS[signal]) || 0;
}
