import { useQuery } from '@tanstack/react-query';
import type { Package, Platform, Site } from '../../../../shared/src/api.js';
import { encode, get } from '../api.js';
import { siteColumns } from '../columns.js';
import { errorMessage, keys, POLL, usePage } from '../query.js';
import { href, usePager, useTitle } from '../router.js';
import { PagedTable } from '../table.js';
import { Badge, formatTime, Problem } from '../util.js';
import { PackageTable } from './SitePage.js';
import { PAGE_SIZE, sitesInterval } from './SitesPage.js';

/** A platform (admins only): its codebase, packages with schema versions, and the sites on it. */
export function PlatformPage({ name }: { name: string }) {
  useTitle(name, 'Platforms');
  const platform = useQuery({
    queryKey: [...keys.platforms, 'one', name],
    queryFn: ({ signal }) =>
      get<Platform & { packages: Package[] }>(`/api/platforms/${encode(name)}`, signal),
    refetchInterval: (query) => (query.state.data?.status === 'building' ? POLL.busy : POLL.slow),
  });
  const pager = usePager('sites');
  const sites = usePage<Site, { platform: string; limit: number; cursor: string | undefined }>(
    keys.sites,
    '/api/sites',
    { platform: name, limit: PAGE_SIZE, cursor: pager.cursor },
    sitesInterval,
  );
  if (!platform.data) return <Problem message={errorMessage(platform.error)} />;
  const current = platform.data;
  return (
    <div className="platform-page">
      <h1>
        {current.name} <Badge value={current.status} /> {current.locked && <Badge value="locked" />}
      </h1>
      <dl className="facts">
        <dt>Drupal core</dt>
        <dd>{current.coreVersion ?? '–'}</dd>
        <dt>{current.cluster ? 'Cluster' : 'Server'}</dt>
        <dd>
          {current.cluster ? (
            <a href={href(['clusters', current.cluster])}>{current.cluster}</a>
          ) : (
            <a href={href(['servers'], { q: current.serverName })}>{current.serverName}</a>
          )}
        </dd>
        <dt>Path</dt>
        <dd>
          <code>{current.path}</code>
        </dd>
        <dt>Verified</dt>
        <dd>{formatTime(current.verifiedAt)}</dd>
      </dl>
      <section aria-labelledby="platform-sites">
        <h2 id="platform-sites">
          Sites on it{' '}
          <a className="more" href={href(['sites'], { platform: current.name })}>
            search them
          </a>
        </h2>
        <PagedTable
          label="Sites on it"
          query={sites}
          pager={pager}
          columns={siteColumns(true)}
          rowKey={(site) => site.id}
          order="In domain order"
          empty="No sites."
        />
      </section>
      <section aria-labelledby="platform-packages">
        <h2 id="platform-packages">Packages and schema versions</h2>
        <PackageTable packages={current.packages} />
      </section>
    </div>
  );
}
