/**
 * Error codes shared by the master, the agents and the CLI. A code names what went wrong in a way a
 * program can branch on; the message next to it says it to a person, with what to do about it.
 */
export const StepErrorCode = {
  /** The parameters the master sent do not pass the step's validation. */
  InvalidParams: 'INVALID_PARAMS',
  /** This agent does not know the step (an older agent, or a debug step not enabled). */
  UnknownStep: 'UNKNOWN_STEP',
  /** A command the step ran exited non-zero. */
  CommandFailed: 'COMMAND_FAILED',
  /** The step ran past its timeout and was stopped. */
  Timeout: 'TIMEOUT',
  /** The master asked the agent to stop the step. */
  Cancelled: 'CANCELLED',
  /** A program the step needs is not installed on the server. */
  MissingDependency: 'MISSING_DEPENDENCY',
  /** An archive transfer failed or its checksum did not match. */
  TransferFailed: 'TRANSFER_FAILED',
  /** The agent lost the attempt (it stopped answering, or restarted without it). */
  AgentLost: 'AGENT_LOST',
  /** The server's agent was not connected in time to take the step. */
  AgentUnavailable: 'AGENT_UNAVAILABLE',
  /** Something the step needs is not there (a platform, a site directory, a database). */
  NotFound: 'NOT_FOUND',
  /** The step refused to act because the state on the server is not what it must be (a path outside the root, a directory where a link should be). */
  Refused: 'REFUSED',
  /** An archive holds an entry that could write outside its site directory, or does not match its manifest. */
  UnsafeArchive: 'UNSAFE_ARCHIVE',
  /** The web server refused the new configuration (nginx -t); the previous one is still in place. */
  ConfigRejected: 'CONFIG_REJECTED',
  /** An HTTP probe did not get the expected answer. */
  ProbeFailed: 'PROBE_FAILED',
  /** Anything else; the message and the stderr tail say more. */
  Internal: 'INTERNAL',
} as const;
export type StepErrorCode = (typeof StepErrorCode)[keyof typeof StepErrorCode];

/** What a failed step reports: enough for a person to act and for the engine to decide on a retry. */
export interface StepFailure {
  code: StepErrorCode;
  message: string;
  retryable: boolean;
  exitCode?: number;
  stderrTail?: string;
}

/** A step failure as a throwable, so that step code can fail with `throw`. */
export class StepError extends Error implements StepFailure {
  readonly code: StepErrorCode;
  readonly retryable: boolean;
  readonly exitCode?: number;
  readonly stderrTail?: string;

  constructor(failure: StepFailure) {
    super(failure.message);
    this.name = 'StepError';
    this.code = failure.code;
    this.retryable = failure.retryable;
    this.exitCode = failure.exitCode;
    this.stderrTail = failure.stderrTail;
  }

  toFailure(): StepFailure {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      exitCode: this.exitCode,
      stderrTail: this.stderrTail,
    };
  }
}
