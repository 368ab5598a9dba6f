import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ConfigError } from '../infra/config/master-config.js';
import type { MastersRepository } from './masters.repository.js';

/** The lease of the work that runs on one master at a time: schedules, the lease sweep, releases. */
export const PERIODIC_LEASE = 'periodic';

export interface MasterIdentity {
  /** BERTH_MASTER_ID. */
  id: string;
  /** This process (a restart under the same id is another instance). */
  instance: string;
  /** BERTH_MASTER_LEASE_MS: how long it counts as alive, and holds what it holds, unrenewed. */
  leaseMs: number;
  /**
   * Its host and data directory (MasterEntity.home): a process with the same home, the data
   * directory being locked to one process, is this master started again, and takes its name back
   * even from a holder seen moments ago (killed, then started again at once).
   */
  home: string;
}

/**
 * This master among the others of its registry: it says it is alive every third of a lease, holds
 * the periodic work while no other master does, and records which agents hold their stream here.
 * A process that finds its name taken by a newer one (it was paused past its lease, and another
 * started under the same BERTH_MASTER_ID meanwhile) is told through `replaced` and must stop.
 */
export class MasterPresence {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /** Until when (this process's monotonic clock) it may act as the holder of the periodic work. */
  private leadsUntil = 0;
  private stopped = false;

  constructor(
    private readonly masters: MastersRepository,
    readonly identity: MasterIdentity,
    private readonly logger: Logger,
    private readonly replaced: (reason: string) => void,
  ) {}

  /**
   * Registers this master; refuses (ConfigError) when another process alive holds its name: two
   * masters under one BERTH_MASTER_ID would take each other's tasks.
   */
  async start(): Promise<void> {
    const registration = await this.masters.register(
      { id: this.identity.id, instance: this.identity.instance, home: this.identity.home },
      { leaseMs: this.identity.leaseMs },
    );
    if (!registration.registered) {
      const { held } = registration;
      const ago = Math.max(0, Math.round((Date.now() - new Date(held.seenAt).getTime()) / 1000));
      throw new ConfigError(
        `another master runs as BERTH_MASTER_ID=${this.identity.id} (${held.home}, seen ${ago} s ago` +
          `${held.httpUrl ? `, API at ${held.httpUrl}` : ''}): give each master its own BERTH_MASTER_ID`,
      );
    }
    const { replacedSeenAt } = registration;
    if (replacedSeenAt && Date.now() - replacedSeenAt.getTime() < this.identity.leaseMs) {
      this.logger.info(
        { masterId: this.identity.id, lastSeen: replacedSeenAt.toISOString() },
        'took its name back from the process that ran before it here (killed or crashed moments ago)',
      );
    }
    await this.beat();
    this.timer = setInterval(() => void this.beat(), Math.floor(this.identity.leaseMs / 3));
    this.timer.unref();
  }

  /** Where it listens, for `berth master list`. */
  describe(httpUrl: string, grpcPort: number): Promise<void> {
    return this.masters.describe(this.identity.id, this.identity.instance, httpUrl, grpcPort);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.beating;
    this.leadsUntil = 0;
    await this.masters.leave(this.identity.id, this.identity.instance);
  }

  /** Whether this master holds the periodic work now. */
  leads(): boolean {
    return !this.stopped && performance.now() < this.leadsUntil;
  }

  async alone(): Promise<boolean> {
    return !(await this.masters.othersAlive(this.identity.id, this.identity.leaseMs));
  }

  connectedServerIds(): Promise<string[]> {
    return this.masters.connectedServerIds(this.identity.leaseMs);
  }

  agentConnected(serverId: string): Promise<void> {
    return this.masters.agentConnected(serverId, this.identity.id, this.identity.instance);
  }

  agentDisconnected(serverId: string): Promise<void> {
    return this.masters.agentDisconnected(serverId, this.identity.instance);
  }

  private beat(): Promise<void> {
    this.beating ??= (async () => {
      try {
        const started = performance.now();
        if (!(await this.masters.heartbeat(this.identity.id, this.identity.instance))) {
          this.leadsUntil = 0;
          if (!this.stopped) {
            this.stopped = true;
            clearInterval(this.timer);
            this.replaced(
              `another master process took the name "${this.identity.id}" (BERTH_MASTER_ID): this one stops`,
            );
          }
          return;
        }
        const leads = await this.masters.holdLease(
          PERIODIC_LEASE,
          this.identity.id,
          this.identity.instance,
          this.identity.leaseMs,
        );
        const wasLeading = this.leads();
        // Counted from before the renewal was sent, so this process never believes it longer than
        // the registry does.
        this.leadsUntil = leads ? started + this.identity.leaseMs : 0;
        if (leads !== wasLeading) {
          this.logger.info(
            { masterId: this.identity.id },
            leads ? 'runs the periodic work now' : 'no longer runs the periodic work',
          );
        }
      } catch (error) {
        this.logger.error({ err: error }, "could not renew this master's presence; trying again");
      } finally {
        this.beating = undefined;
      }
    })();
    return this.beating;
  }
}
