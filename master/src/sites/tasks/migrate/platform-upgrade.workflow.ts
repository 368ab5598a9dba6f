import type { TaskPhase } from '../../../../../shared/src/api.js';
import type {
  PlatformUpgradeSite,
  PlatformUpgradeSummary,
  TaskState,
} from '../../../../../shared/src/tasks.js';
import {
  buildPlatform,
  type PlatformWorkflowDependencies,
} from '../../../platforms/tasks/platform.workflows.js';
import { TaskRefusedError, type TaskContext, type Workflow } from '../../../tasks/workflow.js';
import { OFFLINE_WINDOW_PHASE } from './migrate-phases.js';

/** What a platform upgrade sees of a site's migrate. */
export interface MigrateTaskState {
  id: string;
  state: TaskState;
  error: string | null;
  phases: TaskPhase[];
}

export interface PlatformUpgradeDependencies {
  /**
   * Queues a site's migrate as a task of the upgrade (through the same checks as the API); the
   * refusal's message when the checks refuse it.
   */
  queueMigrate(
    upgradeTaskId: string,
    domain: string,
    target: MigrateTo,
    force: boolean,
  ): Promise<{ taskId: string } | { refused: string }>;
  /** The migrate this upgrade queued for a site already, if any. */
  queuedMigrate(upgradeTaskId: string, siteId: string): Promise<MigrateTaskState | null>;
  task(id: string): Promise<MigrateTaskState | null>;
}

/** Where one site of a platform upgrade or a drain goes: a platform, a db server, or both. */
export interface MigrateTo {
  platform?: string;
  dbServer?: string;
}

/** One site to migrate, and where. */
export interface SiteToMove {
  id: string;
  domain: string;
  to: MigrateTo;
  /** Planned to stay, and why: no migrate is queued for it. */
  refused?: string;
}

const POLL_MS = 250;

/**
 * platform.migrate-sites: every site of a platform moves with its own migrate task — its own
 * rehearsal and its own short window (the window holds its servers' slots, so no site is offline
 * while another site's step runs there). At most `concurrency` migrates are in flight; a site that
 * fails stays on the old platform and the others go on. The result is the summary.
 */
export function platformUpgradeWorkflow(
  deps: PlatformUpgradeDependencies,
): Workflow<'platform.migrate-sites'> {
  return async (context) => {
    const params = context.task.params;
    const sites = params.sites.map((site) => ({ ...site, to: { platform: params.targetPlatform } }));
    return migrateEach(context, deps, sites, params, params.targetPlatform);
  };
}

/**
 * server.drain: every site with its platform or its database on the server moves off it, each with
 * its own migrate, to where planDrain put it; the same bounds and summary as a platform upgrade.
 */
export function serverDrainWorkflow(deps: PlatformUpgradeDependencies): Workflow<'server.drain'> {
  return async (context) => {
    const params = context.task.params;
    const sites = params.sites.map((site) => ({
      id: site.id,
      domain: site.domain,
      ...(site.refused === undefined ? {} : { refused: site.refused }),
      to: {
        ...(site.platform === null ? {} : { platform: site.platform }),
        ...(site.dbServer === null ? {} : { dbServer: site.dbServer }),
      },
    }));
    return migrateEach(context, deps, sites, params, params.to ?? 'other servers');
  };
}

/** What a leap-frog changes besides the migrates: the new platform built, the old one locked and retired. */
export interface PlatformUpdateDependencies extends PlatformUpgradeDependencies {
  build: PlatformWorkflowDependencies;
  platforms: {
    setLocked(platformId: string, locked: boolean): Promise<unknown>;
    /** Removes a platform no site is on (PlatformsRepository.removeUnused), this task aside. */
    removeUnused(platformId: string, exceptTaskId: string): Promise<{ removed: boolean }>;
  };
}

/**
 * platform.update, the leap-frog (seed 004): the new code built as a new platform from the same
 * source at another ref, every site of the old platform migrated to it (its own rehearsal and short
 * window each), then the old platform locked, and with `retire` removed (codebase and registry)
 * once no site is left on it. If no site could move, the new platform is removed again.
 */
export function platformUpdateWorkflow(deps: PlatformUpdateDependencies): Workflow<'platform.update'> {
  return async (context) => {
    const params = context.task.params;
    const to = params.build.platform;
    const { built, upgrade } = await context.scope('the leap-frog', async () => {
      const built = await buildPlatform(context, deps.build, params.newPlatformId, params.build);
      const sites = params.sites.map((site) => ({ ...site, to: { platform: to } }));
      const upgrade =
        sites.length > 0
          ? await context.phase('migrate the sites', () => migrateEach(context, deps, sites, params, to))
          : null;
      return { built, upgrade };
    });
    await context.record('platforms.setLocked', () => deps.platforms.setLocked(context.task.targetId, true));
    await context.log(`${context.task.targetName} locked: it takes no new sites`);
    let retired = false;
    if (params.retire) {
      if (upgrade && upgrade.failed > 0) {
        await context.log(`not retired: ${upgrade.failed} site(s) stay on ${context.task.targetName}`);
      } else {
        const removal = await context.record('platforms.removeUnused', () =>
          deps.platforms.removeUnused(context.task.targetId, context.task.id),
        );
        if (removal.removed) {
          const from = params.from;
          const servers = new Set([from.serverId, ...(from.heads ?? []).map((head) => head.serverId)]);
          for (const serverId of servers) {
            await context.step(serverId, 'platform.remove', { platform: from.platform, leftLinks: true });
          }
          retired = true;
          await context.log(`${context.task.targetName} retired: removed from the registry and its servers`);
        } else {
          await context.log(`not retired: ${context.task.targetName} is still in use`);
        }
      }
    }
    return {
      built: { platform: to, commit: built.commit, coreVersion: built.coreVersion },
      upgrade,
      locked: true,
      retired,
    };
  };
}

/**
 * Each site with its own migrate task, at most `concurrency` in flight; a site that fails stays
 * where it was and the others go on. Fails only when no site moved at all.
 */
async function migrateEach(
  context: TaskContext<'platform.migrate-sites' | 'server.drain' | 'platform.update'>,
  deps: PlatformUpgradeDependencies,
  sites: readonly SiteToMove[],
  options: { concurrency: number; force: boolean },
  to: string,
): Promise<PlatformUpgradeSummary> {
  const pending = [...sites];
  const inFlight = new Map<string, { domain: string; taskId: string }>();
  const done: PlatformUpgradeSite[] = [];
  const report = () =>
    context.progress({ phase: 'sites', done: done.length, total: sites.length, unit: 'sites' });
  report();

  while (pending.length > 0 || inFlight.size > 0) {
    while (pending.length > 0 && inFlight.size < options.concurrency) {
      const site = pending.shift()!;
      // Recorded, and looked up first: a replay, or a master that stopped right after queueing,
      // finds the migrate it queued instead of queueing a second.
      const queued =
        site.refused === undefined
          ? await context.record('migrate.queue', async () => {
              const existing = await deps.queuedMigrate(context.task.id, site.id);
              return existing
                ? { taskId: existing.id }
                : deps.queueMigrate(context.task.id, site.domain, site.to, options.force);
            })
          : { refused: site.refused };
      if ('refused' in queued) {
        done.push({ state: 'failed', domain: site.domain, taskId: null, reason: queued.refused });
        report();
        await context.log(`${site.domain}: not migrated: ${queued.refused}`);
      } else {
        inFlight.set(site.id, { domain: site.domain, taskId: queued.taskId });
        await context.log(`${site.domain}: migrate queued (task ${queued.taskId})`);
      }
    }
    for (const [siteId, child] of [...inFlight]) {
      const task = await deps.task(child.taskId);
      if (!task || task.state === 'queued' || task.state === 'running') continue;
      inFlight.delete(siteId);
      if (task.state === 'succeeded') {
        const offlineMs = windowMs(task.phases);
        done.push({ state: 'migrated', domain: child.domain, taskId: task.id, offlineMs });
        await context.log(`${child.domain}: migrated (offline ${offlineMs ?? '?'} ms)`);
      } else {
        const reason = task.error ?? task.state;
        done.push({ state: 'failed', domain: child.domain, taskId: task.id, reason });
        await context.log(`${child.domain}: ${task.state}, stays where it was: ${task.error ?? ''}`);
      }
      report();
    }
    if (inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const summary = summarize(to, done);
  await context.log(
    `${summary.migrated} migrated, ${summary.failed} failed; offline median ${summary.medianOfflineMs ?? '-'} ms, longest ${summary.longestOfflineMs ?? '-'} ms`,
  );
  if (summary.failed > 0 && summary.migrated === 0) {
    const reasons = done.flatMap((site) =>
      site.state === 'failed' ? [`${site.domain}: ${site.reason}`] : [],
    );
    throw new TaskRefusedError(`no site could be migrated: ${reasons.join('; ')}`);
  }
  return summary;
}

/** The summary: migrated sites first, then failed ones, each in the order they ended. */
export function summarize(to: string, sites: readonly PlatformUpgradeSite[]): PlatformUpgradeSummary {
  const migrated = sites.filter((site) => site.state === 'migrated');
  const failed = sites.filter((site) => site.state === 'failed');
  const windows = migrated.map((site) => site.offlineMs).filter((ms): ms is number => ms !== null);
  return {
    to,
    migrated: migrated.length,
    failed: failed.length,
    longestOfflineMs: windows.length ? Math.max(...windows) : null,
    medianOfflineMs: median(windows),
    sites: [...migrated, ...failed],
  };
}

function windowMs(phases: readonly TaskPhase[]): number | null {
  const window = phases.find((phase) => phase.name === OFFLINE_WINDOW_PHASE);
  return window?.endedAt ? Date.parse(window.endedAt) - Date.parse(window.startedAt) : null;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
}
