import type { Logger } from 'pino';
import type { StepName, StepOutput, StepParams } from '../../../shared/src/steps.js';
import type { Validated } from '../../../shared/src/validation.js';
import type { RunOptions, RunResult } from '../adapters/process-runner.js';
import type { HostSettings } from '../config.js';
import type { ServiceSource } from '../adapters/service-detector.js';
import type { ArchiveTransfers } from '../link/archive-client.js';

/** The attempt a step runs as; every message about it carries this. */
export interface AttemptIdentity {
  readonly stepId: string;
  readonly attemptId: string;
  readonly epoch: string;
}

/** Everything a step may use: its side effects go through these, nothing else. */
export interface StepContext {
  readonly ref: AttemptIdentity;
  readonly taskId: string;
  /** Aborted on cancel or timeout; its reason is the StepError to report. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly hostname: string;
  readonly agentVersion: string;
  readonly services: ServiceSource;
  readonly archives: ArchiveTransfers;
  /** Where platforms and sites live on this server and how to reach its services. */
  readonly host: HostSettings;
  /**
   * Secrets the master resolved for this attempt (StepAssign.secrets). Never put one in argv, a
   * log line, an error message or the output: hand it to a program on stdin or in a 0600 file.
   */
  readonly secrets: Readonly<Record<string, string>>;
  /** A line in the task log from the agent itself (stream "agent"). Never a secret. */
  note(text: string): void;
  /** Reports progress; sent at most every ~100 ms, the latest value wins. */
  progress(phase: string, done: number, total: number, unit: string): void;
  /** Runs a program as part of the step: its output goes to the task log, cancel stops it. */
  exec(options: Omit<RunOptions, 'signal' | 'onLine'>): Promise<RunResult>;
}

/** One step of the vocabulary: strict parameter validation, then the work. */
export interface StepHandler<S extends StepName> {
  readonly name: S;
  parseParams(input: unknown): Validated<StepParams<S>>;
  run(params: StepParams<S>, context: StepContext): Promise<StepOutput<S>>;
}
