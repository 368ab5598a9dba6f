import type { Client } from '../../../../shared/src/api.js';
import { Filters, SearchBox } from '../filters.js';
import { keys, POLL, usePage } from '../query.js';
import { href, useFilters, usePager, useTitle } from '../router.js';
import { PagedTable, type Column } from '../table.js';
import { formatTime } from '../util.js';
import { PAGE_SIZE } from './SitesPage.js';

const COLUMNS: Array<Column<Client>> = [
  { header: 'Name', cell: (client) => client.name, sortBy: (client) => client.name },
  { header: 'Email', cell: (client) => client.email ?? '–', sortBy: (client) => client.email },
  {
    header: 'Sites',
    cell: (client) => (
      <a href={href(['sites'], { client: client.name })} aria-label={`Sites of ${client.name}`}>
        sites
      </a>
    ),
  },
  {
    header: 'Added',
    cell: (client) => formatTime(client.createdAt),
    sortBy: (client) => Date.parse(client.createdAt),
  },
];

/** Clients (admins only), in name order, 50 a page, searched by name; each links to its sites. */
export function ClientsPage() {
  useTitle('Clients');
  const { values, set } = useFilters(['q'] as const);
  const pager = usePager();
  const clients = usePage<Client, Record<string, string | number | undefined>>(
    keys.clients,
    '/api/clients',
    { q: values.q, limit: PAGE_SIZE, cursor: pager.cursor },
    POLL.rare,
  );
  return (
    <div className="clients-page">
      <h1 id="clients">Clients</h1>
      <section aria-labelledby="clients">
        <Filters label="Search clients">
          <SearchBox
            label="Search"
            value={values.q}
            placeholder="a piece of the name"
            onChange={(q) => set({ q })}
          />
        </Filters>
        <PagedTable
          label="Clients"
          query={clients}
          pager={pager}
          columns={COLUMNS}
          rowKey={(client) => client.id}
          order="In name order"
          empty={values.q ? 'No client matches.' : 'No clients yet: berth client add NAME'}
        />
        <p className="hint">
          A client&apos;s token sees its own sites, their tasks and backups:{' '}
          <code>berth client token NAME</code> issues one.
        </p>
      </section>
    </div>
  );
}
