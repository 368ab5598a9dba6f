import type { SecretBox } from '../infra/crypto/secret-box.js';
import type { StepSecretResolver } from '../tasks/engine/dispatcher.js';
import type { TasksRepository } from '../tasks/tasks.repository.js';
import type { SiteEntity } from './site.entity.js';
import type { SitesRepository } from './sites.repository.js';

/** The steps that are sent their site's database password (see StepDefinitions' `secrets`). */
const NEEDS_DATABASE_PASSWORD: ReadonlySet<string> = new Set(['db.create', 'site.write-settings']);
/** The steps that read a site's own repository, and so get its deploy key when it has one. */
const READS_SITE_REPOSITORY: ReadonlySet<string> = new Set(['site.code-fetch']);

/**
 * Whose database password a site task's steps get: the site the task targets, unless its params name
 * another in `secretsFrom` (a clone runs on its source but creates the new site's database). Params
 * of site tasks are written by the sites service only, never taken from a request.
 */
export function secretsSiteId(task: { targetId: string; params: Record<string, unknown> }): string {
  const named = task.params.secretsFrom;
  return typeof named === 'string' && named !== '' ? named : task.targetId;
}

/**
 * Resolves a step's secrets when it is sent: the password of the site its task targets (or names, see
 * secretsSiteId), or its repository's deploy key, decrypted from the registry at that moment and
 * never written with the step.
 */
export function siteSecretResolver(
  tasks: Pick<TasksRepository, 'findTask'>,
  sites: Pick<SitesRepository, 'findById' | 'findByDomainOrId' | 'findByDatabase'>,
  box: Pick<SecretBox, 'decrypt'>,
): StepSecretResolver {
  return async (attempt): Promise<Record<string, string>> => {
    if (READS_SITE_REPOSITORY.has(attempt.name)) {
      const task = await tasks.findTask(attempt.taskId);
      const site = task?.targetKind === 'site' ? await sites.findById(task.targetId) : null;
      return site?.repositoryKeyEncrypted ? { deployKey: box.decrypt(site.repositoryKeyEncrypted) } : {};
    }
    if (!NEEDS_DATABASE_PASSWORD.has(attempt.name)) return {};
    const task = await tasks.findTask(attempt.taskId);
    let site: SiteEntity | null = null;
    if (task?.targetKind === 'site') site = await sites.findById(secretsSiteId(task));
    else if (task?.type === 'cluster.sync-head') site = await syncedSite(sites, attempt);
    return site ? { dbPassword: box.decrypt(site.dbPasswordEncrypted) } : {};
  };
}

/**
 * A head's sync (one task for the cluster) writes each site's settings and grant: the site is the
 * one the step names (its domain, or its database on that db server), as the workflow wrote them
 * from the registry; never a request's.
 */
function syncedSite(
  sites: Pick<SitesRepository, 'findByDomainOrId' | 'findByDatabase'>,
  attempt: { name: string; serverId: string; params: Record<string, unknown> },
): Promise<SiteEntity | null> {
  const { domain, database } = attempt.params;
  if (attempt.name === 'site.write-settings' && typeof domain === 'string')
    return sites.findByDomainOrId(domain);
  if (attempt.name === 'db.create' && typeof database === 'string')
    return sites.findByDatabase(attempt.serverId, database);
  return Promise.resolve(null);
}
