import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MasterMetrics, type MetricsSources } from './master-metrics.js';
import type { TaskCount } from './metrics.repository.js';
import { parsePrometheusText, sampleSum, sampleValue } from './prometheus-text.testing.js';

function metricsWith(sources: Partial<MetricsSources> = {}, processMetrics = false) {
  return new MasterMetrics(
    {
      taskCounts: sources.taskCounts ?? (() => Promise.resolve([])),
      agentsConnected: sources.agentsConnected ?? (() => 0),
    },
    { processMetrics },
  );
}

async function scrape(metrics: MasterMetrics) {
  return parsePrometheusText(await metrics.text());
}

describe('MasterMetrics', () => {
  it('reads task counts and connected agents at each scrape, with 0 for the types and states not seen', async () => {
    let counts: TaskCount[] = [{ type: 'site.install', state: 'succeeded', count: 3 }];
    let agents = 2;
    const metrics = metricsWith({
      taskCounts: () => Promise.resolve(counts),
      agentsConnected: () => agents,
    });

    let samples = await scrape(metrics);
    expect(sampleValue(samples, 'berth_tasks', { type: 'site.install', state: 'succeeded' })).toBe(3);
    expect(sampleValue(samples, 'berth_tasks', { type: 'site.migrate', state: 'failed' })).toBe(0);
    expect(samples.some((sample) => sample.labels.type === 'debug.sleep')).toBe(false);
    expect(sampleValue(samples, 'berth_agents_connected')).toBe(2);

    counts = [
      { type: 'site.install', state: 'succeeded', count: 4 },
      { type: 'debug.noop', state: 'queued', count: 1 },
    ];
    agents = 0;
    samples = await scrape(metrics);
    expect(sampleValue(samples, 'berth_tasks', { type: 'site.install', state: 'succeeded' })).toBe(4);
    expect(sampleValue(samples, 'berth_tasks', { type: 'debug.noop', state: 'queued' })).toBe(1);
    expect(sampleValue(samples, 'berth_agents_connected')).toBe(0);
  });

  it('fails the scrape when the registry cannot be read, instead of showing stale counts', async () => {
    const metrics = metricsWith({ taskCounts: () => Promise.reject(new Error('connection refused')) });
    await expect(metrics.text()).rejects.toThrow(/connection refused/);
  });

  it('observes step durations by step and outcome', async () => {
    const metrics = metricsWith();
    metrics.attemptSettled('db.dump', 'done', 1.5);
    metrics.attemptSettled('db.dump', 'done', 0.2);
    metrics.attemptSettled('app.update', 'lost', 20);
    const samples = await scrape(metrics);
    const dump = { step: 'db.dump', outcome: 'done' };
    expect(sampleValue(samples, 'berth_step_duration_seconds_count', dump)).toBe(2);
    expect(sampleValue(samples, 'berth_step_duration_seconds_sum', dump)).toBeCloseTo(1.7);
    expect(sampleValue(samples, 'berth_step_duration_seconds_bucket', { ...dump, le: '0.25' })).toBe(1);
    expect(sampleValue(samples, 'berth_step_duration_seconds_bucket', { ...dump, le: '2.5' })).toBe(2);
    expect(
      sampleValue(samples, 'berth_step_duration_seconds_count', { step: 'app.update', outcome: 'lost' }),
    ).toBe(1);
  });

  it("observes a migrate's offline window from its recorded start and end, and no other phase", async () => {
    const metrics = metricsWith();
    metrics.phaseEnded('site.migrate', {
      name: 'offline window',
      startedAt: '2026-11-22T02:00:00.000Z',
      endedAt: '2026-11-22T02:00:03.250Z',
    });
    metrics.phaseEnded('site.migrate', {
      name: 'rehearsal',
      startedAt: '2026-11-22T01:59:00.000Z',
      endedAt: '2026-11-22T02:00:00.000Z',
    });
    const samples = await scrape(metrics);
    expect(sampleValue(samples, 'berth_offline_window_seconds_count')).toBe(1);
    expect(sampleValue(samples, 'berth_offline_window_seconds_sum')).toBeCloseTo(3.25);
    expect(sampleValue(samples, 'berth_offline_window_seconds_bucket', { le: '2' })).toBe(0);
    expect(sampleValue(samples, 'berth_offline_window_seconds_bucket', { le: '5' })).toBe(1);
  });

  it('counts the bytes of stored site backups, not of the other archives', async () => {
    const metrics = metricsWith();
    metrics.archiveStored('backup', 1000);
    metrics.archiveStored('backup', 234);
    metrics.archiveStored('rollback-point', 5000);
    metrics.archiveStored('transfer-check', 77);
    expect(sampleValue(await scrape(metrics), 'berth_backup_bytes_total')).toBe(1234);
  });

  it('counts finished tasks by type and state', async () => {
    const metrics = metricsWith();
    metrics.taskFinished('site.backup', 'succeeded');
    metrics.taskFinished('site.backup', 'succeeded');
    metrics.taskFinished('site.migrate', 'failed');
    const samples = await scrape(metrics);
    expect(
      sampleValue(samples, 'berth_tasks_finished_total', { type: 'site.backup', state: 'succeeded' }),
    ).toBe(2);
    expect(sampleSum(samples, 'berth_tasks_finished_total')).toBe(3);
  });

  it("keeps to a registry of its own, with the process's metrics on it", async () => {
    const first = metricsWith({}, true);
    const second = metricsWith({}, true);
    first.archiveStored('backup', 10);
    expect(sampleValue(await scrape(second), 'berth_backup_bytes_total')).toBe(0);
    const samples = await scrape(first);
    expect(samples.some((sample) => sample.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(samples.some((sample) => sample.name === 'nodejs_heap_size_used_bytes')).toBe(true);
    expect(await globalRegistry.metrics()).not.toContain('berth_');
  });
});
