import { useState, type FormEvent } from 'react';
import type { AuditEvent } from '../../../../shared/src/api.js';
import { api, encode } from '../api.js';
import { formatTime, Problem, usePolled } from '../util.js';

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
  const [filter, setFilter] = useState<Filter>({ since: '', target: '' });
  const [limit, setLimit] = useState(PAGE);
  const events = usePolled(
    () => {
      const query = new URLSearchParams({ limit: String(limit) });
      if (filter.since) query.set('since', filter.since);
      if (filter.target) query.set('target', filter.target);
      return api<{ items: AuditEvent[] }>('GET', `/api/audit?${query.toString()}`);
    },
    10_000,
    [filter.since, filter.target, limit],
  );
  const items = events.data?.items;
  // A full answer may have older events behind it; a shorter one has shown them all.
  const more = items !== undefined && items.length === limit;
  const filtered = filter.since !== '' || filter.target !== '';
  return (
    <div className="audit-page">
      <h1>Audit</h1>
      <AuditFilter
        onFilter={(next) => {
          setFilter(next);
          setLimit(PAGE);
        }}
      />
      <section aria-labelledby="events">
        <h2 id="events">
          Changes{' '}
          {items && (
            <span className="summary">
              {items.length} shown, newest first{filtered ? ', filtered' : ''}
            </span>
          )}
        </h2>
        <Problem message={events.error} />
        {!items && !events.error && <p className="loading">Loading…</p>}
        {items && items.length > 0 && <EventTable events={items} />}
        {items?.length === 0 && (
          <p className="empty">{filtered ? 'No changes recorded that match.' : 'No changes recorded yet.'}</p>
        )}
        {more && (
          <div className="actions">
            {limit < MAX_LIMIT ? (
              <button type="button" onClick={() => setLimit(Math.min(limit + PAGE, MAX_LIMIT))}>
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

function AuditFilter({ onFilter }: { onFilter: (filter: Filter) => void }) {
  const [target, setTarget] = useState('');
  // datetime-local: the browser's local time, which is how formatTime shows the events' times.
  const [since, setSince] = useState('');
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
    <table aria-label="Changes">
      <thead>
        <tr>
          <th>When</th>
          <th>Who</th>
          <th>What</th>
          <th>Target</th>
          <th>Address</th>
          <th>Status</th>
          <th>Task or error</th>
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
                <a href={`#/tasks/${encode(event.taskId)}`} title={event.taskId}>
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
