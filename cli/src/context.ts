import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { CliError, ExitCode } from './errors.js';
import { type Env, resolveConnection } from './credentials.js';
import type { TerminalStream } from './output/progress.js';
import { renderOutput, renderRecord, type OutputChoice } from './output/structured.js';
import type { AgentModule, MasterModule } from './runtime-modules.js';

/** The help of a destructive command's --yes. */
export const YES_HELP = 'go on without asking (off a terminal, where nobody can be asked, it is required)';

/** The signals the CLI reacts to; `process` in real use, an EventEmitter in tests. */
export interface SignalSource {
  on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  off(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

/** Everything the CLI touches outside itself, so that tests can run it in-process. */
export interface CliIo {
  stdout: TerminalStream;
  stderr: TerminalStream;
  env: Env;
  /** Ctrl-C and SIGTERM; absent means none are handled. */
  signals?: SignalSource;
  /** Called on a second Ctrl-C when the first did not stop the command quickly enough. */
  forceExit?: (code: number) => void;
  now?: () => number;
  /** How often a waiting command polls the master; 400 ms unless a test wants it faster. */
  pollIntervalMs?: number;
  fetch?: typeof fetch;
  /** Stand-ins for the master and agent entry points (tests); the real ones load on demand. */
  modules?: { master?: () => Promise<MasterModule>; agent?: () => Promise<AgentModule> };
  /**
   * A person at a terminal, to ask before a command destroys something (CliContext.confirm);
   * absent when stdin is not a terminal (scripts, pipes, CI): such commands then need --yes.
   */
  terminal?: { ask(question: string): Promise<string> };
}

export interface GlobalOptions {
  url?: string;
  token?: string;
}

/** What every command's action gets: output, environment, the interrupt signal, the API client. */
export class CliContext {
  /** The code runCli returns; actions set it when they do not end with 0. */
  exitCode = 0;
  /** --json (or --format json or yaml) was given: errors are reported as one JSON object on stderr. */
  jsonErrors = false;
  /** --format and --fields (prepareOutput); no format: the command prints its own text. */
  output: OutputChoice = { format: undefined, fields: undefined };
  readonly now: () => number;
  readonly pollIntervalMs: number;
  /** --timeout: how long a command waits for a task, at most; undefined: until it ends. */
  timeoutMs: number | undefined;

  constructor(
    readonly io: CliIo,
    /** Aborted by Ctrl-C or SIGTERM. */
    readonly interrupt: AbortSignal,
  ) {
    this.now = io.now ?? Date.now;
    this.pollIntervalMs = io.pollIntervalMs ?? 400;
  }

  get env(): Env {
    return this.io.env;
  }

  out(text = ''): void {
    this.io.stdout.write(text + '\n');
  }

  err(text = ''): void {
    this.io.stderr.write(text + '\n');
  }

  /**
   * What a command prints with --json, --format or --fields: JSON, YAML or a table of the value on
   * stdout, and nothing else there.
   */
  printData(value: unknown): void {
    this.io.stdout.write(renderOutput(value, this.output));
  }

  /**
   * One record of a stream (a log line): one line of JSON, or a YAML document. `--format table`
   * cannot stream (its columns are aligned over every row): the caller collects and uses printData.
   */
  printRecord(value: unknown): void {
    const format = this.output.format === 'yaml' ? 'yaml' : 'json';
    this.io.stdout.write(renderRecord(value, { ...this.output, format }));
  }

  /**
   * Before a command that destroys something: goes on with --yes; asks a person at a terminal
   * (anything but y or yes leaves everything as it was); refuses off a terminal, where nobody can
   * answer, saying to add --yes.
   */
  async confirm(what: string, options: { yes?: boolean }): Promise<void> {
    if (options.yes) return;
    const terminal = this.io.terminal;
    if (!terminal) {
      throw new CliError(
        `${what}: not done without --yes when nobody can be asked (stdin is not a terminal)`,
        ExitCode.Usage,
      );
    }
    const answer = (await terminal.ask(`${what}. Go on? [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes')
      throw new CliError('Not confirmed: nothing was done.', ExitCode.Failed);
  }

  /** An API client for the master named by --url/--token, BERTH_URL/BERTH_TOKEN or the saved credentials. */
  async client(command: Command, options: { timeoutMs?: number } = {}): Promise<ApiClient> {
    const globals = command.optsWithGlobals<GlobalOptions>();
    const connection = await resolveConnection({ url: globals.url, token: globals.token }, this.env);
    return new ApiClient({
      baseUrl: connection.url,
      token: connection.token,
      authHint: connection.savedTokenSkippedFor
        ? `The saved token is for ${connection.savedTokenSkippedFor} and is not sent to another master.`
        : undefined,
      signal: this.interrupt,
      fetch: this.io.fetch,
      timeoutMs: options.timeoutMs,
    });
  }
}
