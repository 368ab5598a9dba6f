import type { TaskEntity } from '../task.entity.js';
import type { Workflow } from '../workflow.js';

/** What a platform upgrade is created with: the sites fixed up front, so a replay sees the same list. */
export interface PlatformUpgradeParams {
  targetPlatformId: string;
  targetPlatform: string;
  concurrency: number;
  force: boolean;
  sites: Array<{ id: string; domain: string }>;
}

export interface PlatformUpgradeDependencies {
  /** Queues a site's migrate (with its own checks); the error message when it is refused. */
  queueMigrate: (
    domain: string,
    target: string,
    force: boolean,
  ) => Promise<{ taskId: string } | { refused: string }>;
  /** The site's migrate this upgrade already queued (a replay after a restart), if any. */
  existingMigrate: (upgrade: TaskEntity, siteId: string) => Promise<TaskEntity | undefined>;
  task: (id: string) => Promise<TaskEntity | null>;
}

const POLL_MS = 250;

/**
 * platform.migrate-sites: every site of a platform moves with its own migrate task — its own
 * rehearsal and its own short window (the window holds its servers' slots, so no site is offline
 * while another site's step runs there). At most `concurrency` migrates are in flight; a site that
 * fails stays on the old platform and the others go on. The result is the summary.
 */
export function platformUpgradeWorkflow(deps: PlatformUpgradeDependencies): Workflow {
  return async (context) => {
    const params = context.task.params as unknown as PlatformUpgradeParams;
    const pending = [...params.sites];
    const inFlight = new Map<string, { domain: string; taskId: string }>();
    const migrated: Array<{ domain: string; taskId: string; offlineMs: number | null }> = [];
    const failed: Array<{ domain: string; taskId: string | null; reason: string }> = [];
    const report = () =>
      context.progress({
        phase: 'sites',
        done: migrated.length + failed.length,
        total: params.sites.length,
        unit: 'sites',
      });
    report();

    while (pending.length > 0 || inFlight.size > 0) {
      while (pending.length > 0 && inFlight.size < params.concurrency) {
        const site = pending.shift()!;
        const existing = await deps.existingMigrate(context.task, site.id);
        if (existing) {
          inFlight.set(site.id, { domain: site.domain, taskId: existing.id });
          continue;
        }
        const queued = await deps.queueMigrate(site.domain, params.targetPlatform, params.force);
        if ('refused' in queued) {
          failed.push({ domain: site.domain, taskId: null, reason: queued.refused });
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
          const offlineMs = windowMs(task);
          migrated.push({ domain: child.domain, taskId: task.id, offlineMs });
          await context.log(`${child.domain}: migrated (offline ${offlineMs ?? '?'} ms)`);
        } else {
          failed.push({ domain: child.domain, taskId: task.id, reason: task.error ?? task.state });
          await context.log(`${child.domain}: ${task.state}, stays on its platform: ${task.error ?? ''}`);
        }
        report();
      }
      if (inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const windows = migrated.map((site) => site.offlineMs).filter((ms): ms is number => ms !== null);
    const summary = {
      to: params.targetPlatform,
      migrated: migrated.length,
      failed: failed.length,
      longestOfflineMs: windows.length ? Math.max(...windows) : null,
      medianOfflineMs: median(windows),
      sites: [
        ...migrated.map((site) => ({ ...site, state: 'migrated' })),
        ...failed.map((site) => ({ ...site, state: 'failed' })),
      ],
    };
    await context.log(
      `${summary.migrated} migrated, ${summary.failed} failed; offline median ${summary.medianOfflineMs ?? '-'} ms, longest ${summary.longestOfflineMs ?? '-'} ms`,
    );
    if (failed.length > 0 && migrated.length === 0) {
      throw new Error(
        `no site could be migrated: ${failed.map((site) => `${site.domain}: ${site.reason}`).join('; ')}`,
      );
    }
    return summary;
  };
}

function windowMs(task: TaskEntity): number | null {
  const window = task.phases.find((phase) => phase.name === 'offline window');
  return window?.endedAt ? Date.parse(window.endedAt) - Date.parse(window.startedAt) : null;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
}
