import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { buildFixturePlatform, type FixturePlatformName } from '../fixtures/platforms.js';
import { startLoadBalancer, type LoadBalancer } from './load-balancer.js';
import { startSeveralHosts, type SeveralHosts } from './several-hosts.js';

/**
 * A Berth cluster on test hosts: `heads` web hosts (web1, web2, ...) grouped in cluster `front`
 * with one site directory they share, a db host (db1), and a load balancer host (lb) in front of
 * the heads. The shared directory is web1's `<root>/sites`, which every other head has at its own
 * `<root>/sites` (a link here; an NFS or GlusterFS mount in production). Each platform is built on
 * every head under its root and added with `--cluster front`.
 */
export interface ClusterHosts extends SeveralHosts {
  heads: string[];
  lb: LoadBalancer;
  /** web1's site directory of `domain`, which every head serves. */
  siteDir(domain: string): string;
}

export const CLUSTER = 'front';

export async function startClusterHosts(options: {
  label: string;
  heads: number;
  /**
   * Web hosts beyond the heads (web<heads+1>, ...): they see the shared site directory but are no
   * heads and have no platforms (to join the cluster later).
   */
  spares?: number;
  /** Registry name → fixture: built on every head, added to the cluster. */
  platforms: Record<string, FixturePlatformName>;
}): Promise<ClusterHosts> {
  const heads = Array.from({ length: options.heads }, (_, index) => `web${index + 1}`);
  const spares = Array.from({ length: options.spares ?? 0 }, (_, index) => `web${options.heads + index + 1}`);
  const hosts = await startSeveralHosts({
    label: options.label,
    webs: Object.fromEntries([...heads, ...spares].map((head) => [head, {}])),
    dbs: ['db1'],
  });
  try {
    const sitesOf = (head: string) => join(hosts.webs[head]!.root, 'sites');
    mkdirSync(sitesOf(heads[0]!), { recursive: true });
    for (const head of [...heads.slice(1), ...spares]) {
      rmSync(sitesOf(head), { recursive: true, force: true });
      symlinkSync(sitesOf(heads[0]!), sitesOf(head));
    }
    await hosts.berth('cluster', 'add', CLUSTER, '--servers', heads.join(','));
    for (const [name, fixture] of Object.entries(options.platforms)) {
      for (const head of heads)
        buildFixturePlatform(fixture, join(hosts.webs[head]!.root, 'platforms', name));
      await hosts.berth(
        'platform',
        'add',
        name,
        '--cluster',
        CLUSTER,
        '--path',
        join(hosts.webs[heads[0]!]!.root, 'platforms', name),
      );
    }
    const lb = await startLoadBalancer(
      await hosts.network.addHost('lb'),
      heads.map((head) => hosts.webs[head]!.host.address),
    );
    return {
      ...hosts,
      heads,
      lb,
      siteDir: (domain) => join(sitesOf(heads[0]!), domain),
      logs: () => `${hosts.logs()}\n${lb.logs()}`,
    };
  } catch (error) {
    await hosts.stop().catch(() => undefined);
    throw error;
  }
}
