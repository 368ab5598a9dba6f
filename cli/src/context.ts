import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { type Env, resolveConnection } from './credentials.js';
import type { TerminalStream } from './output/progress.js';
import type { AgentModule, MasterModule } from './runtime-modules.js';

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
}

export interface GlobalOptions {
  url?: string;
  token?: string;
}

/** What every command's action gets: output, environment, the interrupt signal, the API client. */
export class CliContext {
  /** The code runCli returns; actions set it when they do not end with 0. */
  exitCode = 0;
  /** --json was given: errors are reported as one JSON object on stderr. */
  jsonErrors = false;
  readonly now: () => number;
  readonly pollIntervalMs: number;

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

  /** Machine-readable output: JSON on stdout and nothing else. */
  json(value: unknown): void {
    this.io.stdout.write(JSON.stringify(value, null, 2) + '\n');
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
