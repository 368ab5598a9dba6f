import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * Signals between the masters of one registry (a step to dispatch, a step settled, a log line for
 * a follower). Best effort and at most once: every receiver also finds the truth in the database,
 * and after a gap in delivery it is told to look again (the `resync` handler).
 */
export interface SignalChannel {
  /** This process, as the sender of its signals: receivers skip their own. */
  readonly instance: string;
  send(kind: string, body: unknown): void;
  /** Handles every signal of a kind sent by another master. */
  on(kind: string, handler: (body: unknown) => void): void;
  /** Called when signals may have been missed (the listening connection was lost and is back). */
  onResync(handler: () => void): void;
  close(): Promise<void>;
}

/** PostgreSQL's NOTIFY payload limit is 8000 bytes; what is sent stays below it. */
export const SIGNAL_MAX_BYTES = 7_900;

const CHANNEL = 'berth_signals';
const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 5_000;

/** One master alone (the embedded database): nobody to tell. */
export class LocalSignalChannel implements SignalChannel {
  readonly instance = randomUUID();
  send(): void {}
  on(): void {}
  onResync(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Signals over PostgreSQL's LISTEN/NOTIFY on one connection of its own (a pooled connection would
 * go back to the pool and stop listening). A lost connection is reopened with a growing wait; once
 * back, receivers are told to resync.
 */
export class PostgresSignalChannel implements SignalChannel {
  readonly instance = randomUUID();
  private readonly handlers = new Map<string, Array<(body: unknown) => void>>();
  private readonly resyncs: Array<() => void> = [];
  private client: pg.Client | undefined;
  private ready: Promise<void> | undefined;
  private closed = false;
  private retryMs = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  static async open(url: string, logger: Logger): Promise<PostgresSignalChannel> {
    const channel = new PostgresSignalChannel(url, logger);
    await channel.connect();
    return channel;
  }

  send(kind: string, body: unknown): void {
    const payload = JSON.stringify({ from: this.instance, kind, body });
    if (Buffer.byteLength(payload) > SIGNAL_MAX_BYTES) {
      this.logger.error({ kind, bytes: Buffer.byteLength(payload) }, 'a signal too long to send was dropped');
      return;
    }
    const client = this.client;
    if (!client) return;
    client.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]).catch((error: unknown) => {
      this.logger.warn({ err: error, kind }, 'could not signal the other masters');
    });
  }

  on(kind: string, handler: (body: unknown) => void): void {
    const list = this.handlers.get(kind) ?? [];
    list.push(handler);
    this.handlers.set(kind, list);
  }

  onResync(handler: () => void): void {
    this.resyncs.push(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    await this.ready?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => this.receive(message.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('the connection ended')));
    this.ready = (async () => {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    })();
    await this.ready;
    this.client = client;
    this.retryMs = RECONNECT_MIN_MS;
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    this.logger.warn({ err: error }, 'lost the connection that hears the other masters; reopening it');
    void client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => {
          this.logger.info('hearing the other masters again');
          for (const resync of this.resyncs) resync();
        },
        (error: unknown) => {
          this.logger.warn({ err: error, retryInMs: this.retryMs }, 'could not reopen the signal connection');
          this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.reconnectTimer.unref();
  }

  private receive(payload: string | undefined): void {
    if (!payload) return;
    let signal: { from?: string; kind?: string; body?: unknown };
    try {
      signal = JSON.parse(payload) as typeof signal;
    } catch {
      this.logger.warn('ignored a signal that is not JSON');
      return;
    }
    if (signal.from === this.instance || typeof signal.kind !== 'string') return;
    for (const handler of this.handlers.get(signal.kind) ?? []) {
      try {
        handler(signal.body);
      } catch (error) {
        this.logger.error({ err: error, kind: signal.kind }, 'handling a signal failed');
      }
    }
  }
}
