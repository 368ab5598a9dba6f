import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AgentFrame, AttemptRef, MasterFrame__Output } from '../../../shared/src/protocol.js';
import type { Hello } from '../../../generated/proto/berth/agent/v1/Hello.js';
import type { Welcome__Output } from '../../../generated/proto/berth/agent/v1/Welcome.js';
import type { FrameSink } from '../steps/step-supervisor.js';
import { Backoff, RECONNECT_BACKOFF } from './backoff.js';
import { isServiceError } from './archive-client.js';

export type ControlStream = grpc.ClientDuplexStream<AgentFrame, MasterFrame__Output>;

/** What the connection asks of the rest of the agent. */
export interface ControlHandlers {
  /** The hello of a new connection (services, running attempts, unacknowledged results). */
  hello(): Promise<Hello>;
  /** The master accepted the hello; the stream is up. */
  welcome(welcome: Welcome__Output): void;
  /** assign, cancel, result_ack. */
  frame(frame: MasterFrame__Output): void;
  /** Attempts running now, for heartbeats. */
  running(): AttemptRef[];
}

export interface ControlConnectionOptions {
  open(): ControlStream;
  handlers: ControlHandlers;
  logger: Logger;
  backoff?: Backoff;
  /** How long to wait for the welcome after the hello. */
  welcomeTimeoutMs?: number;
  /** A connection that lasted this long resets the backoff. */
  stableAfterMs?: number;
  /** Heartbeat interval when the welcome gives none. */
  defaultHeartbeatMs?: number;
  /**
   * A stream ended (`welcomed`: it had been up): with several masters, the next one is dialled;
   * true means at once (after a short jitter) instead of after the backoff.
   */
  moveOn?(welcomed: boolean): boolean;
}

/** How long an agent waits before dialling the next master (spread, so agents do not all land at once). */
const FAILOVER_JITTER_MS = 500;

/** Silence from the master for this many heartbeat intervals means the stream is dead. */
export const SILENCE_INTERVALS = 3;

interface SessionEnd {
  reason: string;
  welcomed: boolean;
}

/**
 * The control stream to the master, kept up forever: hello, welcome, heartbeats; a stream that
 * errors, ends or goes silent is dropped and dialled again after an exponential backoff with
 * full jitter. Steps are not its business: it hands the master's frames to its handlers and
 * lets them send while it is up.
 */
export class ControlConnection implements FrameSink {
  private call: ControlStream | undefined;
  private up = false;
  private stopped = false;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly backoff: Backoff;

  constructor(private readonly options: ControlConnectionOptions) {
    this.backoff = options.backoff ?? new Backoff(RECONNECT_BACKOFF);
  }

  get connected(): boolean {
    return this.up;
  }

  send(frame: AgentFrame): boolean {
    const call = this.call;
    if (!this.up || !call || call.writableEnded || call.destroyed) return false;
    call.write(frame);
    return true;
  }

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Ends the stream (half-close, then cancel if the master does not end it) and stops dialling. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    const call = this.call;
    if (call && !call.writableEnded) {
      call.end();
      setTimeout(() => call.cancel(), 1_000).unref();
    }
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    const { logger } = this.options;
    while (!this.stopped) {
      const started = Date.now();
      let end: SessionEnd;
      try {
        const hello = await this.options.handlers.hello();
        // stop() may have come while the hello was being made (service detection takes a moment).
        if (this.stopped) break;
        end = await this.session(hello);
      } catch (error) {
        end = { reason: `cannot start a connection: ${(error as Error).message}`, welcomed: false };
      }
      if (this.stopped) break;
      if (end.welcomed && Date.now() - started >= (this.options.stableAfterMs ?? 30_000))
        this.backoff.reset();
      const failover = this.options.moveOn?.(end.welcomed) ?? false;
      const retryInMs = failover
        ? Math.floor(Math.random() * FAILOVER_JITTER_MS)
        : this.backoff.nextDelayMs();
      logger.warn(
        { reason: end.reason, attempt: this.backoff.attempt, retryInMs },
        end.welcomed
          ? `lost the control stream to the master; reconnecting${failover ? ' to the next master' : ''}`
          : `cannot connect to the master; ${failover ? 'trying the next master' : 'retrying'}`,
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryInMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One stream, from hello to its end; resolves with why it ended. */
  private session(hello: Hello): Promise<SessionEnd> {
    const { handlers, logger } = this.options;
    return new Promise<SessionEnd>((resolve) => {
      const call = this.options.open();
      this.call = call;
      let welcomed = false;
      let ended = false;
      let heartbeat: NodeJS.Timeout | undefined;
      let watchdog: NodeJS.Timeout | undefined;
      let silenceMs = this.options.welcomeTimeoutMs ?? 15_000;

      const finish = (reason: string) => {
        if (ended) return;
        ended = true;
        this.up = false;
        if (this.call === call) this.call = undefined;
        clearInterval(heartbeat);
        clearTimeout(watchdog);
        call.cancel();
        resolve({ reason, welcomed });
      };
      const armWatchdog = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(
          () =>
            finish(
              welcomed ? `the master sent nothing for ${silenceMs} ms` : `no welcome within ${silenceMs} ms`,
            ),
          silenceMs,
        );
      };

      call.on('data', (frame: MasterFrame__Output) => {
        if (ended) return;
        armWatchdog();
        if (!welcomed) {
          if (frame.kind !== 'welcome' || !frame.welcome) {
            finish(
              `the master answered the hello with ${frame.kind ?? 'an empty frame'} instead of a welcome`,
            );
            return;
          }
          welcomed = true;
          const intervalMs = sane(
            frame.welcome.heartbeatIntervalMs,
            this.options.defaultHeartbeatMs ?? 2_000,
          );
          silenceMs = SILENCE_INTERVALS * intervalMs;
          armWatchdog();
          this.up = true;
          heartbeat = setInterval(() => {
            this.send({ heartbeat: { sentAtMs: String(Date.now()), running: handlers.running() } });
          }, intervalMs);
          logger.info(
            {
              serverId: frame.welcome.serverId,
              serverName: frame.welcome.serverName,
              heartbeatMs: intervalMs,
            },
            'connected to the master',
          );
          handlers.welcome(frame.welcome);
          return;
        }
        switch (frame.kind) {
          case 'heartbeatAck':
            return;
          case 'welcome':
            logger.warn('ignored a second welcome on the same stream');
            return;
          case 'assign':
          case 'cancel':
          case 'resultAck':
            handlers.frame(frame);
            return;
          case undefined:
            logger.warn('ignored an empty frame from the master');
            return;
        }
      });
      // Listeners stay attached after finish: the cancel there emits an error that must be handled.
      call.on('error', (error: unknown) => finish(describeStreamError(error)));
      call.on('end', () => finish('the master ended the stream'));
      armWatchdog();
      call.write({ hello });
    });
  }
}

function sane(intervalMs: number, fallback: number): number {
  if (!Number.isInteger(intervalMs) || intervalMs <= 0) return fallback;
  return Math.min(Math.max(intervalMs, 50), 60_000);
}

function describeStreamError(error: unknown): string {
  if (isServiceError(error))
    return `${grpc.status[error.code] ?? error.code}: ${error.details || error.message}`;
  return error instanceof Error ? error.message : String(error);
}
