import type { Logger } from 'pino';
import { StepError, StepErrorCode, type StepFailure } from '../../../shared/src/errors.js';
import type { AgentFrame, AttemptRef, StepResult } from '../../../shared/src/protocol.js';
import { DEBUG_STEP_NAMES, type StepName } from '../../../shared/src/steps.js';
import { ValidationError } from '../../../shared/src/validation.js';
import type { CancelStep__Output } from '../../../generated/proto/berth/agent/v1/CancelStep.js';
import type { ResultAck__Output } from '../../../generated/proto/berth/agent/v1/ResultAck.js';
import type { StepAssign__Output } from '../../../generated/proto/berth/agent/v1/StepAssign.js';
import type { StepProgress } from '../../../generated/proto/berth/agent/v1/StepProgress.js';
import { DEFAULT_KILL_GRACE_MS, describeCommand, type CommandRunner } from '../adapters/process-runner.js';
import type { ServiceSource } from '../adapters/service-detector.js';
import type { HostSettings } from '../config.js';
import type { ArchiveTransfers } from '../link/archive-client.js';
import { AttemptLog, type AttemptLogLimits, DEFAULT_LOG_LIMITS, type LogStream } from './attempt-log.js';
import type { StepRegistry, PreparedStep } from './registry.js';
import { ResultOutbox } from './result-outbox.js';
import type { StepContext } from './step.js';

/** Where the supervisor's frames go: the control stream while it is up. */
export interface FrameSink {
  /** Sends when the stream is up; false (the frame is dropped) when it is not. */
  send(frame: AgentFrame): boolean;
  readonly connected: boolean;
}

/** What steps get to work with. */
export interface StepRuntime {
  hostname: string;
  agentVersion: string;
  runner: CommandRunner;
  services: ServiceSource;
  archives: ArchiveTransfers;
  host: HostSettings;
}

export interface StepSupervisorOptions {
  /** Where assigned step names are looked up (the benchmarks' light agents offer only a few). */
  registry: Pick<StepRegistry, 'get'>;
  sink: FrameSink;
  runtime: StepRuntime;
  logger: Logger;
  killGraceMs?: number;
  flushIntervalMs?: number;
  logLimits?: AttemptLogLimits;
  now?: () => number;
}

interface ActiveAttempt {
  readonly ref: { stepId: string; attemptId: string; epoch: string };
  readonly taskId: string;
  readonly step: string;
  readonly controller: AbortController;
  readonly log: AttemptLog;
  readonly logger: Logger;
  /** Kept in memory for the attempt only; never logged, never part of a result. */
  readonly secrets: Readonly<Record<string, string>>;
  progress?: StepProgress;
  lastProgress?: StepProgress;
  settled?: Promise<void>;
}

type Outcome = { ok: true; output: unknown } | { ok: false; error: unknown };

/**
 * Runs the steps the master assigns: idempotent on the attempt id, validated, cancellable, with
 * a timeout; streams their logs (batched, numbered, re-sent after a reconnect) and progress, and
 * keeps each result until the master acknowledges it.
 */
export class StepSupervisor {
  private readonly running = new Map<string, ActiveAttempt>();
  /** Logs of finished attempts whose result is not acknowledged yet: a reconnect re-sends them. */
  private readonly finishedLogs = new Map<string, { ref: AttemptRef; log: AttemptLog; logger: Logger }>();
  private readonly outbox = new ResultOutbox();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly killGraceMs: number;
  private readonly flushIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: StepSupervisorOptions) {
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.now = options.now ?? Date.now;
  }

  /** Attempts running here, for hello and heartbeats. */
  runningRefs(): AttemptRef[] {
    return [...this.running.values()].map((attempt) => ({ ...attempt.ref }));
  }

  /** Results not acknowledged yet, for hello. */
  unacknowledgedResults(): StepResult[] {
    return this.outbox.unacknowledged();
  }

  handleAssign(assign: StepAssign__Output): void {
    const ref = assign.ref;
    if (!ref?.attemptId) {
      this.options.logger.warn(
        { taskId: assign.taskId, stepId: ref?.stepId, step: assign.step },
        'ignored an assignment without an attempt id',
      );
      return;
    }
    const active = this.running.get(ref.attemptId);
    if (active) {
      adoptNewerEpoch(active.ref, ref.epoch);
      this.options.sink.send({ accepted: { ref: { ...active.ref } } });
      return;
    }
    const finished = this.outbox.find(ref.attemptId);
    if (finished) {
      this.options.sink.send({ result: finished });
      return;
    }

    const attemptRef = { stepId: ref.stepId, attemptId: ref.attemptId, epoch: ref.epoch };
    const logger = this.options.logger.child({
      taskId: assign.taskId,
      stepId: ref.stepId,
      attemptId: ref.attemptId,
      epoch: ref.epoch,
      step: assign.step,
    });
    const step = this.options.registry.get(assign.step);
    if (!step) {
      const isDebug = (DEBUG_STEP_NAMES as readonly string[]).includes(assign.step);
      this.reject(attemptRef, logger, {
        code: StepErrorCode.UnknownStep,
        message: isDebug
          ? `"${assign.step}" is a debug step and this agent was started without debug steps`
          : `this agent (version ${this.options.runtime.agentVersion}) does not know the step "${printableName(assign.step)}"`,
        retryable: false,
      });
      return;
    }
    let params: unknown;
    try {
      params = assign.paramsJson.trim() === '' ? {} : JSON.parse(assign.paramsJson);
    } catch {
      this.reject(attemptRef, logger, {
        code: StepErrorCode.InvalidParams,
        message: `the parameters of ${step.name} are not valid JSON`,
        retryable: false,
      });
      return;
    }
    const prepared = step.prepare(params);
    if (!prepared.ok) {
      this.reject(attemptRef, logger, {
        code: StepErrorCode.InvalidParams,
        message: `invalid parameters for ${step.name}: ${prepared.failure.message}`,
        retryable: false,
      });
      return;
    }
    this.start(attemptRef, assign, step.name, prepared.value, logger);
  }

  handleCancel(cancel: CancelStep__Output): void {
    const attemptId = cancel.ref?.attemptId ?? '';
    const attempt = this.running.get(attemptId);
    if (!attempt) {
      const finished = this.outbox.find(attemptId);
      // Finished before the cancel arrived: the master still waits for the result.
      if (finished) this.options.sink.send({ result: finished });
      return;
    }
    if (isOlderEpoch(cancel.ref?.epoch ?? '', attempt.ref.epoch)) {
      attempt.logger.warn({ staleEpoch: cancel.ref?.epoch }, 'ignored a cancel for an older epoch');
      return;
    }
    const reason = cancel.reason.trim() || 'by the master';
    attempt.logger.info({ reason }, 'cancelling step');
    this.appendLog(attempt, 'agent', `cancel requested: ${reason}`);
    attempt.controller.abort(
      new StepError({ code: StepErrorCode.Cancelled, message: `cancelled: ${reason}`, retryable: false }),
    );
  }

  handleResultAck(ack: ResultAck__Output): void {
    const attemptId = ack.ref?.attemptId ?? '';
    if (this.outbox.acknowledge(attemptId)) this.finishedLogs.delete(attemptId);
  }

  /** After a new connection's welcome: send again the logs and progress the master may have missed. */
  resendAfterReconnect(): void {
    for (const attempt of this.running.values()) {
      attempt.log.rewind();
      attempt.progress = attempt.lastProgress;
    }
    for (const { log } of this.finishedLogs.values()) log.rewind();
    this.flush();
  }

  /** Cancels every running step (the agent is stopping) and waits until they all ended. */
  async stop(reason: string): Promise<void> {
    const waiting: Promise<void>[] = [];
    for (const attempt of this.running.values()) {
      attempt.controller.abort(
        new StepError({ code: StepErrorCode.Cancelled, message: reason, retryable: true }),
      );
      if (attempt.settled) waiting.push(attempt.settled);
    }
    await Promise.all(waiting);
    this.flush();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Sends what is waiting: log batches first, then progress. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.options.sink.connected) return;
    for (const attempt of this.running.values()) {
      this.sendLogs(attempt.ref, attempt.log, attempt.logger);
      if (attempt.progress) {
        this.options.sink.send({ progress: { ...attempt.progress, ref: { ...attempt.ref } } });
        attempt.progress = undefined;
      }
    }
    for (const { ref, log, logger } of this.finishedLogs.values()) this.sendLogs(ref, log, logger);
  }

  private sendLogs(ref: AttemptRef, log: AttemptLog, logger: Logger): void {
    const dropped = log.takeDroppedCount();
    if (dropped > 0) logger.warn({ dropped }, 'log lines were dropped while the master was unreachable');
    for (let batch = log.takeBatch(); batch; batch = log.takeBatch()) {
      if (!this.options.sink.send({ log: { ref: { ...ref }, lines: batch } })) return;
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer || !this.options.sink.connected) return;
    this.flushTimer = setTimeout(() => this.flush(), this.flushIntervalMs);
    this.flushTimer.unref();
  }

  private appendLog(attempt: ActiveAttempt, stream: LogStream, text: string): void {
    attempt.log.append(stream, text, this.now());
    if (attempt.log.unsent() >= (this.options.logLimits ?? DEFAULT_LOG_LIMITS).batchLines) this.flush();
    else this.scheduleFlush();
  }

  /** A step that cannot start (unknown, invalid parameters): a result, no acceptance. */
  private reject(ref: AttemptRef, logger: Logger, failure: StepFailure): void {
    logger.warn({ code: failure.code }, failure.message);
    const result = toResult(ref, { ok: false, error: new StepError(failure) });
    this.outbox.add(result);
    this.options.sink.send({ result });
  }

  private start(
    ref: { stepId: string; attemptId: string; epoch: string },
    assign: StepAssign__Output,
    step: StepName,
    run: PreparedStep,
    logger: Logger,
  ): void {
    const attempt: ActiveAttempt = {
      ref,
      taskId: assign.taskId,
      step,
      controller: new AbortController(),
      log: new AttemptLog(this.options.logLimits),
      logger,
      secrets: Object.freeze({ ...(assign.secrets ?? {}) }),
    };
    this.running.set(ref.attemptId, attempt);
    this.options.sink.send({ accepted: { ref: { ...ref } } });
    logger.info({ timeoutMs: assign.timeoutMs }, 'step started');
    this.appendLog(attempt, 'agent', `${step} started on ${this.options.runtime.hostname}`);
    attempt.settled = this.execute(attempt, run, assign.timeoutMs);
  }

  private async execute(attempt: ActiveAttempt, run: PreparedStep, timeoutMs: number): Promise<void> {
    const started = this.now();
    const { signal } = attempt.controller;
    const timeout =
      timeoutMs > 0
        ? setTimeout(() => {
            this.appendLog(attempt, 'agent', `timed out after ${timeoutMs} ms; stopping the step`);
            attempt.controller.abort(
              new StepError({
                code: StepErrorCode.Timeout,
                message: `${attempt.step} did not finish within ${timeoutMs} ms`,
                retryable: true,
              }),
            );
          }, timeoutMs)
        : undefined;

    const work: Promise<Outcome> = (async () => run(this.context(attempt)))().then(
      (output) => ({ ok: true, output }),
      (error: unknown) => ({ ok: false, error }),
    );
    // A step that ignores its signal must not hold its result forever: past the kill grace, report.
    const overdue = new Promise<Outcome>((resolve) => {
      const onAbort = () => {
        const grace = this.killGraceMs + 2_000;
        setTimeout(() => {
          resolve({
            ok: false,
            error: new StepError({
              ...abortFailure(signal),
              message: `${abortFailure(signal).message} (the step did not stop within ${grace} ms)`,
            }),
          });
        }, grace).unref();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    let outcome = await Promise.race([work, overdue]);
    if (timeout) clearTimeout(timeout);
    if (!outcome.ok && signal.aborted)
      outcome = { ok: false, error: preferAbortReason(outcome.error, signal) };

    const durationMs = this.now() - started;
    if (outcome.ok) {
      attempt.logger.info({ durationMs }, 'step succeeded');
      this.appendLog(attempt, 'agent', `${attempt.step} succeeded in ${durationMs} ms`);
    } else {
      const failure = toFailure(outcome.error);
      attempt.logger.warn(
        { durationMs, code: failure.code, exitCode: failure.exitCode },
        `step failed: ${failure.message}`,
      );
      this.appendLog(
        attempt,
        'agent',
        `${attempt.step} failed after ${durationMs} ms (${failure.code}): ${failure.message}`,
      );
    }

    const result = toResult(attempt.ref, outcome);
    this.flush();
    this.running.delete(attempt.ref.attemptId);
    this.finishedLogs.set(attempt.ref.attemptId, {
      ref: { ...attempt.ref },
      log: attempt.log,
      logger: attempt.logger,
    });
    this.outbox.add(result);
    this.options.sink.send({ result });
  }

  private context(attempt: ActiveAttempt): StepContext {
    const { runtime } = this.options;
    return {
      ref: attempt.ref,
      taskId: attempt.taskId,
      signal: attempt.controller.signal,
      logger: attempt.logger,
      hostname: runtime.hostname,
      agentVersion: runtime.agentVersion,
      services: runtime.services,
      archives: runtime.archives,
      host: runtime.host,
      secrets: attempt.secrets,
      note: (text) => this.appendLog(attempt, 'agent', text),
      progress: (phase, done, total, unit) => {
        // The latest value wins within a phase; the last value of a finished phase is still sent.
        if (attempt.progress && attempt.progress.phase !== phase) this.flush();
        attempt.progress = { phase, done: String(done), total: String(total), unit };
        attempt.lastProgress = attempt.progress;
        this.scheduleFlush();
      },
      exec: (options) => {
        this.appendLog(attempt, 'agent', `$ ${describeCommand(options.file, options.args).slice(1, -1)}`);
        return runtime.runner.run({
          killGraceMs: this.killGraceMs,
          ...options,
          signal: attempt.controller.signal,
          onLine: (stream, line) => this.appendLog(attempt, stream, line),
        });
      },
    };
  }
}

function toResult(ref: AttemptRef, outcome: Outcome): StepResult {
  if (outcome.ok) {
    return { ref: { ...ref }, ok: true, outputJson: JSON.stringify(outcome.output ?? null), error: null };
  }
  const failure = toFailure(outcome.error);
  return {
    ref: { ...ref },
    ok: false,
    outputJson: '',
    error: {
      code: failure.code,
      message: failure.message,
      retryable: failure.retryable,
      exitCode: failure.exitCode ?? 0,
      stderrTail: failure.stderrTail ?? '',
    },
  };
}

function toFailure(error: unknown): StepFailure {
  if (error instanceof StepError) return error.toFailure();
  if (error instanceof ValidationError) {
    return { code: StepErrorCode.InvalidParams, message: error.message, retryable: false };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: StepErrorCode.Internal,
    message: message || 'the step failed without a message',
    retryable: false,
  };
}

function abortFailure(signal: AbortSignal): StepFailure {
  const reason: unknown = signal.reason;
  return reason instanceof StepError
    ? reason.toFailure()
    : { code: StepErrorCode.Cancelled, message: 'cancelled', retryable: false };
}

/** When a step was stopped, its result says why (cancel, timeout), keeping the details it has. */
function preferAbortReason(error: unknown, signal: AbortSignal): StepError {
  const failure = abortFailure(signal);
  if (error instanceof StepError && error.code === failure.code) return error;
  const details = error instanceof StepError ? error : undefined;
  return new StepError({ ...failure, exitCode: details?.exitCode, stderrTail: details?.stderrTail });
}

function isOlderEpoch(candidate: string, current: string): boolean {
  try {
    return BigInt(candidate) < BigInt(current);
  } catch {
    return false;
  }
}

/** The master bumps the epoch when it re-sends an assignment; later messages must carry the new one. */
function adoptNewerEpoch(ref: { epoch: string }, epoch: string): void {
  if (isOlderEpoch(ref.epoch, epoch)) ref.epoch = epoch;
}

function printableName(name: string): string {
  return JSON.stringify(name.slice(0, 64)).slice(1, -1);
}
