import type { DataSource } from 'typeorm';
import { sqlOne, sqlRows } from '../infra/db/sql.js';

/** A master alive on the registry, as `berth master list` and the API show it. */
export interface LiveMaster {
  id: string;
  httpUrl: string | null;
  grpcPort: number | null;
  startedAt: Date;
  seenAt: Date;
}

/** Alive: seen within one lease. */
const ALIVE = `seen_at > now() - ($1 || ' milliseconds')::interval`;
/** A LiveMaster's columns, of the masters row `m`. */
const MASTER_COLUMNS = `m.id, m.http_url AS "httpUrl", m.grpc_port AS "grpcPort", m.started_at AS "startedAt",
       m.seen_at AS "seenAt"`;

/**
 * The masters of one registry: who is alive, which process holds each name, who holds the
 * periodic work, and which master holds each agent's stream. Every decision is one statement, so
 * it holds however many masters make it at once.
 */
export class MastersRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Records this process under its name. A name whose holder was seen within `leaseMs` is still
   * held: refused (`held` says by whom), unless the holder had the same home (host and data
   * directory, which one process at a time can lock: this is the same master started again).
   * Returns when the previous holder was last seen, if there was one.
   */
  async register(
    master: { id: string; instance: string; home: string },
    options: { leaseMs: number },
  ): Promise<
    | { registered: true; replacedSeenAt: Date | null }
    | { registered: false; held: LiveMaster & { home: string } }
  > {
    const previous = await sqlOne<LiveMaster & { home: string }>(
      this.db,
      `SELECT ${MASTER_COLUMNS}, m.home FROM masters m WHERE m.id = $1`,
      [master.id],
    );
    // Where it listens is written once it does (describe).
    const row = await sqlOne<{ id: string }>(
      this.db,
      `INSERT INTO masters (id, instance, home, http_url, grpc_port, started_at, seen_at)
       VALUES ($1, $2, $3, NULL, NULL, now(), now())
       ON CONFLICT (id) DO UPDATE SET instance = EXCLUDED.instance, home = EXCLUDED.home,
              http_url = NULL, grpc_port = NULL, started_at = now(), seen_at = now()
        WHERE masters.home = EXCLUDED.home OR masters.seen_at <= now() - ($4 || ' milliseconds')::interval
       RETURNING id`,
      [master.id, master.instance, master.home, String(options.leaseMs)],
    );
    if (!row) {
      // Refused: the row is a holder's, alive and elsewhere, as read just before.
      if (!previous)
        throw new Error(`the registration of master ${master.id} was refused, and it has no holder`);
      return { registered: false, held: previous };
    }
    return { registered: true, replacedSeenAt: previous?.seenAt ?? null };
  }

  /** Where it listens, once it does. */
  async describe(id: string, instance: string, httpUrl: string, grpcPort: number): Promise<void> {
    await sqlRows(
      this.db,
      `UPDATE masters SET http_url = $3, grpc_port = $4 WHERE id = $1 AND instance = $2 RETURNING id`,
      [id, instance, httpUrl, grpcPort],
    );
  }

  /** Says this process is alive; false when another process has taken its name since. */
  async heartbeat(id: string, instance: string): Promise<boolean> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      `UPDATE masters SET seen_at = now() WHERE id = $1 AND instance = $2 RETURNING id`,
      [id, instance],
    );
    return row !== undefined;
  }

  /** A master stopping: no longer alive, at once (its agents' rows count for nothing now). */
  async leave(id: string, instance: string): Promise<void> {
    await sqlRows(
      this.db,
      `UPDATE masters SET seen_at = now() - interval '1 day' WHERE id = $1 AND instance = $2 RETURNING id`,
      [id, instance],
    );
    await sqlRows(this.db, `DELETE FROM master_leases WHERE instance = $1 RETURNING name`, [instance]);
  }

  /** Whether a master other than `id` is alive. */
  async othersAlive(id: string, leaseMs: number): Promise<boolean> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      `SELECT id FROM masters WHERE ${ALIVE} AND id <> $2 LIMIT 1`,
      [String(leaseMs), id],
    );
    return row !== undefined;
  }

  /**
   * Takes or renews a lease on work that runs on one master at a time: granted when free, lapsed,
   * or already this process's. True when this process holds it now.
   */
  async holdLease(name: string, holder: string, instance: string, leaseMs: number): Promise<boolean> {
    const row = await sqlOne<{ name: string }>(
      this.db,
      `INSERT INTO master_leases (name, holder, instance, expires_at)
       VALUES ($1, $2, $3, now() + ($4 || ' milliseconds')::interval)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, instance = EXCLUDED.instance,
              expires_at = EXCLUDED.expires_at
        WHERE master_leases.instance = EXCLUDED.instance OR master_leases.expires_at < now()
       RETURNING name`,
      [name, holder, instance, String(leaseMs)],
    );
    return row !== undefined;
  }

  /** The agent of a server holds its stream on this master now. */
  async agentConnected(serverId: string, masterId: string, instance: string): Promise<void> {
    await sqlRows(
      this.db,
      `INSERT INTO agent_connections (server_id, master_id, instance, connected_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (server_id) DO UPDATE SET master_id = EXCLUDED.master_id, instance = EXCLUDED.instance,
              connected_at = now()
       RETURNING server_id`,
      [serverId, masterId, instance],
    );
  }

  /** Its stream on this master ended; a row another master wrote since is left alone. */
  async agentDisconnected(serverId: string, instance: string): Promise<void> {
    await sqlRows(
      this.db,
      `DELETE FROM agent_connections WHERE server_id = $1 AND instance = $2 RETURNING server_id`,
      [serverId, instance],
    );
  }

  /** Servers whose agent is connected to a master alive (the process that wrote the row, still). */
  async connectedServerIds(leaseMs: number): Promise<string[]> {
    const rows = await sqlRows<{ serverId: string }>(
      this.db,
      `SELECT c.server_id AS "serverId" FROM agent_connections c
         JOIN masters m ON m.id = c.master_id AND m.instance = c.instance
        WHERE m.${ALIVE}`,
      [String(leaseMs)],
    );
    return rows.map((row) => row.serverId);
  }

  /** The masters alive, with the agents each holds and whether it holds a lease (by name). */
  liveMastersWithAgents(
    leaseMs: number,
    leaseName: string,
  ): Promise<Array<LiveMaster & { agents: number; holdsLease: boolean }>> {
    return sqlRows(
      this.db,
      `SELECT ${MASTER_COLUMNS}, count(c.server_id)::int AS agents,
              EXISTS (SELECT 1 FROM master_leases l WHERE l.name = $2 AND l.instance = m.instance
                         AND l.expires_at > now()) AS "holdsLease"
         FROM masters m LEFT JOIN agent_connections c ON c.master_id = m.id AND c.instance = m.instance
        WHERE m.${ALIVE} GROUP BY m.id ORDER BY m.id`,
      [String(leaseMs), leaseName],
    );
  }
}
