import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { AuditEvent } from '../../../../shared/src/api.js';
import { get, withQuery } from '../api.js';
import { errorMessage, keys, POLL } from '../query.js';
import { href, useFilters, useTitle } from '../router.js';
import { formatTime, Problem } from '../util.js';

/** Events a page asks for at first, and how many more each "load more" adds. */
const PAGE = 50;
/** The most GET /api/audit answers with at once (AuditService's MAX_LIMIT). */
const MAX_LIMIT = 1000;

interface Filter {
  /** ISO 8601, as the API takes it; empty for no lower bound. */
  since: string;
  target: string;
}

/**
 * The audit log (admins only): every change made through the API, refused ones too, newest first.
 * The API takes a lower bound (since) and a count (limit), no cursor: older events are reached by
 * asking for more of the newest, up to the API's limit.
 */
export function AuditPage() {
  useTitle('Audit');
  // The filter is in the route (#/audit?target=…&since=…); how many are shown is not.
  const { values: filter, set } = useFilters(['since', 'target'] as const);
  const [shown, setShown] = useState({ filter: '', limit: PAGE });
  const filterKey = `${filter.since}|${filter.target}`;
  const limit = shown.filter === filterKey ? shown.limit : PAGE;
  const events = useQuery({
    queryKey: [...keys.audit, filter, limit],
    queryFn: ({ signal }) =>
      get<{ items: AuditEvent[] }>(withQuery('/api/audit', { limit, ...filter }), signal),
    placeholderData: keepPreviousData,
    refetchInterval: POLL.calm,
  });
  const items = events.data?.items;
  // A full answer may have older events behind it; a shorter one has shown them all.
  const more = items !== undefined && items.length === limit;
  const filtered = filter.since !== '' || filter.target !== '';
  return (
    <div className="audit-page">
      <h1>Audit</h1>
      <AuditFilter filter={filter} onFilter={set} />
      <section aria-labelledby="events">
        <h2 id="events">
          Changes{' '}
          {items && (
            <span className="summary">
              {items.length} shown, newest first{filtered ? ', filtered' : ''}
            </span>
          )}
        </h2>
        <Problem message={errorMessage(events.error)} />
        {!items && !events.error && <p className="loading">Loading…</p>}
        {items && items.length > 0 && <EventTable events={items} />}
        {items?.length === 0 && (
          <p className="empty">{filtered ? 'No changes recorded that match.' : 'No changes recorded yet.'}</p>
        )}
        {more && (
          <div className="actions">
            {limit < MAX_LIMIT ? (
              <button
                type="button"
                onClick={() => setShown({ filter: filterKey, limit: Math.min(limit + PAGE, MAX_LIMIT) })}
              >
                Load more (older)
              </button>
            ) : (
              <p className="hint">
                The API answers with at most {MAX_LIMIT} events at once: narrow by target or a later
                &ldquo;since&rdquo; to see others, or use <code>berth audit list</code>.
              </p>
            )}
          </div>
        )}
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

function EventTable({ events }: { events: AuditEvent[] }) {
  return (
    <div className="table-scroll">
      <table aria-label="Changes">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
            <th scope="col">Target</th>
            <th scope="col">Address</th>
            <th scope="col">Status</th>
            <th scope="col">Task or error</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id} className={unsuccessful(event) ? 'row-error' : undefined}>
              <td>{formatTime(event.at)}</td>
              <td title={event.role ?? undefined}>{who(event)}</td>
              <td title={event.path}>
                <code>
                  {event.method} {event.route ?? event.path}
                </code>
              </td>
              <td>{target(event)}</td>
              <td>{event.address ?? '–'}</td>
              <td>{event.status ?? 'no answer'}</td>
              <td>
                {event.taskId ? (
                  <a href={href(['tasks', event.taskId])} title={event.taskId}>
                    task {event.taskId.slice(0, 8)}
                  </a>
                ) : event.errorCode ? (
                  <code>{event.errorCode}</code>
                ) : (
                  '–'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
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
