import { useState, type FormEvent } from 'react';
import type { Cluster, Platform, Server, Site, Task, WhoAmI } from '../../../../shared/src/api.js';
import { api, encode } from '../api.js';
import { Badge, formatDuration, formatTime, navigate, Problem, usePolled } from '../util.js';

interface Overview {
  servers: Server[] | null;
  clusters: Cluster[] | null;
  platforms: Platform[] | null;
  sites: Site[];
  tasks: Task[];
}

/** Servers and platforms are the hosting side: a client token may not read them, so it is not asked. */
async function loadOverview(me: WhoAmI): Promise<Overview> {
  const admin = me.role === 'admin';
  const [servers, clusters, platforms, sites, tasks] = await Promise.all([
    admin ? api<{ items: Server[] }>('GET', '/api/servers') : null,
    admin ? api<{ items: Cluster[] }>('GET', '/api/clusters') : null,
    admin ? api<{ items: Platform[] }>('GET', '/api/platforms') : null,
    api<{ items: Site[] }>('GET', '/api/sites'),
    api<{ items: Task[] }>('GET', '/api/tasks?limit=15'),
  ]);
  return {
    servers: servers?.items ?? null,
    clusters: clusters?.items ?? null,
    platforms: platforms?.items ?? null,
    sites: sites.items,
    tasks: tasks.items,
  };
}

export function Dashboard({ me }: { me: WhoAmI }) {
  const { data, error, reload } = usePolled(() => loadOverview(me), 3000, [me.role]);
  return (
    <div className="dashboard">
      <Problem message={error} />
      {data?.servers && <Servers servers={data.servers} />}
      {data?.clusters && data.clusters.length > 0 && <Clusters clusters={data.clusters} />}
      {data?.platforms && <Platforms platforms={data.platforms} />}
      {data && <Sites sites={data.sites} showClient={me.role === 'admin'} />}
      {data?.platforms && <InstallSite platforms={data.platforms} onQueued={reload} />}
      {data && <TaskQueue tasks={data.tasks} />}
      {!data && !error && <p className="loading">Loading…</p>}
    </div>
  );
}

function Servers({ servers }: { servers: Server[] }) {
  return (
    <section aria-labelledby="servers">
      <h2 id="servers">Servers</h2>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Roles</th>
            <th>Address</th>
            <th>Agent</th>
            <th>Slots busy</th>
            <th>Services</th>
            <th>Last seen</th>
          </tr>
        </thead>
        <tbody>
          {servers.map((server) => (
            <tr key={server.id}>
              <td>{server.name}</td>
              <td>{server.roles.join(', ') || '–'}</td>
              <td>{server.address ?? '–'}</td>
              <td>
                <Badge value={server.connected ? 'connected' : 'disconnected'} />
              </td>
              <td>
                {server.slotsBusy} / {server.slots}
              </td>
              <td>
                {server.services
                  .map((service) => `${service.name} ${service.version ?? ''}`.trim())
                  .join(', ')}
              </td>
              <td>{formatTime(server.lastSeenAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {servers.length === 0 && <p className="empty">No servers yet: berth server add NAME</p>}
    </section>
  );
}

function Clusters({ clusters }: { clusters: Cluster[] }) {
  return (
    <section aria-labelledby="clusters">
      <h2 id="clusters">Clusters</h2>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Heads</th>
            <th>Platforms</th>
            <th>Sites</th>
          </tr>
        </thead>
        <tbody>
          {clusters.map((cluster) => (
            <tr key={cluster.id}>
              <td>
                <a href={`#/clusters/${encode(cluster.name)}`}>{cluster.name}</a>
              </td>
              <td>{cluster.heads.map((head) => head.name).join(', ') || '–'}</td>
              <td>{cluster.platforms.join(', ') || '–'}</td>
              <td>{cluster.sites}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Platforms({ platforms }: { platforms: Platform[] }) {
  return (
    <section aria-labelledby="platforms">
      <h2 id="platforms">Platforms</h2>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Core</th>
            <th>Server</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {platforms.map((platform) => (
            <tr key={platform.id}>
              <td>
                <a href={`#/platforms/${encode(platform.name)}`}>{platform.name}</a>
              </td>
              <td>{platform.coreVersion ?? '–'}</td>
              <td>{platform.cluster ? `cluster ${platform.cluster}` : platform.serverName}</td>
              <td>
                <Badge value={platform.status} /> {platform.locked && <Badge value="locked" />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {platforms.length === 0 && (
        <p className="empty">No platforms yet: berth platform add NAME --server S</p>
      )}
    </section>
  );
}

function Sites({ sites, showClient }: { sites: Site[]; showClient: boolean }) {
  return (
    <section aria-labelledby="sites">
      <h2 id="sites">Sites</h2>
      <table>
        <thead>
          <tr>
            <th>Domain</th>
            <th>Status</th>
            <th>Platform</th>
            {showClient && <th>Client</th>}
            <th>Verified</th>
          </tr>
        </thead>
        <tbody>
          {sites.map((site) => (
            <tr key={site.id}>
              <td>
                <a href={`#/sites/${encode(site.domain)}`}>{site.domain}</a>
              </td>
              <td>
                <Badge value={site.status} />
              </td>
              <td>{site.platform}</td>
              {showClient && <td>{site.client ?? '–'}</td>}
              <td>{formatTime(site.verifiedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {sites.length === 0 && <p className="empty">No sites yet.</p>}
    </section>
  );
}

function InstallSite({ platforms, onQueued }: { platforms: Platform[]; onQueued: () => void }) {
  // Sites do not go on cluster platforms yet (the master refuses them).
  const usable = platforms.filter(
    (platform) => platform.status === 'verified' && !platform.locked && platform.cluster === null,
  );
  const [domain, setDomain] = useState('');
  const [platform, setPlatform] = useState('');
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);
  const chosen = platform || usable[0]?.name || '';
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const { task } = await api<{ task: Task }>('POST', '/api/sites', {
        domain: domain.trim(),
        platform: chosen,
      });
      onQueued();
      navigate(`#/tasks/${task.id}`);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="install">
      <h2 id="install">Install a site</h2>
      <form className="inline" onSubmit={(event) => void submit(event)}>
        <label>
          Domain
          <input
            name="domain"
            value={domain}
            placeholder="www.example.org"
            onChange={(e) => setDomain(e.target.value)}
          />
        </label>
        <label>
          Platform
          <select name="platform" value={chosen} onChange={(e) => setPlatform(e.target.value)}>
            {usable.map((option) => (
              <option key={option.id} value={option.name}>
                {option.name} (Drupal {option.coreVersion ?? '?'})
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={busy || domain.trim() === '' || chosen === ''}>
          Install
        </button>
      </form>
      <Problem message={problem} />
    </section>
  );
}

export function TaskQueue({ tasks, title = 'Task queue' }: { tasks: Task[]; title?: string }) {
  return (
    <section aria-labelledby="tasks">
      <h2 id="tasks">{title}</h2>
      <table>
        <thead>
          <tr>
            <th>Task</th>
            <th>Target</th>
            <th>State</th>
            <th>Queued</th>
            <th>Took</th>
          </tr>
        </thead>
        <tbody>
          {tasks.map((task) => (
            <tr key={task.id}>
              <td>
                <a href={`#/tasks/${task.id}`}>{task.type}</a>
              </td>
              <td>{task.targetName}</td>
              <td>
                <Badge value={task.state} />
              </td>
              <td>{formatTime(task.createdAt)}</td>
              <td>
                {task.startedAt && task.finishedAt
                  ? formatDuration(Date.parse(task.finishedAt) - Date.parse(task.startedAt))
                  : '–'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {tasks.length === 0 && <p className="empty">No tasks yet.</p>}
    </section>
  );
}
