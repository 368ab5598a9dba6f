import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type {
  BackupPolicy,
  BackupPolicyInput,
  OffsiteTarget,
  StoreUsage,
  Task,
} from '../../../../shared/src/api.js';
import { encode, get, send } from '../api.js';
import { errorMessage, keys, POLL } from '../query.js';
import { href, useTitle } from '../router.js';
import { formatBytes, formatTime, Problem } from '../util.js';

type Scope = BackupPolicy['scope'];

/** Where a policy's PUT and DELETE go. */
function policyPath(scope: Scope, target: string): string {
  if (scope === 'global') return '/api/backup-policies/global';
  return `/api/backup-policies/${scope === 'client' ? 'clients' : 'sites'}/${encode(target)}`;
}

/** "the global default", "client acme", "site www.example.org". */
export function describePolicy(policy: Pick<BackupPolicy, 'scope' | 'target'>): string {
  return policy.scope === 'global' ? 'the global default' : `${policy.scope} ${policy.target ?? ''}`;
}

export function formatWindow(hours: BackupPolicy['window']): string {
  return hours ? `${hours.start}–${hours.end}` : 'any time';
}

/** "last 7, 4 weekly": the retention counts that are set. */
export function formatKeep(keep: BackupPolicy['keep']): string {
  return [
    `last ${keep.last}`,
    ...(['daily', 'weekly', 'monthly'] as const)
      .filter((period) => keep[period] > 0)
      .map((period) => `${keep[period]} ${period}`),
  ].join(', ');
}

/** Backups (admins only): what the store holds, its garbage collector, and the backup policies. */
export function BackupsPage() {
  useTitle('Backups');
  const store = useQuery({
    queryKey: keys.store,
    queryFn: ({ signal }) => get<StoreUsage>('/api/store', signal),
    refetchInterval: POLL.slow,
  });
  const policies = useQuery({
    queryKey: [...keys.policies, 'all'],
    queryFn: ({ signal }) => get<{ items: BackupPolicy[] }>('/api/backup-policies', signal),
    refetchInterval: POLL.slow,
  });
  const offsite = useQuery({
    queryKey: [...keys.store, 'offsite'],
    queryFn: ({ signal }) => get<{ items: OffsiteTarget[] }>('/api/store/offsite', signal),
    refetchInterval: POLL.slow,
  });
  return (
    <div className="backups-page">
      <h1>Backups</h1>
      <Store usage={store.data} error={errorMessage(store.error)} />
      <OffsiteTargets targets={offsite.data?.items} error={errorMessage(offsite.error)} />
      <Policies policies={policies.data?.items} error={errorMessage(policies.error)} />
      <SetPolicy />
    </div>
  );
}

function Store(props: { usage: StoreUsage | undefined; error: string | undefined }) {
  const collect = useMutation({
    mutationFn: () => send<Task>('POST', '/api/store/gc'),
    meta: { invalidates: [keys.store, keys.tasks, keys.overview] },
  });
  const task = collect.data;
  const usage = props.usage;
  return (
    <section aria-labelledby="store">
      <h2 id="store">Store</h2>
      <Problem message={props.error} />
      {!usage && !props.error && <p className="loading">Loading…</p>}
      {usage && (
        <>
          <dl className="facts">
            <dt>Total</dt>
            <dd>
              {formatBytes(usage.totalBytes)} in {usage.archives} archives
            </dd>
            <dt>Backups</dt>
            <dd>
              {formatBytes(usage.backups.bytes)} in {usage.backups.count} backups
            </dd>
            <dt>Other</dt>
            <dd>
              {formatBytes(usage.otherBytes)}{' '}
              <span className="hint">
                (archives no backup names: unfinished tasks&apos; rollback points and transfers, or garbage)
              </span>
            </dd>
          </dl>
          <h3>By client</h3>
          <div className="table-scroll">
            <table aria-label="By client">
              <thead>
                <tr>
                  <th scope="col">Client</th>
                  <th scope="col">Backups</th>
                  <th scope="col">Size</th>
                </tr>
              </thead>
              <tbody>
                {usage.byClient.map((row) => (
                  <tr key={row.client ?? ''}>
                    <td>{row.client ?? 'no client'}</td>
                    <td>{row.backups}</td>
                    <td>{formatBytes(row.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {usage.byClient.length === 0 && <p className="empty">No backups yet.</p>}
          <h3>Largest sites</h3>
          <div className="table-scroll">
            <table aria-label="Largest sites">
              <thead>
                <tr>
                  <th scope="col">Site</th>
                  <th scope="col">Client</th>
                  <th scope="col">Backups</th>
                  <th scope="col">Size</th>
                </tr>
              </thead>
              <tbody>
                {usage.topSites.map((site) => (
                  <tr key={site.domain}>
                    <td>
                      <a href={href(['sites', site.domain])}>{site.domain}</a>
                    </td>
                    <td>{site.client ?? '–'}</td>
                    <td>{site.backups}</td>
                    <td>{formatBytes(site.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {usage.topSites.length === 0 && <p className="empty">No backups yet.</p>}
        </>
      )}
      <div className="actions">
        <button type="button" disabled={collect.isPending} onClick={() => collect.mutate()}>
          Run the garbage collector now
        </button>
        {task && (
          <a href={href(['tasks', task.id])}>
            {task.type} queued {formatTime(task.createdAt)}: follow its task
          </a>
        )}
      </div>
      <p className="hint">
        It removes backups past their policy&apos;s retention (automatic ones only, never a person&apos;s,
        never a site&apos;s newest), archives nothing names, and files without a row; it also runs on its own
        schedule (hourly by default).
      </p>
      <Problem message={errorMessage(collect.error)} />
    </section>
  );
}

/** What a policy change makes stale: the policies, every site's schedule (keys.policies holds both). */
const POLICY_CHANGE = [keys.policies];

function Policies(props: { policies: BackupPolicy[] | undefined; error: string | undefined }) {
  const remove = useMutation({
    mutationFn: (policy: BackupPolicy) => send('DELETE', policyPath(policy.scope, policy.target ?? '')),
    meta: { invalidates: POLICY_CHANGE },
  });
  return (
    <section aria-labelledby="policies">
      <h2 id="policies">Policies</h2>
      <p className="hint">
        The most specific policy applies to a site: its own, else its client&apos;s, else the global default.
        Schedules and windows are read in the site&apos;s web server&apos;s time zone; retention applies to
        automatic backups only.
      </p>
      <Problem message={props.error} />
      {props.policies && props.policies.length > 0 && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Scope</th>
                <th scope="col">Target</th>
                <th scope="col">Schedule</th>
                <th scope="col">Window</th>
                <th scope="col">Keep</th>
                <th scope="col">Restore test</th>
                <th scope="col">Off-site</th>
                <th scope="col">Updated</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {props.policies.map((policy) => (
                <tr key={policy.id}>
                  <td>{policy.scope}</td>
                  <td>
                    {policy.scope === 'site' && policy.target ? (
                      <a href={href(['sites', policy.target])}>{policy.target}</a>
                    ) : (
                      (policy.target ?? '–')
                    )}
                  </td>
                  <td>{policy.schedule ? <code>{policy.schedule}</code> : 'none'}</td>
                  <td>{formatWindow(policy.window)}</td>
                  <td>{formatKeep(policy.keep)}</td>
                  <td>{policy.verifySchedule ? <code>{policy.verifySchedule}</code> : 'none'}</td>
                  <td>{policy.offsite ?? 'none'}</td>
                  <td>{formatTime(policy.updatedAt)}</td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Remove the policy of ${describePolicy(policy)}`}
                      disabled={remove.isPending}
                      onClick={() => {
                        if (window.confirm(`Remove the backup policy of ${describePolicy(policy)}?`))
                          remove.mutate(policy);
                      }}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.policies?.length === 0 && (
        <p className="empty">No policies: no site is backed up on a schedule.</p>
      )}
      <Problem message={errorMessage(remove.error)} />
    </section>
  );
}

const KEEP_FIELDS = [
  ['keepLast', 'Keep last'],
  ['keepDaily', 'Daily'],
  ['keepWeekly', 'Weekly'],
  ['keepMonthly', 'Monthly'],
] as const;

type KeepField = (typeof KEEP_FIELDS)[number][0];

function SetPolicy() {
  const [scope, setScope] = useState<Scope>('global');
  const [target, setTarget] = useState('');
  const [schedule, setSchedule] = useState('');
  const [hours, setHours] = useState('');
  const [verify, setVerify] = useState('');
  const [offsite, setOffsite] = useState('');
  const [keep, setKeep] = useState<Record<KeepField, string>>({
    keepLast: '7',
    keepDaily: '0',
    keepWeekly: '0',
    keepMonthly: '0',
  });
  const set = useMutation({
    mutationFn: ({ path, body }: { path: string; body: BackupPolicyInput }) =>
      send<BackupPolicy>('PUT', path, body),
    meta: { invalidates: POLICY_CHANGE },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body: BackupPolicyInput = {
      schedule: schedule.trim() || null,
      window: hours.trim() || null,
      keepLast: Number(keep.keepLast),
      keepDaily: Number(keep.keepDaily),
      keepWeekly: Number(keep.keepWeekly),
      keepMonthly: Number(keep.keepMonthly),
      verifySchedule: verify.trim() || null,
      offsite: offsite.trim() || null,
    };
    set.mutate({ path: policyPath(scope, target.trim()), body });
  };
  return (
    <section aria-labelledby="set-policy">
      <h2 id="set-policy">Set a policy</h2>
      <form className="inline" onSubmit={submit}>
        <label>
          Scope
          <select name="scope" value={scope} onChange={(e) => setScope(e.target.value as Scope)}>
            <option value="global">global default</option>
            <option value="client">a client</option>
            <option value="site">a site</option>
          </select>
        </label>
        {scope !== 'global' && (
          <label>
            {scope === 'client' ? 'Client' : 'Site domain'}
            <input
              name="target"
              value={target}
              placeholder={scope === 'client' ? 'acme' : 'www.example.org'}
              onChange={(e) => setTarget(e.target.value)}
            />
          </label>
        )}
        <label>
          Schedule (cron)
          <input
            name="schedule"
            value={schedule}
            placeholder="0 2 * * *"
            onChange={(e) => setSchedule(e.target.value)}
          />
        </label>
        <label>
          Window
          <input
            name="window"
            value={hours}
            placeholder="01:00-05:00"
            onChange={(e) => setHours(e.target.value)}
          />
        </label>
        <label>
          Restore test (cron)
          <input
            name="verifySchedule"
            value={verify}
            placeholder="0 4 * * 0"
            onChange={(e) => setVerify(e.target.value)}
          />
        </label>
        <label>
          Off-site target
          <input
            name="offsite"
            value={offsite}
            placeholder="offsite-eu"
            onChange={(e) => setOffsite(e.target.value)}
          />
        </label>
        {KEEP_FIELDS.map(([field, label]) => (
          <label key={field}>
            {label}
            <input
              name={field}
              type="number"
              min={field === 'keepLast' ? 1 : 0}
              step={1}
              className="count"
              value={keep[field]}
              onChange={(e) => setKeep((known) => ({ ...known, [field]: e.target.value }))}
            />
          </label>
        ))}
        <button type="submit" disabled={set.isPending || (scope !== 'global' && target.trim() === '')}>
          Set policy
        </button>
      </form>
      <p className="hint">
        An empty schedule sets no scheduled backups, an empty window any time. A restore test restores each
        site&apos;s newest backup into a scratch site, probes it and removes it, in the same window. An
        off-site target copies each new backup to its bucket. Setting a scope&apos;s policy again replaces it.
      </p>
      <Problem message={errorMessage(set.error)} />
    </section>
  );
}

/** The off-site targets (added with `berth store offsite add`: their secret never goes through a browser). */
function OffsiteTargets(props: { targets: OffsiteTarget[] | undefined; error: string | undefined }) {
  return (
    <section aria-labelledby="offsite">
      <h2 id="offsite">Off-site targets</h2>
      <Problem message={props.error} />
      {props.targets && props.targets.length > 0 && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Bucket</th>
                <th scope="col">Copied</th>
                <th scope="col">Waiting</th>
                <th scope="col">Failed</th>
                <th scope="col">Policies</th>
              </tr>
            </thead>
            <tbody>
              {props.targets.map((target) => (
                <tr key={target.id}>
                  <td>{target.name}</td>
                  <td>{target.endpoint}</td>
                  <td>
                    {target.bucket}
                    {target.prefix && `/${target.prefix}`}
                  </td>
                  <td>
                    {target.copies.copied} ({formatBytes(target.copies.bytes)})
                  </td>
                  <td>{target.copies.pending}</td>
                  <td>{target.copies.failed}</td>
                  <td>{target.policies.join(', ') || '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.targets?.length === 0 && (
        <p className="empty">
          No off-site targets: backups stay on the master. Add one with <code>berth store offsite add</code>.
        </p>
      )}
    </section>
  );
}
