import { useQuery } from '@tanstack/react-query';
import type { Cluster, Server } from '../../../../shared/src/api.js';
import { SERVER_ROLES } from '../../../../shared/src/server-roles.js';
import { get } from '../api.js';
import { Filters, FilterSelect, SearchBox } from '../filters.js';
import { errorMessage, keys, POLL, usePage } from '../query.js';
import { href, useFilters, usePager, useTitle } from '../router.js';
import { DataTable, PagedTable, type Column } from '../table.js';
import { Badge, formatTime, Problem } from '../util.js';
import { PAGE_SIZE } from './SitesPage.js';

const FILTERS = ['q', 'role', 'connected'] as const;

const COLUMNS: Array<Column<Server>> = [
  { header: 'Name', cell: (server) => server.name, sortBy: (server) => server.name },
  {
    header: 'Roles',
    cell: (server) => server.roles.join(', ') || '–',
    sortBy: (server) => server.roles.join(','),
  },
  { header: 'Address', cell: (server) => server.address ?? '–', sortBy: (server) => server.address },
  {
    header: 'Agent',
    cell: (server) => <Badge value={server.connected ? 'connected' : 'disconnected'} />,
    sortBy: (server) => (server.connected ? 1 : 0),
  },
  {
    header: 'Slots busy',
    cell: (server) => `${server.slotsBusy} / ${server.slots}`,
    sortBy: (server) => server.slotsBusy / Math.max(1, server.slots),
  },
  {
    header: 'Services',
    cell: (server) =>
      server.services.map((service) => `${service.name} ${service.version ?? ''}`.trim()).join(', ') || '–',
  },
  {
    header: 'Sites',
    cell: (server) => (
      <a href={href(['sites'], { server: server.name })} aria-label={`Sites on ${server.name}`}>
        sites
      </a>
    ),
  },
  {
    header: 'Last seen',
    cell: (server) => formatTime(server.lastSeenAt),
    sortBy: (server) => (server.lastSeenAt ? Date.parse(server.lastSeenAt) : null),
  },
];

const CLUSTER_COLUMNS: Array<Column<Cluster>> = [
  {
    header: 'Name',
    cell: (cluster) => <a href={href(['clusters', cluster.name])}>{cluster.name}</a>,
    sortBy: (cluster) => cluster.name,
  },
  { header: 'Heads', cell: (cluster) => cluster.heads.map((head) => head.name).join(', ') || '–' },
  { header: 'Platforms', cell: (cluster) => cluster.platforms.join(', ') || '–' },
  { header: 'Sites', cell: (cluster) => cluster.sites, sortBy: (cluster) => cluster.sites },
];

/** Servers (admins only), in name order, 50 a page, with whether each agent is connected; then the clusters. */
export function ServersPage() {
  useTitle('Servers');
  const { values, set } = useFilters(FILTERS);
  const pager = usePager();
  const servers = usePage<Server, Record<string, string | number | undefined>>(
    keys.servers,
    '/api/servers',
    { ...values, limit: PAGE_SIZE, cursor: pager.cursor },
    POLL.calm,
  );
  // Clusters are a handful (a few heads each, behind a load balancer): one list.
  const clusters = useQuery({
    queryKey: keys.clusters,
    queryFn: ({ signal }) => get<{ items: Cluster[] }>('/api/clusters', signal),
    refetchInterval: POLL.slow,
  });
  return (
    <div className="servers-page">
      <h1 id="servers">Servers</h1>
      <section aria-labelledby="servers">
        <Filters label="Search and filter servers">
          <SearchBox
            label="Search"
            value={values.q}
            placeholder="a piece of the name"
            onChange={(q) => set({ q })}
          />
          <FilterSelect
            label="Role"
            value={values.role}
            options={SERVER_ROLES}
            onChange={(role) => set({ role })}
          />
          <FilterSelect
            label="Agent"
            value={values.connected}
            options={[
              { value: 'true', label: 'connected' },
              { value: 'false', label: 'not connected' },
            ]}
            onChange={(connected) => set({ connected })}
          />
        </Filters>
        <PagedTable
          label="Servers"
          query={servers}
          pager={pager}
          columns={COLUMNS}
          rowKey={(server) => server.id}
          order="In name order"
          empty={
            FILTERS.some((name) => values[name])
              ? 'No server matches.'
              : 'No servers yet: berth server add NAME'
          }
        />
      </section>
      <section aria-labelledby="clusters">
        <h2 id="clusters">Clusters</h2>
        <Problem message={errorMessage(clusters.error)} />
        {clusters.data && clusters.data.items.length > 0 && (
          <DataTable
            label="Clusters"
            rows={clusters.data.items}
            columns={CLUSTER_COLUMNS}
            rowKey={(cluster) => cluster.id}
            order="In name order"
          />
        )}
        {clusters.data?.items.length === 0 && (
          <p className="empty">
            No clusters: berth cluster add NAME --servers A,B (web servers behind a load balancer).
          </p>
        )}
      </section>
    </div>
  );
}
