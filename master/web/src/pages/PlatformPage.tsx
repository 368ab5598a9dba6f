import type { Package, Platform, Site } from '../../../../shared/src/api.js';
import { api, encode } from '../api.js';
import { Badge, formatTime, Problem, usePolled } from '../util.js';
import { PackageTable } from './SitePage.js';

/** A platform (admins only): its codebase, packages with schema versions, and the sites on it. */
export function PlatformPage({ name }: { name: string }) {
  const { data, error } = usePolled(
    async () => {
      const [platform, sites] = await Promise.all([
        api<Platform & { packages: Package[] }>('GET', `/api/platforms/${encode(name)}`),
        api<{ items: Site[] }>('GET', '/api/sites'),
      ]);
      return { platform, sites: sites.items.filter((site) => site.platform === platform.name) };
    },
    5000,
    [name],
  );
  if (!data) return <Problem message={error} />;
  const { platform, sites } = data;
  return (
    <div className="platform-page">
      <h1>
        {platform.name} <Badge value={platform.status} /> {platform.locked && <Badge value="locked" />}
      </h1>
      <dl className="facts">
        <dt>Drupal core</dt>
        <dd>{platform.coreVersion ?? '–'}</dd>
        <dt>{platform.cluster ? 'Cluster' : 'Server'}</dt>
        <dd>
          {platform.cluster ? (
            <a href={`#/clusters/${encode(platform.cluster)}`}>{platform.cluster}</a>
          ) : (
            platform.serverName
          )}
        </dd>
        <dt>Path</dt>
        <dd>
          <code>{platform.path}</code>
        </dd>
        <dt>Verified</dt>
        <dd>{formatTime(platform.verifiedAt)}</dd>
      </dl>
      <section aria-labelledby="platform-sites">
        <h2 id="platform-sites">Sites on it</h2>
        {sites.length === 0 ? (
          <p className="empty">No sites.</p>
        ) : (
          <ul>
            {sites.map((site) => (
              <li key={site.id}>
                <a href={`#/sites/${encode(site.domain)}`}>{site.domain}</a> <Badge value={site.status} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="platform-packages">
        <h2 id="platform-packages">Packages and schema versions</h2>
        <PackageTable packages={platform.packages} />
      </section>
    </div>
  );
}
