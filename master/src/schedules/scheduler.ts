import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { MasterConfig } from '../infra/config/master-config.js';
import type { SqlExecutor } from '../infra/db/sql.js';
import type { NewTask } from '../tasks/tasks.repository.js';
import {
  checkSchedule,
  latestFiringUntil,
  type Firing,
  type ScheduleRules,
  type ScopedPolicy,
} from './backup-policy.js';
import type { FiringKind } from './schedule-firing.entity.js';
import { latestCronFiring } from './site-cron.js';
import {
  STORE_TARGET_ID,
  type FiringRow,
  type FiringsRepository,
  type NewFiring,
  type OpenFiring,
} from './firings.repository.js';

/** How often the master looks at its schedules (node-cron, six fields: every 15 seconds). */
const TICK_EXPRESSION = '*/15 * * * * *';
/** Open firings looked at per tick; the rest wait for the next one. */
const OPEN_BATCH = 500;
/**
 * While firings wait for their server's share of scheduled work, how often the master looks again
 * whether one can start (only the open firings, not every site's schedule). Without it a server
 * with K=1 started at most one scheduled task per 15 s tick: 240 an hour, fewer than 300 sites'
 * hourly cron runs.
 */
const BACKLOG_POLL_MS = 1_000;

export interface SchedulerDependencies {
  firings: Pick<
    FiringsRepository,
    'siteSchedules' | 'record' | 'expire' | 'open' | 'scheduledLoad' | 'start'
  >;
  policies: { rules(): Promise<ScopedPolicy[]> };
  /**
   * The task a site's firing starts, made before the firing's transaction (it may read the registry
   * and reserve an archive: on the embedded database, with one connection, nothing else may run
   * inside that transaction); null when there is nothing to start (the site is no longer enabled).
   */
  backups: { taskFor(siteId: string): Promise<NewTask<'site.backup'> | null> };
  /**
   * A restore test of a site's newest backup, on its policy's verify schedule (null: nothing to
   * test); absent: not scheduled here.
   */
  verifies?: { taskFor(siteId: string): Promise<NewTask<'site.backup-verify'> | null> };
  /** A site's Drupal cron run, on its own period (site-cron.ts); absent: not scheduled here. */
  crons?: { taskFor(siteId: string): Promise<NewTask<'site.cron'> | null> };
  /** The store's collector, on a cron expression of its own in UTC (absent: not scheduled here). */
  storeGc?: { schedule: string; taskFor(): NewTask<'store.gc'> };
  /** Inserts a task inside the firing's transaction: the claim and the INSERT commit together. */
  insert(executor: SqlExecutor, task: NewTask): Promise<{ id: string }>;
  /** Wakes the task engine once tasks were queued. */
  wake(): void;
  /**
   * Whether this master runs the schedules now (one of several masters does; absent: always). The
   * firing rows keep a due time to one task anyway; this keeps the others from doing the work twice.
   */
  leads?: () => boolean;
  /** Told of each firing missed (its window closed before it could start). */
  missed?(firing: FiringRow): void;
  config: Pick<MasterConfig, 'scheduledPerServer'>;
  logger: Logger;
}

/** What one pass did (the bench and the tests read it). */
export interface TickReport {
  sites: number;
  recorded: number;
  missed: number;
  started: number;
  /** Open firings left waiting because their servers had their share of scheduled tasks. */
  deferred: number;
}

/**
 * Starts scheduled work when it is due: each pass records the latest due time of every enabled
 * site's backup schedule (and of the store's collector) as a firing row, marks missed those whose
 * window closed, and starts the open ones, at most `scheduledPerServer` scheduled tasks per server
 * at a time. The database decides everything, so a master that was down catches up when it is
 * back and several masters start each firing once; what this process keeps is only a cache.
 */
export class Scheduler {
  /** The due time already recorded per target: a pass skips what the database has. */
  private readonly recorded = new Map<string, number>();
  /** firingOf's cache. */
  private readonly firings = new Map<string, { firing: Firing | null; from: Date; validUntil: Date }>();
  private task: ScheduledTask | undefined;
  private running: Promise<TickReport> | undefined;
  /** The next look at a backlog (BACKLOG_POLL_MS), while firings wait for their servers. */
  private backlog: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The collector catches up on nothing from before this process: it is housekeeping, not a promise. */
  private readonly since = new Date();

  constructor(private readonly deps: SchedulerDependencies) {
    if (deps.storeGc) {
      const gc = checkSchedule(deps.storeGc.schedule);
      if (!gc.ok) throw new Error(`BERTH_STORE_GC_SCHEDULE: ${gc.message}`);
    }
  }

  start(): void {
    this.task = cron.schedule(TICK_EXPRESSION, () => this.tickNow(), { noOverlap: true });
    void this.tickNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.backlog);
    await this.task?.stop();
    await this.task?.destroy();
    await this.running?.catch(() => undefined);
  }

  /** One pass now (a pass already running is waited for instead of overlapping). */
  async tickNow(now = new Date()): Promise<TickReport | undefined> {
    return this.exclusive(() => this.tick(now));
  }

  /**
   * Starts the open firings whose servers have room now, without recording new due times (what a
   * backlog needs between ticks); the same exclusion as a tick.
   */
  async startWaiting(now = new Date()): Promise<TickReport | undefined> {
    return this.exclusive(async () => {
      const { started, deferred } = await this.startOpen(now);
      if (started > 0) this.deps.wake();
      return { sites: 0, recorded: 0, missed: 0, started, deferred };
    });
  }

  private async exclusive(pass: () => Promise<TickReport>): Promise<TickReport | undefined> {
    if (this.deps.leads && !this.deps.leads()) return undefined;
    if (this.running) return this.running.catch(() => undefined);
    this.running = pass();
    try {
      const report = await this.running;
      // A pass looks at one waiting firing per server at most (FiringsRepository.open): after a
      // start there may be more behind it, as after a deferral.
      this.pollBacklog(report.started > 0 || report.deferred > 0);
      return report;
    } catch (error) {
      this.deps.logger.error({ err: error }, 'a scheduler pass failed; the next one tries again');
      return undefined;
    } finally {
      this.running = undefined;
    }
  }

  /** While firings wait for room on their servers, looks again every BACKLOG_POLL_MS. */
  private pollBacklog(waiting: boolean): void {
    if (!waiting || this.stopped || !this.task || this.backlog) return;
    this.backlog = setTimeout(() => {
      this.backlog = undefined;
      void this.startWaiting();
    }, BACKLOG_POLL_MS);
    this.backlog.unref();
  }

  private async tick(now: Date): Promise<TickReport> {
    const { firings, logger } = this.deps;
    const [sites, policies] = await Promise.all([firings.siteSchedules(), this.deps.policies.rules()]);
    const due: NewFiring[] = [];
    const policyOf = policyLookup(policies);
    for (const site of sites) {
      const policy = policyOf(site);
      if (!policy) continue;
      // The backups, and their restore tests in the same window.
      const schedules: Array<[FiringKind, string | null]> = [
        ['backup', policy.schedule],
        ['verify', this.deps.verifies ? policy.verifySchedule : null],
      ];
      for (const [kind, schedule] of schedules) {
        if (!schedule) continue;
        const firing = this.firingOf({ schedule, window: policy.window }, site.timeZone, now);
        // A due time from before the site existed is not its own.
        if (!firing || firing.dueAt < site.createdAt) continue;
        if (this.recorded.get(`${kind}:${site.siteId}`) === firing.dueAt.getTime()) continue;
        due.push({ kind, targetId: site.siteId, policyId: policy.id, ...firing });
      }
    }
    if (this.deps.crons) {
      for (const site of sites) {
        const cron = latestCronFiring(site.siteId, site.cronEveryMinutes, now);
        if (!cron || cron.dueAt < site.createdAt) continue;
        if (this.recorded.get(`cron:${site.siteId}`) === cron.dueAt.getTime()) continue;
        due.push({ kind: 'cron', targetId: site.siteId, policyId: null, ...cron });
      }
    }
    const gc = this.deps.storeGc
      ? this.firingOf({ schedule: this.deps.storeGc.schedule, window: null }, 'UTC', now)
      : null;
    if (
      gc &&
      gc.dueAt >= this.since &&
      this.recorded.get(`store-gc:${STORE_TARGET_ID}`) !== gc.dueAt.getTime()
    ) {
      due.push({ kind: 'store-gc', targetId: STORE_TARGET_ID, policyId: null, ...gc });
    }
    const recorded = await firings.record(due, now);
    for (const firing of due) this.recorded.set(`${firing.kind}:${firing.targetId}`, firing.dueAt.getTime());

    const missed = [...recorded.missed, ...(await firings.expire(now))];
    for (const firing of missed) {
      logger.warn(
        { kind: firing.kind, targetId: firing.targetId, dueAt: firing.dueAt },
        'a scheduled job was missed: its window closed before it could start',
      );
      this.deps.missed?.(firing);
    }

    const { started, deferred } = await this.startOpen(now);
    if (started > 0) this.deps.wake();
    const report = {
      sites: sites.length,
      recorded: recorded.waiting,
      missed: missed.length,
      started,
      deferred,
    };
    if (started > 0 || missed.length > 0) logger.info(report, 'scheduler pass');
    return report;
  }

  /**
   * The latest firing of a schedule in a time zone: computed once per schedule, window and zone
   * and kept until the schedule is due again (every site under one rule shares it, tick after tick).
   */
  private firingOf(rules: ScheduleRules, timeZone: string, now: Date): Firing | null {
    const key = `${rules.schedule}|${rules.window?.start ?? ''}-${rules.window?.end ?? ''}|${timeZone}`;
    const cached = this.firings.get(key);
    if (cached && now >= cached.from && now < cached.validUntil) return cached.firing;
    const computed = latestFiringUntil(rules, timeZone, now);
    this.firings.set(key, { ...computed, from: computed.firing?.dueAt ?? now });
    return computed.firing;
  }

  /** Starts open firings while their servers have room for scheduled work. */
  private async startOpen(now: Date): Promise<{ started: number; deferred: number }> {
    const { firings, config } = this.deps;
    const open = await firings.open(now, OPEN_BATCH, config.scheduledPerServer);
    if (open.length === 0) return { started: 0, deferred: 0 };
    const load = await firings.scheduledLoad();
    let started = 0;
    let deferred = 0;
    for (const firing of open) {
      const servers = [...new Set(firing.serverIds)];
      if (servers.some((server) => (load.get(server) ?? 0) >= config.scheduledPerServer)) {
        deferred++;
        continue;
      }
      const task = await this.taskFor(firing);
      const taskId = await firings.start(firing.id, (executor) =>
        task ? this.deps.insert(executor, task) : Promise.resolve(null),
      );
      if (taskId === null) continue;
      started++;
      for (const server of servers) load.set(server, (load.get(server) ?? 0) + 1);
    }
    return { started, deferred };
  }

  private async taskFor(firing: OpenFiring): Promise<NewTask | null> {
    switch (firing.kind) {
      case 'backup':
        return this.deps.backups.taskFor(firing.targetId);
      case 'verify':
        return (await this.deps.verifies?.taskFor(firing.targetId)) ?? null;
      case 'cron':
        return (await this.deps.crons?.taskFor(firing.targetId)) ?? null;
      case 'store-gc':
        return this.deps.storeGc?.taskFor() ?? null;
    }
  }
}

/**
 * effectivePolicy for many sites: the policies in maps once per pass, instead of a scan of every
 * policy for every site.
 */
function policyLookup(
  policies: readonly ScopedPolicy[],
): (site: { siteId: string; clientId: string | null }) => ScopedPolicy | undefined {
  const bySite = new Map<string, ScopedPolicy>();
  const byClient = new Map<string, ScopedPolicy>();
  let global: ScopedPolicy | undefined;
  for (const policy of policies) {
    if (policy.scope === 'site' && policy.siteId) bySite.set(policy.siteId, policy);
    else if (policy.scope === 'client' && policy.clientId) byClient.set(policy.clientId, policy);
    else if (policy.scope === 'global') global = policy;
  }
  return (site) =>
    bySite.get(site.siteId) ?? (site.clientId ? byClient.get(site.clientId) : undefined) ?? global;
}
