/** Exit codes of every berth command; documented in `berth --help`. */
export const ExitCode = {
  Ok: 0,
  /** The task failed or was cancelled, or the master answered with a server error. */
  Failed: 1,
  /** Bad flags or arguments, or the master refused the request as invalid (4xx). */
  Usage: 2,
  /** The master could not be reached. */
  Unreachable: 3,
  /** --timeout passed while waiting (the task goes on on the master); as timeout(1) says it. */
  TimedOut: 124,
  /** Stopped by Ctrl-C while waiting. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error the CLI reports to a person: its message (and details when they help) go to stderr,
 * never a stack trace, and the process exits with `exitCode`.
 */
export class CliError extends Error {
  readonly exitCode: number;
  readonly details: string[];
  /** The master's error code, when the error came from the API. */
  readonly code: string | undefined;

  constructor(message: string, exitCode: number, options: { details?: string[]; code?: string } = {}) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.details = options.details ?? [];
    this.code = options.code;
  }
}

export function usageError(message: string, details: string[] = []): CliError {
  return new CliError(message, ExitCode.Usage, { details });
}
