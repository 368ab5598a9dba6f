import type { DatabaseKind } from './infra/db/data-source.js';

/** What the health endpoint reports, provided by the process that assembled the master. */
export class HealthInfo {
  constructor(
    readonly database: DatabaseKind,
    readonly agentsConnected: () => number,
    /** BERTH_MASTER_ID: which master answered, behind a load balancer. */
    readonly masterId: string = 'master',
  ) {}
}
