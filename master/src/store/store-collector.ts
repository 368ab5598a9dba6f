import type { Logger } from 'pino';
import type * as api from '../../../shared/src/api.js';
import type { StoreGcReport } from '../../../shared/src/tasks.js';
import { isUuid } from '../../../shared/src/validation.js';
import type { ArchiveStore } from '../backups/archive-store.js';
import type { MasterConfig } from '../infra/config/master-config.js';
import { effectivePolicy, retainedBackups, type ScopedPolicy } from '../schedules/backup-policy.js';
import type { FiringsRepository } from '../schedules/firings.repository.js';
import type { RetentionCandidate, StoreRepository } from './store.repository.js';

/** What one run of the collector removes, decided before anything is removed (recorded by its task). */
export interface CollectionPlan {
  /** Backups past their policy's retention, with their archives. */
  expired: Array<{ backupId: string; domain: string; archiveIds: string[] }>;
  /** Backups whose archive is gone: their rows (and their other archive) go. */
  broken: Array<{ backupId: string; domain: string; archiveId: string; archiveIds: string[] }>;
  /**
   * Backups whose archive file is gone from the store but copied off-site: kept (a restore or a
   * restore test puts it back). Absent in plans recorded before off-site copies.
   */
  offsiteOnly?: Array<{ backupId: string; domain: string; archiveId: string }>;
  /** Archives nothing names any more. */
  unreferenced: string[];
  /** Files of the store no archive row names. */
  strayFiles: string[];
}

/** How long a started or missed firing stays in the registry (the API shows a site's last one). */
const FIRINGS_KEPT_MS = 7 * 24 * 3600_000;

/** How many of the largest sites GET /api/store lists. */
const TOP_SITES = 20;

/**
 * The store's garbage collector: retention per backup policy, archives that nothing names any
 * more (a finished migrate's rollback point, transfers, reservations never used), and the repair
 * of rows and files that disagree. What may still be needed is never touched: a backup or archive
 * an unfinished task names, an archive younger than the grace period (its task may be about to name
 * it), a person's own backups (only they delete those), the newest backup of a site.
 */
export class StoreCollector {
  constructor(
    private readonly deps: {
      store: StoreRepository;
      archives: Pick<ArchiveStore, 'files' | 'removeMany' | 'removeStrayFile'>;
      policies: { rules(): Promise<ScopedPolicy[]> };
      /** The schedules' settled firings, forgotten after FIRINGS_KEPT_MS (absent: kept). */
      firings?: Pick<FiringsRepository, 'prune'>;
      config: Pick<MasterConfig, 'storeGcGraceMs'>;
      logger: Logger;
    },
  ) {}

  async plan(now = new Date()): Promise<CollectionPlan> {
    const { store, archives, config } = this.deps;
    const grace = new Date(now.getTime() - config.storeGcGraceMs);
    const [named, policies, candidates, backups, live] = await Promise.all([
      store.namedByUnfinishedTasks(),
      this.deps.policies.rules(),
      store.retentionCandidates(),
      store.backupArchives(),
      store.liveArchiveIds(),
    ]);
    // The files after the rows: an archive is stored before its backup is recorded, so every file
    // a backup listed above names is on disk by now unless it was lost.
    const files = await archives.files();
    const expired = expiredBackups(candidates, policies).filter(
      (backup) => !named.has(backup.id) && !backup.archiveIds.some((id) => named.has(id)),
    );
    const expiredIds = new Set(expired.map((backup) => backup.id));
    const onDisk = new Set(files.map((file) => file.name));
    const broken: CollectionPlan['broken'] = [];
    const offsiteOnly: NonNullable<CollectionPlan['offsiteOnly']> = [];
    for (const backup of backups) {
      if (expiredIds.has(backup.id) || named.has(backup.id)) continue;
      const gone = backup.archives.filter((archive) => archive.state !== 'stored' || !onDisk.has(archive.id));
      if (gone.length === 0) continue;
      // A file lost from the store with a whole copy off-site is not lost: its row stays.
      const lost = gone.find((archive) => archive.state !== 'stored' || !archive.offsite);
      if (!lost) {
        offsiteOnly.push({ backupId: backup.id, domain: backup.domain, archiveId: gone[0]!.id });
        continue;
      }
      broken.push({
        backupId: backup.id,
        domain: backup.domain,
        archiveId: lost.id,
        archiveIds: backup.archives.map((archive) => archive.id),
      });
    }
    const unreferenced = (await store.unreferencedArchives(grace))
      .map((archive) => archive.id)
      .filter((id) => !named.has(id));
    const strayFiles = files
      .filter((file) => !(isUuid(file.name) && live.has(file.name)) && file.modifiedAt < grace)
      .map((file) => file.name);
    return {
      expired: expired.map((backup) => ({
        backupId: backup.id,
        domain: backup.domain,
        archiveIds: backup.archiveIds,
      })),
      broken,
      offsiteOnly,
      unreferenced,
      strayFiles,
    };
  }

  /** Carries a plan out; running it again (a replay) removes nothing twice and reports the same. */
  async collect(plan: CollectionPlan): Promise<StoreGcReport> {
    const { store, archives, logger } = this.deps;
    const archiveIds = [
      ...plan.expired.flatMap((backup) => backup.archiveIds),
      ...plan.broken.flatMap((backup) => backup.archiveIds),
      ...plan.unreferenced,
    ];
    const sizes = await store.sizes(archiveIds);
    // Rows first: a backup is never listed while its files are half gone.
    await store.removeBackups([...plan.expired, ...plan.broken].map((backup) => backup.backupId));
    await archives.removeMany(archiveIds);
    for (const name of plan.strayFiles) await archives.removeStrayFile(name);
    // Every site's cron adds a firing an hour: the settled ones are history the registry need not keep.
    await this.deps.firings?.prune(new Date(Date.now() - FIRINGS_KEPT_MS));
    for (const backup of plan.broken) {
      logger.error(
        { backupId: backup.backupId, domain: backup.domain, archiveId: backup.archiveId },
        'a backup lost its archive from the store: its record was removed (it could not be restored)',
      );
    }
    return {
      backupsRemoved: plan.expired.length,
      archivesRemoved: plan.unreferenced.length,
      strayFiles: plan.strayFiles.length,
      brokenBackups: plan.broken.map(({ backupId, domain, archiveId }) => ({ backupId, domain, archiveId })),
      offsiteOnly: plan.offsiteOnly ?? [],
      bytesFreed: [...sizes.values()].reduce((sum, bytes) => sum + bytes, 0),
    };
  }

  /** What the store holds, per client and for the largest sites (GET /api/store). */
  async usage(): Promise<api.StoreUsage> {
    const [clients, topSites] = await Promise.all([this.clientUsage(), this.deps.store.topSites(TOP_SITES)]);
    // The backups' totals are the sum of the clients' rows: every backup is in exactly one.
    const backups = {
      count: clients.byClient.reduce((sum, row) => sum + row.backups, 0),
      bytes: clients.byClient.reduce((sum, row) => sum + row.bytes, 0),
    };
    return {
      ...clients,
      backups,
      otherBytes: Math.max(0, clients.totalBytes - backups.bytes),
      topSites: topSites.map((row) => ({ ...row, bytes: Number(row.bytes) })),
    };
  }

  /** The totals and the per-client rows alone: what a metrics scrape reads (two queries). */
  async clientUsage(): Promise<Pick<api.StoreUsage, 'totalBytes' | 'archives' | 'byClient'>> {
    const [totals, byClient] = await Promise.all([this.deps.store.totals(), this.deps.store.byClient()]);
    return {
      totalBytes: Number(totals.bytes),
      archives: totals.archives,
      byClient: byClient.map((row) => ({ ...row, bytes: Number(row.bytes) })),
    };
  }
}

/** The automatic backups each site's policy no longer keeps (sites without a policy keep all). */
export function expiredBackups(
  candidates: readonly RetentionCandidate[],
  policies: readonly ScopedPolicy[],
): RetentionCandidate[] {
  const bySite = new Map<string, RetentionCandidate[]>();
  for (const backup of candidates) {
    const list = bySite.get(backup.siteId);
    if (list) list.push(backup);
    else bySite.set(backup.siteId, [backup]);
  }
  const expired: RetentionCandidate[] = [];
  for (const [siteId, backups] of bySite) {
    const policy = effectivePolicy(policies, { id: siteId, clientId: backups[0]!.clientId });
    if (!policy) continue;
    const kept = retainedBackups(backups, policy.keep, backups[0]!.timeZone);
    expired.push(...backups.filter((backup) => !kept.has(backup.id)));
  }
  return expired;
}
