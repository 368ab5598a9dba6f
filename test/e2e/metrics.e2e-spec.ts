import type { Backup } from '../../shared/src/api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parsePrometheusText,
  sampleSum,
  sampleValue,
  type Sample,
} from '../../master/src/metrics/prometheus-text.testing.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import type { TaskSummary } from '../support/processes.js';

const METRICS_TOKEN = 'metrics-e2e-0123456789abcdef';

/**
 * GET /metrics after real work: a site installed, backed up and migrated from fixture-10.2 to
 * fixture-10.3 by a real agent. The values must match what the API says happened.
 */
describe('metrics', () => {
  let stack: HostingStack;
  let migrate: TaskSummary & { phases: Array<{ name: string; startedAt: string; endedAt: string }> };

  const scrape = (authorization?: string) =>
    fetch(`${stack.master.url}/metrics`, {
      headers: authorization === undefined ? {} : { authorization },
    });

  beforeAll(async () => {
    stack = await startHostingStack({
      label: 'metrics',
      platforms: { 'fixture-10-2': 'fixture-10.2', 'fixture-10-3': 'fixture-10.3' },
      masterEnv: { BERTH_METRICS_TOKEN: METRICS_TOKEN },
    });
    await stack.berth('site', 'install', 'metrics.example', '--platform', 'fixture-10-2');
    await stack.berth('site', 'backup', 'metrics.example');
    const started = JSON.parse(
      (await stack.berth('site', 'migrate', 'metrics.example', '--platform', 'fixture-10-3', '--json'))
        .stdout,
    ) as { id: string };
    migrate = await stack.master.api.get(`/api/tasks/${started.id}`);
  }, 300_000);

  afterAll(() => stack?.stop());

  it('refuses a scrape without a token, or with a wrong one, and says which tokens work', async () => {
    for (const authorization of [undefined, 'Bearer not-the-metrics-token']) {
      const response = await scrape(authorization);
      expect(response.status).toBe(401);
      const body = (await response.json()) as { message: string };
      expect(body.message).toMatch(/BERTH_METRICS_TOKEN/);
      expect(body.message).toMatch(/admin API token/);
    }
  });

  it('exposes real values after an install, a backup and a migrate', async () => {
    expect(migrate.state).toBe('succeeded');
    const response = await scrape(`Bearer ${METRICS_TOKEN}`);
    expect(response.status).toBe(200);
    // Prometheus's text format 0.0.4 (the order of the parameters does not matter to it).
    expect(response.headers.get('content-type')).toMatch(/^text\/plain;/);
    expect(response.headers.get('content-type')).toContain('version=0.0.4');
    const samples: Sample[] = parsePrometheusText(await response.text());

    // Tasks by type and state, counted in the registry.
    const tasks = (type: string, state: string) => sampleValue(samples, 'berth_tasks', { type, state });
    expect(tasks('site.install', 'succeeded')).toBeGreaterThanOrEqual(1);
    expect(tasks('site.backup', 'succeeded')).toBe(1);
    expect(tasks('site.migrate', 'succeeded')).toBe(1);
    expect(tasks('site.migrate', 'failed')).toBe(0);
    expect(tasks('platform.verify', 'succeeded')).toBe(2);
    expect(
      sampleValue(samples, 'berth_tasks_finished_total', { type: 'site.migrate', state: 'succeeded' }),
    ).toBe(1);

    // Step durations: every attempt that ran; the migrate updates twice (rehearsal, live site).
    const ran = (step: string) =>
      sampleValue(samples, 'berth_step_duration_seconds_count', { step, outcome: 'done' });
    expect(sampleSum(samples, 'berth_step_duration_seconds_count')).toBeGreaterThan(0);
    expect(sampleSum(samples, 'berth_step_duration_seconds_sum')).toBeGreaterThan(0);
    expect(ran('app.update')).toBe(2);
    expect(ran('site.archive')).toBe(2);
    // The dumps of both backups (db.dump on the db server) and the migrate's rollback point.
    expect(ran('db.dump')).toBe(3);
    const migrateSteps = migrate.steps!.filter((step) => step.state === 'done').length;
    expect(sampleSum(samples, 'berth_step_duration_seconds_count', { outcome: 'done' })).toBeGreaterThan(
      migrateSteps,
    );

    expect(sampleValue(samples, 'berth_agents_connected')).toBe(1);

    // Backup bytes: the manual backup and the migrate's own, as the API lists them.
    const backups = await stack.master.api.get<{ items: Backup[] }>('/api/sites/metrics.example/backups');
    expect(backups.items.map((backup) => backup.reason).sort()).toEqual(['manual', 'pre-migrate']);
    // Each backup: its files and its dump, two archives in the store.
    const backedUp = backups.items.reduce((sum, backup) => sum + backup.bytes, 0);
    expect(backedUp).toBeGreaterThan(0);
    expect(sampleValue(samples, 'berth_backup_bytes_total')).toBe(backedUp);

    // The offline window: one, as long as the task's recorded phase.
    const window = migrate.phases.find((phase) => phase.name === 'offline window')!;
    const windowSeconds = (Date.parse(window.endedAt) - Date.parse(window.startedAt)) / 1000;
    expect(sampleValue(samples, 'berth_offline_window_seconds_count')).toBe(1);
    expect(sampleValue(samples, 'berth_offline_window_seconds_sum')).toBeGreaterThan(0);
    expect(sampleValue(samples, 'berth_offline_window_seconds_sum')).toBeCloseTo(windowSeconds, 3);
    console.info(
      `metrics: offline window ${windowSeconds} s, ${backedUp} bytes backed up, ` +
        `${sampleSum(samples, 'berth_step_duration_seconds_count')} step attempts timed`,
    );

    // The process's own metrics are there too.
    expect(samples.some((sample) => sample.name === 'process_resident_memory_bytes')).toBe(true);
  });

  it('lets an admin API token scrape too, and documents the endpoint in the OpenAPI document', async () => {
    const response = await scrape(`Bearer ${stack.master.token}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('berth_agents_connected 1');

    const document = await stack.master.api.get<{
      paths: Record<string, { get?: { tags?: string[] } }>;
    }>('/api/docs/openapi.json');
    expect(document.paths['/metrics']?.get?.tags).toEqual(['metrics']);
  });
});
