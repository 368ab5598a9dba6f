import type { DataSource } from 'typeorm';
import { sqlOne, sqlRows } from '../infra/db/sql.js';

export interface ServerCredentials {
  id: string;
  name: string;
  /** The only certificate the server may present now; null before its first enrollment. */
  certificateSha256: string | null;
}

/** The servers columns the gateway reads and writes when an agent dials in. */
export class AgentCredentialsRepository {
  constructor(private readonly db: DataSource) {}

  findCredentials(serverId: string): Promise<ServerCredentials | undefined> {
    return sqlOne<ServerCredentials>(
      this.db,
      `SELECT id, name, certificate_sha256 AS "certificateSha256" FROM servers WHERE id = $1`,
      [serverId],
    );
  }

  async markSeen(serverId: string): Promise<void> {
    await sqlRows(this.db, `UPDATE servers SET last_seen_at = now() WHERE id = $1 RETURNING id`, [serverId]);
  }
}
