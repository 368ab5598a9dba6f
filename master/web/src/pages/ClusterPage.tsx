import { useQuery } from '@tanstack/react-query';
import type { Cluster } from '../../../../shared/src/api.js';
import { encode, get } from '../api.js';
import { errorMessage, keys, POLL } from '../query.js';
import { href, useTitle } from '../router.js';
import { Badge, formatTime, Problem } from '../util.js';

/** A cluster (admins only): its heads with their agents' state, its platforms, how many sites. */
export function ClusterPage({ name }: { name: string }) {
  useTitle(name, 'Clusters');
  const { data, error } = useQuery({
    queryKey: [...keys.clusters, 'one', name],
    queryFn: ({ signal }) => get<Cluster>(`/api/clusters/${encode(name)}`, signal),
    refetchInterval: POLL.calm,
  });
  if (!data) return <Problem message={errorMessage(error)} />;
  return (
    <div className="cluster-page">
      <h1>{data.name}</h1>
      <dl className="facts">
        <dt>Sites</dt>
        <dd>{data.sites}</dd>
        <dt>Added</dt>
        <dd>{formatTime(data.createdAt)}</dd>
      </dl>
      <section aria-labelledby="cluster-heads">
        <h2 id="cluster-heads">Heads</h2>
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Server</th>
                <th scope="col">Address</th>
                <th scope="col">Roles</th>
                <th scope="col">Agent</th>
              </tr>
            </thead>
            <tbody>
              {data.heads.map((head) => (
                <tr key={head.name}>
                  <td>{head.name}</td>
                  <td>{head.address ?? '–'}</td>
                  <td>{head.roles.join(', ') || '–'}</td>
                  <td>
                    <Badge value={head.connected ? 'connected' : 'disconnected'} />
                    {head.staleSince && (
                      <span
                        title={`stale since ${head.staleSince}: berth cluster sync ${data.name} ${head.name}`}
                      >
                        {' '}
                        <Badge value="stale" />
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {data.heads.length === 0 && (
          <p className="empty">No heads: berth cluster add-server {data.name} SERVER</p>
        )}
      </section>
      <section aria-labelledby="cluster-platforms">
        <h2 id="cluster-platforms">Platforms on every head</h2>
        {data.platforms.length === 0 ? (
          <p className="empty">None yet: berth platform add NAME --cluster {data.name}</p>
        ) : (
          <ul>
            {data.platforms.map((platform) => (
              <li key={platform}>
                <a href={href(['platforms', platform])}>{platform}</a>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
