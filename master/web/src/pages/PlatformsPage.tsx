import type { Platform, Server } from '../../../../shared/src/api.js';
import { Filters, FilterSelect, SearchBox, withCurrent } from '../filters.js';
import { keys, POLL, usePage } from '../query.js';
import { href, useFilters, usePager, useTitle } from '../router.js';
import { PagedTable, type Column } from '../table.js';
import { Badge, formatTime } from '../util.js';
import { CHOICES_LIMIT, PAGE_SIZE } from './SitesPage.js';

/** A platform's states in the registry (master/src/platforms/platform.entity.ts). */
export const PLATFORM_STATUSES = ['new', 'building', 'verified', 'failed', 'deleted'] as const;

const FILTERS = ['q', 'server', 'status'] as const;

const COLUMNS: Array<Column<Platform>> = [
  {
    header: 'Name',
    cell: (platform) => <a href={href(['platforms', platform.name])}>{platform.name}</a>,
    sortBy: (platform) => platform.name,
  },
  {
    header: 'Core',
    cell: (platform) => platform.coreVersion ?? '–',
    sortBy: (platform) => platform.coreVersion,
  },
  {
    header: 'Server',
    cell: (platform) =>
      platform.cluster ? (
        <a href={href(['clusters', platform.cluster])}>cluster {platform.cluster}</a>
      ) : (
        platform.serverName
      ),
    sortBy: (platform) => platform.cluster ?? platform.serverName,
  },
  {
    header: 'Status',
    cell: (platform) => (
      <>
        <Badge value={platform.status} /> {platform.locked && <Badge value="locked" />}
      </>
    ),
    sortBy: (platform) => platform.status,
  },
  {
    header: 'Verified',
    cell: (platform) => formatTime(platform.verifiedAt),
    sortBy: (platform) => (platform.verifiedAt ? Date.parse(platform.verifiedAt) : null),
  },
];

/** Platforms (admins only), in name order, 50 a page: searched by name, by server and state. */
export function PlatformsPage() {
  useTitle('Platforms');
  const { values, set } = useFilters(FILTERS);
  const pager = usePager();
  const platforms = usePage<Platform, Record<string, string | number | undefined>>(
    keys.platforms,
    '/api/platforms',
    { ...values, limit: PAGE_SIZE, cursor: pager.cursor },
    (page) => (page?.items.some((platform) => platform.status === 'building') ? POLL.busy : POLL.slow),
  );
  const servers = usePage<Server, { limit: number }>(
    keys.servers,
    '/api/servers',
    { limit: CHOICES_LIMIT },
    POLL.rare,
  );
  const serverNames = (servers.data?.items ?? []).map((server) => server.name);
  return (
    <div className="platforms-page">
      <h1 id="platforms">Platforms</h1>
      <section aria-labelledby="platforms">
        <Filters label="Search and filter platforms">
          <SearchBox
            label="Search"
            value={values.q}
            placeholder="a piece of the name"
            onChange={(q) => set({ q })}
          />
          <FilterSelect
            label="Server"
            value={values.server}
            options={withCurrent(serverNames, values.server)}
            onChange={(server) => set({ server })}
          />
          <FilterSelect
            label="Status"
            value={values.status}
            options={PLATFORM_STATUSES}
            onChange={(status) => set({ status })}
          />
        </Filters>
        <PagedTable
          label="Platforms"
          query={platforms}
          pager={pager}
          columns={COLUMNS}
          rowKey={(platform) => platform.id}
          order="In name order"
          empty={
            FILTERS.some((name) => values[name])
              ? 'No platform matches.'
              : 'No platforms yet: berth platform add NAME --server S'
          }
        />
      </section>
    </div>
  );
}
