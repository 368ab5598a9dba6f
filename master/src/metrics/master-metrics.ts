import type * as api from '../../../shared/src/api.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TASK_STATES, TASK_TYPES, DEBUG_TASK_TYPES, type TaskType } from '../../../shared/src/tasks.js';
import type { ArchiveMetrics } from '../backups/archive-store.js';
import { OFFLINE_WINDOW_PHASE } from '../sites/tasks/migrate/migrate-phases.js';
import type { AttemptOutcome, TaskMetrics } from '../tasks/task-metrics.js';
import type { TaskPhase } from '../tasks/task.entity.js';
import type { TaskCount } from './metrics.repository.js';

/** What the gauges read when Prometheus scrapes. */
export interface MetricsSources {
  taskCounts(): Promise<TaskCount[]>;
  agentsConnected(): number;
  /** What the backup store holds now (absent in tests that do not look). */
  storeUsage?: () => Promise<Pick<api.StoreUsage, 'totalBytes' | 'byClient'>>;
  /** Every HTTPS certificate the sites' servers serve (absent in tests that do not look). */
  certificates?: () => Promise<Array<{ domain: string; server: string; notAfter: Date }>>;
}

/** Steps last from a symlink (milliseconds) to a database dump or drush updatedb (up to an hour). */
export const STEP_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** A migrate's offline window should last as long as the database updates: seconds, not minutes. */
export const OFFLINE_WINDOW_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800];

/** The archive purpose of site backups (each one recorded as a backup of its site). */
const BACKUP_PURPOSE = 'backup';

/**
 * The master's Prometheus metrics, on a registry of its own (not prom-client's global one, so that
 * two masters in one process, as in tests, do not share them). Counters and histograms are fed by
 * the task engine and the archive store as events happen; the gauges are read at scrape time.
 */
export class MasterMetrics implements TaskMetrics, ArchiveMetrics {
  readonly registry = new Registry();
  private readonly stepDuration: Histogram<'step' | 'outcome'>;
  private readonly offlineWindow: Histogram;
  private readonly backupBytes: Counter;
  private readonly tasksFinished: Counter<'type' | 'state'>;

  constructor(sources: MetricsSources, options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'berth_tasks',
      help: 'Tasks in the registry, by type and state (read from the registry at each scrape)',
      labelNames: ['type', 'state'],
      registers: [this.registry],
      async collect() {
        const counts = await sources.taskCounts();
        this.reset();
        // Every known type and state is present, at 0 when there is none, so that a query over
        // one of them has a value before the first such task.
        for (const type of TASK_TYPES) {
          if (DEBUG_TASK_TYPES.includes(type)) continue;
          for (const state of TASK_STATES) this.set({ type, state }, 0);
        }
        for (const { type, state, count } of counts) this.set({ type, state }, count);
      },
    });
    new Gauge({
      name: 'berth_agents_connected',
      help: 'Agents connected to this master now',
      registers: [this.registry],
      collect() {
        this.set(sources.agentsConnected());
      },
    });
    if (sources.storeUsage) {
      const storeUsage = () => sources.storeUsage!();
      // One scrape reads the usage once for both gauges.
      let reading: Promise<Pick<api.StoreUsage, 'totalBytes' | 'byClient'>> | undefined;
      const read = () => {
        reading ??= storeUsage().finally(() => setImmediate(() => (reading = undefined)));
        return reading;
      };
      new Gauge({
        name: 'berth_store_bytes',
        help: "Bytes of every stored archive in the master's backup store (backups, rollback points, transfers)",
        registers: [this.registry],
        async collect() {
          this.set((await read()).totalBytes);
        },
      });
      new Gauge({
        name: 'berth_store_client_bytes',
        help: 'Bytes of backups in the store per client ("" for sites without one)',
        labelNames: ['client'],
        registers: [this.registry],
        async collect() {
          const usage = await read();
          this.reset();
          for (const row of usage.byClient) this.set({ client: row.client ?? '' }, row.bytes);
        },
      });
    }
    if (sources.certificates) {
      const certificates = () => sources.certificates!();
      new Gauge({
        name: 'berth_certificate_expiry_seconds',
        help:
          'When each HTTPS certificate of a site ends, in seconds since the Unix epoch, by domain and server ' +
          '(alert on berth_certificate_expiry_seconds - time() < 14 * 86400: renewals start 30 days before)',
        labelNames: ['domain', 'server'],
        registers: [this.registry],
        async collect() {
          const rows = await certificates();
          this.reset();
          for (const row of rows)
            this.set({ domain: row.domain, server: row.server }, Math.floor(row.notAfter.getTime() / 1000));
        },
      });
    }
    this.stepDuration = new Histogram({
      name: 'berth_step_duration_seconds',
      help: 'How long step attempts ran on their agents, by step and outcome (done, failed, lost)',
      labelNames: ['step', 'outcome'],
      buckets: STEP_DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.offlineWindow = new Histogram({
      name: 'berth_offline_window_seconds',
      help: "How long migrates kept their site offline (the recorded 'offline window' phase)",
      buckets: OFFLINE_WINDOW_BUCKETS,
      registers: [this.registry],
    });
    this.backupBytes = new Counter({
      name: 'berth_backup_bytes_total',
      help: "Bytes of site backup archives stored in the master's store",
      registers: [this.registry],
    });
    this.tasksFinished = new Counter({
      name: 'berth_tasks_finished_total',
      help: 'Tasks that ended in this process, by type and final state',
      labelNames: ['type', 'state'],
      registers: [this.registry],
    });
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  attemptSettled(step: string, outcome: AttemptOutcome, seconds: number): void {
    this.stepDuration.observe({ step, outcome }, Math.max(0, seconds));
  }

  phaseEnded(_taskType: TaskType, phase: TaskPhase & { endedAt: string }): void {
    if (phase.name !== OFFLINE_WINDOW_PHASE) return;
    const seconds = (Date.parse(phase.endedAt) - Date.parse(phase.startedAt)) / 1000;
    if (Number.isFinite(seconds)) this.offlineWindow.observe(Math.max(0, seconds));
  }

  taskFinished(taskType: TaskType, state: 'succeeded' | 'failed' | 'cancelled'): void {
    this.tasksFinished.inc({ type: taskType, state });
  }

  archiveStored(purpose: string, bytes: number): void {
    if (purpose === BACKUP_PURPOSE) this.backupBytes.inc(bytes);
  }
}
