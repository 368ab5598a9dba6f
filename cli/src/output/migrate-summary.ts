import type { Task } from '../api-types.js';
import { renderTable } from './table.js';

/**
 * The summary of a task that migrates many sites (platform migrate-sites, server drain, and a
 * platform update's `upgrade`) as a table.
 */
export function renderMigrateSummary(task: Task, result: unknown = task.result): string {
  const summary = result as {
    sites: Array<{ domain: string; state: string; offlineMs?: number | null; reason?: string }>;
  } | null;
  return renderTable(
    [{ header: 'SITE' }, { header: 'RESULT' }, { header: 'OFFLINE', align: 'right' }],
    (summary?.sites ?? []).map((site) => [
      site.domain,
      site.state === 'migrated' ? 'migrated' : `failed: ${site.reason ?? ''}`,
      site.offlineMs == null ? '-' : `${site.offlineMs} ms`,
    ]),
  );
}
