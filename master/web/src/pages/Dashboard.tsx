import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import type { Overview, Page, Task, WhoAmI } from '../../../../shared/src/api.js';
import { SITE_STATUSES } from '../../../../shared/src/site-status.js';
import { get } from '../api.js';
import { taskColumns } from '../columns.js';
import { errorMessage, keys, POLL } from '../query.js';
import { href, useTitle } from '../router.js';
import { DataTable } from '../table.js';
import { Badge, formatTime, Problem } from '../util.js';

/** The latest tasks the dashboard shows; the Tasks page has the rest. */
const LATEST = 10;

/**
 * Counts and what needs attention (GET /api/overview) and the latest tasks: two requests per
 * refresh whatever the number of sites, servers or tasks. Every count links to its list.
 */
export function Dashboard({ me }: { me: WhoAmI }) {
  useTitle('Dashboard');
  const overview = useQuery({
    queryKey: keys.overview,
    queryFn: ({ signal }) => get<Overview>('/api/overview', signal),
    refetchInterval: POLL.busy,
  });
  const latest = useQuery({
    queryKey: [...keys.tasks, 'latest'],
    queryFn: ({ signal }) => get<Page<Task>>(`/api/tasks?limit=${LATEST}`, signal),
    refetchInterval: POLL.busy,
  });
  const admin = me.role === 'admin';
  const data = overview.data;
  return (
    <div className="dashboard">
      <h1>Dashboard</h1>
      <Problem message={errorMessage(overview.error)} />
      {!data && !overview.error && <p className="loading">Loading…</p>}
      {data && (
        <div className="cards">
          <Card title="Sites" count={data.sites.total} link={href(['sites'])}>
            <ul className="counts">
              {statusesOf(data.sites.byStatus).map(([status, count]) => (
                <li key={status}>
                  <a href={href(['sites'], { status })}>
                    <Badge value={status} /> {count}
                  </a>
                </li>
              ))}
            </ul>
          </Card>
          {data.platforms !== null && (
            <Card title="Platforms" count={data.platforms} link={href(['platforms'])} />
          )}
          {data.servers !== null && (
            <Card
              title="Servers"
              count={data.servers.total}
              link={href(['servers'])}
              detail={`${data.servers.connected} connected`}
            />
          )}
          {data.clients !== null && <Card title="Clients" count={data.clients} link={href(['clients'])} />}
          <Card title="Tasks" link={href(['tasks'])}>
            <ul className="counts">
              <li>
                <a href={href(['tasks'], { state: 'queued' })}>
                  <Badge value="queued" /> {data.tasks.queued}
                </a>
              </li>
              <li>
                <a href={href(['tasks'], { state: 'running' })}>
                  <Badge value="running" /> {data.tasks.running}
                </a>
              </li>
              <li>
                <a href={href(['tasks'], { state: 'failed', since: '24h' })}>
                  <Badge value="failed" /> {data.tasks.failedLastDay} in 24 h
                </a>
              </li>
            </ul>
          </Card>
        </div>
      )}
      {data && <Attention attention={data.attention} admin={admin} />}

      <section aria-labelledby="latest-tasks">
        <h2 id="latest-tasks">
          Latest tasks{' '}
          <a className="more" href={href(['tasks'])}>
            all tasks
          </a>
        </h2>
        <Problem message={errorMessage(latest.error)} />
        {latest.data && latest.data.items.length > 0 && (
          <DataTable
            label="Latest tasks"
            rows={latest.data.items}
            columns={taskColumns(admin)}
            rowKey={(task) => task.id}
            order="Newest first"
          />
        )}
        {latest.data?.items.length === 0 && <p className="empty">No tasks yet.</p>}
      </section>
    </div>
  );
}

/** The site states in their usual order, then any the UI does not know yet; zero counts left out. */
function statusesOf(byStatus: Record<string, number>): Array<[string, number]> {
  const known: readonly string[] = SITE_STATUSES;
  return Object.entries(byStatus)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => (known.indexOf(a) + 1 || 99) - (known.indexOf(b) + 1 || 99));
}

function Card(props: { title: string; count?: number; link: string; detail?: string; children?: ReactNode }) {
  const id = `card-${props.title.toLowerCase()}`;
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>
        <a href={props.link}>{props.title}</a>
      </h2>
      {props.count !== undefined && <p className="count">{props.count}</p>}
      {props.detail && <p className="summary">{props.detail}</p>}
      {props.children}
    </section>
  );
}

/** Each list shows at most 10 rows; its count is of all, and the rest are a link away. */
function Attention({ attention, admin }: { attention: Overview['attention']; admin: boolean }) {
  const { failedTasks, disconnectedServers, unverifiedSites } = attention;
  const nothing = failedTasks.count + disconnectedServers.count + unverifiedSites.count === 0;
  return (
    <section aria-labelledby="attention">
      <h2 id="attention">Needs attention</h2>
      {nothing && (
        <p className="empty">Nothing: no failed task in 24 h, every agent connected, every site verified.</p>
      )}
      {failedTasks.count > 0 && (
        <AttentionList
          title="Failed tasks in the last 24 h"
          count={failedTasks.count}
          shown={failedTasks.items.length}
          more={href(['tasks'], { state: 'failed', since: '24h' })}
          moreLabel="the failed tasks"
        >
          {failedTasks.items.map((task) => (
            <li key={task.id}>
              <a href={href(['tasks', task.id])}>{task.type}</a> {task.targetName} ·{' '}
              {formatTime(task.finishedAt)}
              {task.error && <span className="hint"> · {task.error}</span>}
            </li>
          ))}
        </AttentionList>
      )}
      {admin && disconnectedServers.count > 0 && (
        <AttentionList
          title="Servers whose agent is not connected"
          count={disconnectedServers.count}
          shown={disconnectedServers.items.length}
          more={href(['servers'], { connected: 'false' })}
          moreLabel="the servers not connected"
        >
          {disconnectedServers.items.map((server) => (
            <li key={server.name}>
              <a href={href(['servers'], { q: server.name })}>{server.name}</a> · last seen{' '}
              {formatTime(server.lastSeenAt)}
            </li>
          ))}
        </AttentionList>
      )}
      {unverifiedSites.count > 0 && (
        <AttentionList
          title="Enabled sites not verified for a day"
          count={unverifiedSites.count}
          shown={unverifiedSites.items.length}
          more={href(['sites'], { status: 'enabled' })}
          moreLabel="among the enabled sites"
        >
          {unverifiedSites.items.map((site) => (
            <li key={site.domain}>
              <a href={href(['sites', site.domain])}>{site.domain}</a> · verified{' '}
              {site.verifiedAt ? formatTime(site.verifiedAt) : 'never'}
            </li>
          ))}
        </AttentionList>
      )}
    </section>
  );
}

function AttentionList(props: {
  title: string;
  count: number;
  shown: number;
  more: string;
  moreLabel: string;
  children: ReactNode;
}) {
  return (
    <div className="attention">
      <h3>
        {props.title} <span className="summary">{props.count}</span>
      </h3>
      <ul>{props.children}</ul>
      {props.count > props.shown && (
        <p className="hint">
          and {props.count - props.shown} more: <a href={props.more}>{props.moreLabel}</a>
        </p>
      )}
    </div>
  );
}
