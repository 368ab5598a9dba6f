import type * as api from '../../../shared/src/api.js';
import type { Principal } from '../auth/auth.service.js';
import { taskView } from '../tasks/task-view.js';
import type { OverviewRepository, OverviewScope } from './overview.repository.js';

/** What "lately" is for the attention lists: failed in the last day, not verified for a day. */
const DAY_MS = 24 * 3600_000;
/** Rows each attention list shows (its count is of all). */
const SHOWN = 10;

/**
 * The dashboard's overview (GET /api/overview): counts and the short lists of what needs attention.
 * A client's token sees its own sites and tasks only, and nothing of the hosting side (platforms,
 * servers, clients).
 */
export class OverviewService {
  constructor(
    private readonly overview: OverviewRepository,
    /** Which servers' agents are connected now, to any master of the registry. */
    private readonly agents: { connectedServerIds(): Promise<string[]> },
  ) {}

  async get(principal: Principal): Promise<api.Overview> {
    const admin = principal.role === 'admin';
    // A client token without a client sees nothing (as the site and task lists).
    if (!admin && !principal.clientId) return emptyOverview();
    const scope: OverviewScope = admin ? {} : { clientId: principal.clientId! };
    const [byStatus, queued, running, failedTasks, unverified, hosting] = await Promise.all([
      this.overview.sitesByStatus(scope),
      this.overview.countTasks(scope, 'queued'),
      this.overview.countTasks(scope, 'running'),
      Promise.all([
        this.overview.countTasks(scope, 'failed', DAY_MS),
        this.overview.failedTasks(scope, DAY_MS, SHOWN),
      ]),
      this.overview.unverifiedSites(scope, DAY_MS, SHOWN),
      admin ? this.hosting() : undefined,
    ]);
    const [failedCount, failedRows] = failedTasks;
    return {
      sites: { total: Object.values(byStatus).reduce((sum, count) => sum + count, 0), byStatus },
      platforms: hosting?.platforms ?? null,
      servers: hosting?.servers ?? null,
      clients: hosting?.clients ?? null,
      tasks: { queued, running, failedLastDay: failedCount },
      attention: {
        // A failed task has no progress to show.
        failedTasks: { count: failedCount, items: failedRows.map((task) => taskView(task, null)) },
        disconnectedServers: hosting?.disconnected ?? { count: 0, items: [] },
        unverifiedSites: {
          count: unverified.count,
          items: unverified.items.map((site) => ({ domain: site.domain, verifiedAt: iso(site.verifiedAt) })),
        },
      },
    };
  }

  /** The hosting side, for admins: platforms, servers and their agents, clients. */
  private async hosting() {
    const connectedIds = await this.agents.connectedServerIds();
    const [platforms, servers, clients, disconnected] = await Promise.all([
      this.overview.countPlatforms(),
      this.overview.countServers(connectedIds),
      this.overview.countClients(),
      this.overview.disconnectedServers(connectedIds, SHOWN),
    ]);
    return {
      platforms,
      servers,
      clients,
      disconnected: {
        count: disconnected.count,
        items: disconnected.items.map((server) => ({
          name: server.name,
          lastSeenAt: iso(server.lastSeenAt),
        })),
      },
    };
  }
}

function emptyOverview(): api.Overview {
  return {
    sites: { total: 0, byStatus: {} },
    platforms: null,
    servers: null,
    clients: null,
    tasks: { queued: 0, running: 0, failedLastDay: 0 },
    attention: {
      failedTasks: { count: 0, items: [] },
      disconnectedServers: { count: 0, items: [] },
      unverifiedSites: { count: 0, items: [] },
    },
  };
}

function iso(date: Date | string | null): string | null {
  return date === null ? null : new Date(date).toISOString();
}
