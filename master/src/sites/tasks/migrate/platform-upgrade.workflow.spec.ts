import { describe, expect, it } from 'vitest';
import type { PlatformUpgradeParams } from '../../../../../shared/src/tasks.js';
import { WorkflowHarness } from '../../../tasks/testing/workflow-harness.js';
import { OFFLINE_WINDOW_PHASE } from './migrate-phases.js';
import {
  platformUpdateWorkflow,
  platformUpgradeWorkflow,
  type MigrateTaskState,
} from './platform-upgrade.workflow.js';

const params: PlatformUpgradeParams = {
  targetPlatformId: 'p2',
  targetPlatform: 'd103',
  concurrency: 2,
  force: false,
  sites: [
    { id: 's1', domain: 'a.example' },
    { id: 's2', domain: 'b.example' },
    { id: 's3', domain: 'c.example' },
  ],
};

function finished(id: string, state: 'succeeded' | 'failed', error: string | null = null): MigrateTaskState {
  return {
    id,
    state,
    error,
    phases: [
      { name: 'backup', startedAt: '2025-01-01T09:59:00.000Z', endedAt: '2025-01-01T10:00:00.000Z' },
      {
        name: OFFLINE_WINDOW_PHASE,
        startedAt: '2025-01-01T10:00:00.000Z',
        endedAt: '2025-01-01T10:00:00.250Z',
      },
    ],
  };
}

/** Sites a and b are migrated by their own tasks (b's fails); c's migrate is refused by its checks. */
function upgrade() {
  const queued: string[] = [];
  const children = new Map<string, MigrateTaskState>();
  const tasks: Record<string, MigrateTaskState> = {
    'm-a': finished('m-a', 'succeeded'),
    'm-b': finished('m-b', 'failed', 'update failed'),
  };
  const progress: string[] = [];
  const harness = new WorkflowHarness(
    platformUpgradeWorkflow({
      queueMigrate: (upgradeTaskId, domain) => {
        queued.push(`${upgradeTaskId} ${domain}`);
        if (domain === 'c.example') return Promise.resolve({ refused: 'an error in the check' });
        const task = tasks[`m-${domain[0]}`]!;
        children.set(params.sites.find((site) => site.domain === domain)!.id, task);
        return Promise.resolve({ taskId: task.id });
      },
      queuedMigrate: (_upgrade, siteId) => Promise.resolve(children.get(siteId) ?? null),
      task: (id) => Promise.resolve(tasks[id] ?? null),
    }),
    { type: 'platform.migrate-sites', params, targetId: 'p1' },
  );
  return { harness, queued, progress };
}

describe('platform upgrade workflow', () => {
  it("queues each site's migrate as its own task and sums them up, failures included", async () => {
    const { harness, queued } = upgrade();
    const trace = await harness.run();

    expect(trace.state).toBe('succeeded');
    expect(queued).toEqual(['task-1 a.example', 'task-1 b.example', 'task-1 c.example']);
    expect(trace.outcome.result).toMatchObject({
      to: 'd103',
      migrated: 1,
      failed: 2,
      longestOfflineMs: 250,
      medianOfflineMs: 250,
      sites: [
        { state: 'migrated', domain: 'a.example', taskId: 'm-a', offlineMs: 250 },
        { state: 'failed', domain: 'b.example', taskId: 'm-b', reason: 'update failed' },
        { state: 'failed', domain: 'c.example', taskId: null, reason: 'an error in the check' },
      ],
    });
    expect(trace.records.map((record) => record.name)).toEqual([
      'migrate.queue',
      'migrate.queue',
      'migrate.queue',
    ]);
  });

  it('queues no site twice when a restarted master replays it', async () => {
    const { harness, queued } = upgrade();
    await harness.run();
    // The whole upgrade again from its records (a master that stopped before ending the task).
    const trace = await harness.resume();
    expect(trace.state).toBe('succeeded');
    expect(queued).toHaveLength(3);
  });

  it('fails when not one site could be migrated', async () => {
    const trace = await new WorkflowHarness(
      platformUpgradeWorkflow({
        queueMigrate: () => Promise.resolve({ refused: 'downgrade' }),
        queuedMigrate: () => Promise.resolve(null),
        task: () => Promise.resolve(null),
      }),
      {
        type: 'platform.migrate-sites',
        params: { ...params, sites: params.sites.slice(0, 1) },
        targetId: 'p1',
      },
    ).run();
    expect(trace.state).toBe('failed');
    expect(trace.outcome.error).toBe('no site could be migrated: a.example: downgrade');
  });
});

describe('platform update workflow (the leap-frog)', () => {
  /** d102's sites a and b; `migrates` says how each one's migrate ends. */
  function update(options: { migrates: Record<string, 'succeeded' | 'failed'>; retire?: boolean }) {
    const writes: string[] = [];
    const tasks = new Map<string, MigrateTaskState>();
    const harness = new WorkflowHarness(
      platformUpdateWorkflow({
        queueMigrate: (_parent, domain, target) => {
          writes.push(`migrate ${domain} to ${target.platform}`);
          const task = finished(`m-${domain}`, options.migrates[domain]!, 'update failed');
          tasks.set(task.id, task);
          return Promise.resolve({ taskId: task.id });
        },
        queuedMigrate: () => Promise.resolve(null),
        task: (id) => Promise.resolve(tasks.get(id) ?? null),
        build: {
          platforms: {
            recordVerified: (id) => Promise.resolve(void writes.push(`verified ${id}`)),
            recordFailed: () => Promise.resolve(),
            recordBuilt: (id) => Promise.resolve(void writes.push(`built ${id}`)),
            remove: (id) => Promise.resolve(void writes.push(`removed ${id}`)),
            commitOf: () => Promise.resolve(null),
            pathOf: () => Promise.resolve(null),
          },
          packages: { replace: () => Promise.resolve(), list: () => Promise.resolve([]) },
          archives: { reserve: () => Promise.resolve('a1'), remove: () => Promise.resolve() },
        },
        platforms: {
          setLocked: (id, locked) => Promise.resolve(void writes.push(`locked ${id} ${locked}`)),
          removeUnused: (id) => {
            writes.push(`removeUnused ${id}`);
            return Promise.resolve({ removed: true });
          },
        },
      }),
      {
        type: 'platform.update',
        params: {
          from: { platform: 'd102', serverId: 'web1' },
          newPlatformId: 'p-new',
          build: {
            platform: 'd102-v10-3',
            serverId: 'web1',
            source: { kind: 'git', url: '/srv/p.git', ref: 'v10.3' },
          },
          concurrency: 2,
          force: false,
          retire: options.retire ?? false,
          sites: [
            { id: 's1', domain: 'a.example' },
            { id: 's2', domain: 'b.example' },
          ],
        },
        targetId: 'p-old',
        targetName: 'd102',
      },
    );
    return { harness, writes };
  }

  it('builds the new platform, migrates every site to it, locks the old one and retires it', async () => {
    const { harness, writes } = update({
      migrates: { 'a.example': 'succeeded', 'b.example': 'succeeded' },
      retire: true,
    });
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(writes).toEqual([
      'built p-new',
      'verified p-new',
      'migrate a.example to d102-v10-3',
      'migrate b.example to d102-v10-3',
      'locked p-old true',
      'removeUnused p-old',
    ]);
    expect(trace.calls.map((call) => `${call.step} ${String(call.params.platform)}`)).toEqual([
      'platform.build d102-v10-3',
      'platform.scan d102-v10-3',
      'platform.remove d102',
    ]);
    expect(trace.calls.at(-1)!.params).toEqual({ platform: 'd102', leftLinks: true });
    expect(trace.outcome.result).toMatchObject({
      built: { platform: 'd102-v10-3' },
      upgrade: { migrated: 2, failed: 0 },
      locked: true,
      retired: true,
    });
  });

  it('locks but does not retire the old platform while a site stays on it', async () => {
    const { harness, writes } = update({
      migrates: { 'a.example': 'succeeded', 'b.example': 'failed' },
      retire: true,
    });
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(writes).toContain('locked p-old true');
    expect(writes).not.toContain('removeUnused p-old');
    expect(trace.outcome.result).toMatchObject({ upgrade: { migrated: 1, failed: 1 }, retired: false });
  });

  it('removes the new platform again when no site could move, and leaves the old one unlocked', async () => {
    const { harness, writes } = update({ migrates: { 'a.example': 'failed', 'b.example': 'failed' } });
    const trace = await harness.run();
    expect(trace.state).toBe('failed');
    expect(writes.slice(-1)).toEqual(['removed p-new']);
    expect(writes).not.toContain('locked p-old true');
    expect(trace.calls.at(-1)).toMatchObject({ step: 'platform.remove', params: { platform: 'd102-v10-3' } });
  });
});
