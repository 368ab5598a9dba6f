import { StepErrorCode } from '../../../../shared/src/errors.js';
import { StepFailedError, TaskRefusedError, type Workflow } from '../../tasks/workflow.js';
import { SiteSteps, vhostOf, type SiteTaskDependencies } from './site-steps.js';

/**
 * Brings one head of a cluster up to date (`berth cluster sync`), after tasks went on without it
 * (--without-head) or when it joined a cluster that has platforms: each platform it lacks copied
 * from the first head, its codebases checked against the first head's, then for every installed site
 * on the cluster's platforms its database grant from this head, its settings, its link and its
 * vhost as the site is now; the vhosts of sites that are gone removed. Only this head is touched,
 * one step after the other (it is out of service meanwhile). Then it is no longer stale, and the
 * site tasks include it again.
 */
export function headSyncWorkflow(deps: SiteTaskDependencies): Workflow<'cluster.sync-head'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const { serverId, serverName } = context.task.params;
    const head = await context.record('head.place', () => deps.places.head(serverId));
    if (!head?.address) throw new TaskRefusedError(`the address of ${serverName} is not known yet`);
    const cluster = await context.record('cluster.places', () =>
      deps.places.ofCluster(context.task.targetId),
    );

    for (const platform of cluster.platforms) {
      const [scanned, source] = await Promise.allSettled([
        context.step(serverId, 'platform.scan', { platform: platform.name }),
        context.step(platform.serverId, 'platform.scan', { platform: platform.name }),
      ]);
      if (source.status === 'rejected') throw source.reason;
      let mine: string | null;
      if (scanned.status === 'fulfilled') mine = scanned.value.content?.sha256 ?? null;
      else {
        // Not on this head (a head that joined after the platform): copied from the first head.
        const missing: unknown = scanned.reason;
        if (!(missing instanceof StepFailedError && missing.failure.code === StepErrorCode.NotFound))
          throw missing;
        await context.scope(`copy ${platform.name}`, async () => {
          const archiveId = await context.record('archives.reserve', () =>
            deps.archives.reserve(platform.serverId, 'transfer'),
          );
          context.cleanup('remove the copy from the store', () =>
            context.record('archives.remove', () => deps.archives.remove(archiveId)),
          );
          await context.step(platform.serverId, 'platform.archive', { platform: platform.name, archiveId });
          await context.step(serverId, 'platform.extract', { platform: platform.name, archiveId });
        });
        await context.log(`copied ${platform.name} from ${platform.serverName} to ${serverName}`);
        const rescanned = await context.step(serverId, 'platform.scan', { platform: platform.name });
        mine = rescanned.content?.sha256 ?? null;
      }
      const theirs = source.value.content?.sha256 ?? null;
      if (!mine || mine !== theirs)
        throw new TaskRefusedError(
          `the codebase of ${platform.name} on ${serverName} (${mine?.slice(0, 12) ?? 'none'}) differs from ` +
            `${platform.serverName}'s (${theirs?.slice(0, 12) ?? 'none'}): deploy it there first`,
        );
    }

    for (const site of cluster.sites) {
      await context.step(site.db, 'db.create', { ...steps.database(site), host: head.address });
      await steps.writeSettingsOn(context, site, serverId, true);
      await context.step(serverId, 'site.link', site.on);
      await context.step(serverId, 'http.write-vhost', {
        ...vhostOf(site),
        ...(site.status === 'disabled' ? { disabled: true } : {}),
      });
    }

    const { domains } = await context.step(serverId, 'http.list-vhosts', {});
    const known = await context.record('sites.knownDomains', () => deps.sites.knownDomains(domains));
    const gone = domains.filter((domain) => !known.includes(domain));
    for (const domain of gone) await context.step(serverId, 'http.remove-vhost', { domain });

    await context.record('heads.clearStale', () => deps.heads.clearStale(serverId));
    // The head makes its own keys: each site on HTTPS gets its certificate there in a task of its own.
    for (const site of cluster.sites.filter((item) => item.edge?.https?.mode === 'letsencrypt'))
      await context.record('certificates.queue', () => deps.edges.queueCertificate(site.siteId));
    await context.log(
      `${serverName} is up to date: ${cluster.sites.length} sites, ${gone.length} vhosts of sites gone removed`,
    );
    return { head: serverName, sites: cluster.sites.length, removedVhosts: gone };
  };
}
