import { useState, type FormEvent } from 'react';
import type { AuditEvent } from '../../../../shared/src/api.js';
import { keys, POLL, usePage } from '../query.js';
import { href, useFilters, usePager, useTitle } from '../router.js';
import { PagedTable, type Column } from '../table.js';
import { formatTime } from '../util.js';
import { PAGE_SIZE } from './SitesPage.js';

interface Filter {
  /** ISO 8601, as the API takes it; empty for no lower bound. */
  since: string;
  target: string;
}

const COLUMNS: Array<Column<AuditEvent>> = [
  { header: 'When', cell: (event) => formatTime(event.at), sortBy: (event) => Date.parse(event.at) },
  {
    header: 'Who',
    cell: (event) => <span title={event.role ?? undefined}>{who(event)}</span>,
    sortBy: who,
  },
  {
    header: 'What',
    cell: (event) => (
      <code title={event.path}>
        {event.method} {event.route ?? event.path}
      </code>
    ),
  },
  { header: 'Target', cell: target },
  { header: 'Address', cell: (event) => event.address ?? '–' },
  { header: 'Status', cell: (event) => event.status ?? 'no answer', sortBy: (event) => event.status },
  {
    header: 'Task or error',
    cell: (event) =>
      event.taskId ? (
        <a href={href(['tasks', event.taskId])} title={event.taskId}>
          task {event.taskId.slice(0, 8)}
        </a>
      ) : event.errorCode ? (
        <code>{event.errorCode}</code>
      ) : (
        '–'
      ),
  },
];

/**
 * The audit log (admins only): every change made through the API, refused ones too, newest first,
 * 50 a page (Next goes to older events), filtered by target and by a lower bound in time; the
 * filter and the page are in the route (#/audit?target=…&since=…&cursor=…).
 */
export function AuditPage() {
  useTitle('Audit');
  const { values: filter, set } = useFilters(['since', 'target'] as const);
  const pager = usePager();
  const events = usePage<AuditEvent, Record<string, string | number | undefined>>(
    keys.audit,
    '/api/audit',
    { ...filter, limit: PAGE_SIZE, cursor: pager.cursor },
    POLL.calm,
  );
  const filtered = filter.since !== '' || filter.target !== '';
  return (
    <div className="audit-page">
      <h1>Audit</h1>
      <AuditFilter filter={filter} onFilter={set} />
      <section aria-labelledby="events">
        <h2 id="events">Changes {filtered && <span className="summary">filtered</span>}</h2>
        <PagedTable
          label="Changes"
          query={events}
          pager={pager}
          columns={COLUMNS}
          rowKey={(event) => event.id}
          order="Newest first"
          rowClass={(event) => (unsuccessful(event) ? 'row-error' : undefined)}
          empty={filtered ? 'No changes recorded that match.' : 'No changes recorded yet.'}
        />
      </section>
    </div>
  );
}

/** What a datetime-local input shows for an ISO time: the browser's local time, to the second. */
function localInput(iso: string): string {
  if (!iso || Number.isNaN(Date.parse(iso))) return '';
  const at = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}` +
    `T${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`
  );
}

function AuditFilter({ filter, onFilter }: { filter: Filter; onFilter: (filter: Filter) => void }) {
  const [target, setTarget] = useState(filter.target);
  // datetime-local: the browser's local time, which is how formatTime shows the events' times.
  const [since, setSince] = useState(() => localInput(filter.since));
  // Back or a link changed the filter: the form shows it.
  const [shownFilter, setShownFilter] = useState(filter);
  if (shownFilter.since !== filter.since || shownFilter.target !== filter.target) {
    setShownFilter(filter);
    setTarget(filter.target);
    setSince(localInput(filter.since));
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onFilter({ since: since ? new Date(since).toISOString() : '', target: target.trim() });
  };
  const clear = () => {
    setTarget('');
    setSince('');
    onFilter({ since: '', target: '' });
  };
  return (
    <section aria-labelledby="audit-filter">
      <h2 id="audit-filter">Filter</h2>
      <form className="inline" onSubmit={submit}>
        <label>
          Target
          <input
            name="target"
            value={target}
            placeholder="www.example.org"
            onChange={(e) => setTarget(e.target.value)}
          />
        </label>
        <label>
          Since
          <input
            name="since"
            type="datetime-local"
            step={1}
            value={since}
            onChange={(e) => setSince(e.target.value)}
          />
        </label>
        <button type="submit">Filter</button>
        <button type="button" className="link" onClick={clear}>
          Clear
        </button>
      </form>
      <p className="hint">
        A target is a domain, a server&apos;s, client&apos;s or platform&apos;s name, or a task id.
      </p>
    </section>
  );
}

function unsuccessful(event: AuditEvent): boolean {
  return event.status === null || event.status >= 400;
}

/** The token's name; for a request without a valid one, why (as `berth audit list` says it). */
function who(event: AuditEvent): string {
  if (event.tokenName) return event.tokenName;
  if (event.errorCode === 'AUTH_MISSING_TOKEN') return '(no token)';
  if (event.errorCode === 'AUTH_INVALID_TOKEN') return '(invalid token)';
  return '–';
}

/** The route's parameters; where the route names none (an install), what the body named. */
function target(event: AuditEvent): string {
  const values = Object.values(event.target);
  if (values.length > 0) return values.join(' ');
  const named = event.summary?.domain ?? event.summary?.name;
  return typeof named === 'string' ? named : '–';
}
