import type { DataSource } from 'typeorm';
import { sqlRows } from '../../infra/db/sql.js';
import { TASK_PRIORITY, type NewTask } from '../../tasks/tasks.repository.js';

/** An archive id for scheduled backups in tests: never uploaded to. */
const TEST_ARCHIVE_ID = '00000000-0000-4000-8000-000000000001';

/**
 * What the sites service gives the scheduler (SitesService.scheduledBackup, scheduledCron), read
 * straight from the registry: the task for an enabled site, null for any other. Tests and benches.
 */
export function scheduledTasksFrom(db: DataSource): {
  backup(siteId: string): Promise<NewTask<'site.backup'> | null>;
  cron(siteId: string): Promise<NewTask<'site.cron'> | null>;
  verify(siteId: string): Promise<NewTask<'site.backup-verify'> | null>;
} {
  const enabled = async (siteId: string) => {
    const [site] = await sqlRows<{ domain: string; status: string }>(
      db,
      `SELECT domain, status FROM sites WHERE id = $1`,
      [siteId],
    );
    return site?.status === 'enabled' ? site : undefined;
  };
  const common = (siteId: string, domain: string) => ({
    targetId: siteId,
    targetName: domain,
    lockKey: `site:${siteId}`,
    createdBy: 'scheduler',
    priority: TASK_PRIORITY.scheduled,
  });
  return {
    backup: async (siteId) => {
      const site = await enabled(siteId);
      if (!site) return null;
      return {
        type: 'site.backup',
        ...common(siteId, site.domain),
        params: { archiveId: TEST_ARCHIVE_ID, reason: 'scheduled' },
      };
    },
    cron: async (siteId) => {
      const site = await enabled(siteId);
      if (!site) return null;
      return { type: 'site.cron', ...common(siteId, site.domain), params: {} };
    },
    // The newest backup of an enabled site (none: nothing to test), into a scratch site never made.
    verify: async (siteId) => {
      const site = await enabled(siteId);
      const [newest] = await sqlRows<{ id: string }>(
        db,
        `SELECT id FROM backups WHERE site_id = $1 ORDER BY created_at DESC LIMIT 1`,
        [siteId],
      );
      if (!site || !newest) return null;
      return {
        type: 'site.backup-verify',
        ...common(siteId, site.domain),
        params: {
          backupId: newest.id,
          scratch: { domain: `verify-0.${site.domain}`, database: 'verify_db', user: 'verify_user' },
          reason: 'scheduled',
        },
      };
    },
  };
}
