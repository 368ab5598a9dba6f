import type { MasterInfo } from '../../../shared/src/api.js';
import { PERIODIC_LEASE } from './master-presence.js';
import type { MastersRepository } from './masters.repository.js';

/** The masters of the registry as the API shows them (`berth master list`). */
export class MastersService {
  constructor(
    private readonly masters: MastersRepository,
    private readonly leaseMs: number,
  ) {}

  async list(): Promise<MasterInfo[]> {
    const rows = await this.masters.liveMastersWithAgents(this.leaseMs, PERIODIC_LEASE);
    return rows.map((row) => ({
      id: row.id,
      httpUrl: row.httpUrl,
      grpcPort: row.grpcPort,
      startedAt: new Date(row.startedAt).toISOString(),
      seenAt: new Date(row.seenAt).toISOString(),
      agents: row.agents,
      periodic: row.holdsLease,
    }));
  }
}
