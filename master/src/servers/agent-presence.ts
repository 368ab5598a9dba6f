import type { Logger } from 'pino';
import type { AgentPresence } from '../agents/agent-events.js';
import type { ServersRepository } from './servers.repository.js';

/** How often a connected server's "last seen" is written: its heartbeats come every few seconds. */
const LAST_SEEN_WRITE_MS = 30_000;
/** Servers heard from within this are written in one statement. */
const TOUCH_BATCH_MS = 1_000;

/**
 * Keeps the servers registry up to date with its agents: what each found on its server (hello)
 * and when it was last heard from, written at most every 30 s per server and many servers at once.
 */
export class AgentPresenceRecorder implements AgentPresence {
  private readonly lastWritten = new Map<string, number>();
  private due = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly servers: Pick<ServersRepository, 'recordHello' | 'touchMany'>,
    private readonly logger: Logger,
    private readonly writeEveryMs = LAST_SEEN_WRITE_MS,
  ) {}

  async helloFrom(serverId: string, hello: Parameters<AgentPresence['helloFrom']>[1]): Promise<void> {
    this.lastWritten.set(serverId, Date.now());
    await this.servers.recordHello(serverId, hello);
  }

  heardFrom(serverId: string): void {
    if (Date.now() - (this.lastWritten.get(serverId) ?? 0) < this.writeEveryMs) return;
    this.lastWritten.set(serverId, Date.now());
    this.due.add(serverId);
    this.timer ??= setTimeout(() => void this.flush(), TOUCH_BATCH_MS).unref();
  }

  /** Writes what is due now; for shutdown and tests. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    if (this.due.size === 0) return;
    const serverIds = [...this.due];
    this.due = new Set();
    this.writing = this.servers
      .touchMany(serverIds)
      .catch((error: unknown) =>
        this.logger.error(
          { err: error, servers: serverIds.length },
          'could not record when agents were last seen',
        ),
      )
      .finally(() => {
        this.writing = undefined;
      });
    await this.writing;
  }
}
