import { describe, expect, it } from 'vitest';
import type { TaskEntity } from '../task.entity.js';
import type { TaskContext } from '../workflow.js';
import { type PlatformUpgradeParams, platformUpgradeWorkflow } from './platform-upgrade.workflow.js';

/** The context a platform upgrade uses (log and progress); it runs no steps of its own. */
function fakeContext(params: PlatformUpgradeParams) {
  const progress: Array<{ done: number; total: number; unit: string; phase: string }> = [];
  const log: string[] = [];
  const context = {
    task: { id: 'upgrade-1', params } as unknown as TaskEntity,
    log: (text: string) => {
      log.push(text);
      return Promise.resolve();
    },
    progress: (value: { phase: string; done: number; total: number; unit: string }) => {
      progress.push(value);
    },
  } as unknown as TaskContext;
  return { context, progress, log };
}

function finished(id: string, state: 'succeeded' | 'failed', error: string | null = null): TaskEntity {
  return {
    id,
    state,
    error,
    phases: [
      { name: 'offline window', startedAt: '2025-01-01T10:00:00.000Z', endedAt: '2025-01-01T10:00:00.250Z' },
    ],
  } as unknown as TaskEntity;
}

describe('platform upgrade workflow', () => {
  it('reports how many of its sites are done as the task progress, failures included', async () => {
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
    const { context, progress } = fakeContext(params);
    const tasks: Record<string, TaskEntity> = {
      'm-a': finished('m-a', 'succeeded'),
      'm-b': finished('m-b', 'failed', 'update failed'),
    };
    const workflow = platformUpgradeWorkflow({
      queueMigrate: (domain) =>
        Promise.resolve(
          domain === 'c.example' ? { refused: 'an error in the check' } : { taskId: `m-${domain[0]}` },
        ),
      existingMigrate: () => Promise.resolve(undefined),
      task: (id) => Promise.resolve(tasks[id] ?? null),
    });

    const summary = await workflow(context);

    expect(progress.map(({ done, total }) => `${done}/${total}`)).toEqual(['0/3', '1/3', '2/3', '3/3']);
    expect(progress.every(({ unit, phase }) => unit === 'sites' && phase === 'sites')).toBe(true);
    expect(summary).toMatchObject({ migrated: 1, failed: 2, longestOfflineMs: 250 });
  });
});
