import type { ScratchSite, TaskType } from '../../../../shared/src/tasks.js';
import { validateHostname } from '../../../../shared/src/validation.js';
import type { TaskContext } from '../../tasks/workflow.js';
import { siteDatabaseNames } from '../site-names.js';
import type { BackupParts, PlatformPlace, RestoreOptions, SitePlace, SiteSteps } from './site-steps.js';

/**
 * The names of a throwaway site beside a live one — `<prefix>-<hex>.<domain>`, with a database and
 * user of its own — or why there are none (a domain too long to have one beside it). Pure.
 */
export function scratchSiteNames(
  prefix: 'rehearsal' | 'verify' | 'green',
  domain: string,
  random: Buffer,
): { ok: true; scratch: ScratchSite } | { ok: false; message: string } {
  const scratchDomain = `${prefix}-${random.subarray(0, 4).toString('hex')}.${domain}`;
  if (!validateHostname(`${prefix} domain`, scratchDomain).ok) {
    return { ok: false, message: `${domain} is too long for a ${prefix} copy beside it` };
  }
  const names = siteDatabaseNames(scratchDomain, () => random);
  return { ok: true, scratch: { domain: scratchDomain, database: names.database, user: names.user } };
}

/**
 * A backup deployed as a throwaway site on a platform of the live site's server: its own database
 * and user, the backup's files and dump (each checked against its sha256 on the way), settings,
 * link, vhost, then `beforeProbe` (a rehearsal's updates) and a probe that must answer 200. Every
 * clean-up is registered before the first step and runs whatever happens, each even if one before
 * it fails: the copy never outlives the scope that called this (the caller's scope removes it).
 */
export async function deployScratchSite(
  context: TaskContext<TaskType>,
  steps: SiteSteps,
  /** The live site where the copy goes beside it: its web and db servers, its database's address. */
  place: SitePlace,
  backup: BackupParts,
  scratch: ScratchSite,
  platform: PlatformPlace,
  beforeProbe?: (on: { domain: string; platform: string }) => Promise<void>,
  /** The copy's database filled already (the backup's dump went into it too), its files copied. */
  options: RestoreOptions = {},
): Promise<{ status: number }> {
  const grant = { database: scratch.database, user: scratch.user, host: steps.grantHost(place) };
  const on = { domain: scratch.domain, platform: platform.name };
  // A database filled by the caller is the caller's to drop (it made it before this scope).
  if (!options.databaseFilled) {
    context.cleanup("drop the copy's database", async () => {
      await context.step(place.db, 'db.drop', grant);
    });
  }
  context.cleanup("remove the copy's directory", async () => {
    await context.step(place.web, 'site.remove', { domain: scratch.domain });
  });
  context.cleanup('unlink the copy', async () => {
    await context.step(place.web, 'site.unlink', on);
  });
  context.cleanup("remove the copy's vhost", async () => {
    await context.step(place.web, 'http.remove-vhost', { domain: scratch.domain });
  });
  if (!options.databaseFilled) await context.step(place.db, 'db.create', grant);
  await steps.restoreBackup(
    context,
    backup,
    { web: place.web, db: place.db, domain: scratch.domain, database: scratch.database },
    options,
  );
  // The copy runs in the server's shared pool: a pool of its own would restart PHP-FPM twice per
  // copy (a reload to add it, one to remove it), each emptying every site's opcache on the server.
  await context.step(place.web, 'site.write-settings', {
    domain: scratch.domain,
    platformPath: platform.path,
    database: scratch.database,
    user: scratch.user,
    dbHost: place.database.host,
    dbPort: place.database.port,
    trustedHosts: [scratch.domain],
  });
  await context.step(place.web, 'site.link', on);
  await beforeProbe?.(on);
  await context.step(place.web, 'http.write-vhost', on);
  const probe = await context.step(place.web, 'probe.http', { domain: scratch.domain, expectStatus: [200] });
  return { status: probe.status };
}
