import type { Logger } from 'pino';

/** What one agent's latest heartbeat asks of the registry. */
export interface HeartbeatWrite {
  serverId: string;
  /** The attempts the agent says it runs (ids already checked to be UUIDs). */
  running: string[];
}

/**
 * Heartbeats written together. Every connected agent sends one every couple of seconds; one lease
 * renewal statement per heartbeat was the master's largest fixed cost per agent (500 idle agents:
 * 250 statements a second, a tenth of a core in the master and as much in PostgreSQL). The
 * heartbeats that arrive within `delayMs` of each other are written in one go, a server's latest
 * heartbeat replacing an earlier one still waiting. Nothing waits for the write: a renewal is late
 * by at most `delayMs` plus one statement, well inside a lease (at least two heartbeat intervals).
 */
export class HeartbeatBatch {
  private pending = new Map<string, HeartbeatWrite>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly write: (batch: HeartbeatWrite[]) => Promise<void>,
    private readonly delayMs: number,
    private readonly logger: Logger,
  ) {}

  add(heartbeat: HeartbeatWrite): void {
    this.pending.set(heartbeat.serverId, heartbeat);
    this.schedule();
  }

  /** Writes what is waiting now (and waits for a write in progress); for shutdown and tests. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.writing = this.write(batch)
      .catch((error: unknown) =>
        this.logger.error(
          { err: error, servers: batch.length },
          'could not renew the leases of a batch of heartbeats; the next heartbeats will',
        ),
      )
      .finally(() => {
        this.writing = undefined;
        if (this.pending.size > 0) this.schedule();
      });
    await this.writing;
  }

  private schedule(): void {
    if (this.timer || this.writing) return;
    this.timer = setTimeout(() => void this.flush(), this.delayMs);
    this.timer.unref();
  }
}
