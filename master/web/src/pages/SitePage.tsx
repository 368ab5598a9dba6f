import { useState, type FormEvent } from 'react';
import type { SiteAction } from '../../../../shared/src/site-actions.js';
import { FINISHED_TASK_STATES } from '../../../../shared/src/tasks.js';
import type {
  Backup,
  Package,
  Site,
  SiteBackupSchedule,
  SiteEdgeView,
  Task,
  WhoAmI,
} from '../../../../shared/src/api.js';
import { api, encode } from '../api.js';
import { Badge, formatBytes, formatDuration, formatTime, navigate, Problem, usePolled } from '../util.js';
import { describePolicy, formatKeep, formatWindow } from './BackupsPage.js';
import { MigrateDialog } from './MigrateDialog.js';

type SiteDetails = Site & { packages: Package[] };

/** The simple site tasks: one POST, then the task's page with its live log. */
const SIMPLE_TASKS: Partial<Record<SiteAction, { label: string; path: string; confirm?: string }>> = {
  verify: { label: 'Verify', path: 'verify' },
  backup: { label: 'Back up', path: 'backups' },
  disable: {
    label: 'Disable',
    path: 'disable',
    confirm: 'Disable this site? Visitors get a "site disabled" page.',
  },
  enable: { label: 'Enable', path: 'enable' },
  cron: { label: 'Run cron', path: 'cron' },
  delete: {
    label: 'Delete',
    path: 'delete',
    confirm: 'Delete this site? A last backup is kept; the files, database and vhost go.',
  },
};

export function SitePage({ domain, me }: { domain: string; me: WhoAmI }) {
  const site = usePolled(() => api<SiteDetails>('GET', `/api/sites/${encode(domain)}`), 5000, [domain]);
  const backups = usePolled(
    () => api<{ items: Backup[] }>('GET', `/api/sites/${encode(domain)}/backups`),
    5000,
    [domain],
  );
  const [problem, setProblem] = useState<string>();
  const [migrating, setMigrating] = useState(false);

  const startTask = async (path: string, body?: unknown) => {
    setProblem(undefined);
    try {
      const task = await api<Task | { task: Task }>(
        'POST',
        `/api/sites/${encode(domain)}/${path}`,
        body ?? {},
      );
      navigate(`#/tasks/${'task' in task ? task.task.id : task.id}`);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  };

  if (!site.data) return <Problem message={site.error ?? undefined} />;
  const current = site.data;
  const offers = (action: SiteAction) => current.actions.includes(action);

  return (
    <div className="site-page">
      <h1>
        {current.domain} <Badge value={current.status} />
      </h1>
      <dl className="facts">
        <dt>Platform</dt>
        <dd>
          {me.role === 'admin' ? (
            <a href={`#/platforms/${encode(current.platform)}`}>{current.platform}</a>
          ) : (
            current.platform
          )}
        </dd>
        {me.role === 'admin' && (
          <>
            <dt>Client</dt>
            <dd>{current.client ?? '–'}</dd>
            <dt>Database server</dt>
            <dd>{current.dbServer}</dd>
          </>
        )}
        <dt>Profile</dt>
        <dd>{current.profile}</dd>
        <dt>Verified</dt>
        <dd>{formatTime(current.verifiedAt)}</dd>
        {current.cron && (
          <>
            <dt>Cron</dt>
            <dd>
              {current.cron.everyMinutes === 0
                ? 'only when asked for'
                : `every ${current.cron.everyMinutes} min, ${current.cron.offsetSeconds} s into each period`}
              {current.cron.lastRun && (
                <>
                  {' '}
                  · last <Badge value={current.cron.lastRun.state} /> {formatTime(current.cron.lastRun.at)}
                  {current.cron.lastRun.durationMs !== null &&
                    ` in ${formatDuration(current.cron.lastRun.durationMs)}`}{' '}
                  (<a href={`#/tasks/${current.cron.lastRun.taskId}`}>its task</a>)
                </>
              )}
              {current.cron.failuresInARow > 0 && ` · ${current.cron.failuresInARow} failed in a row`}
            </dd>
          </>
        )}
      </dl>

      <div className="actions" role="group" aria-label="Tasks">
        {current.status === 'enabled' && (
          <a className="button" href={current.url} target="_blank" rel="noreferrer">
            Go to
          </a>
        )}
        {offers('login-reset') && <LogIn domain={current.domain} />}
        {current.actions.map((action) => {
          const simple = SIMPLE_TASKS[action];
          if (!simple) return null;
          return (
            <button
              key={action}
              type="button"
              className={action === 'delete' ? 'danger' : undefined}
              onClick={() => {
                if (simple.confirm && !window.confirm(simple.confirm)) return;
                void startTask(simple.path);
              }}
            >
              {simple.label}
            </button>
          );
        })}
        {offers('migrate') && (
          <button type="button" onClick={() => setMigrating(true)}>
            Migrate…
          </button>
        )}
      </div>
      {(offers('clone') || offers('rename')) && (
        <NewNameForms
          domain={current.domain}
          clone={offers('clone')}
          rename={offers('rename')}
          start={startTask}
        />
      )}
      {current.actions.length === 0 && (
        <p className="empty">This site offers no tasks while it is {current.status}.</p>
      )}
      <Problem message={problem} />

      {current.edge && <WebEdge edge={current.edge} />}

      <section aria-labelledby="backups">
        <h2 id="backups">Backups</h2>
        <table>
          <thead>
            <tr>
              <th>Taken</th>
              <th>Reason</th>
              <th>Size</th>
              <th>Platform</th>
              <th>Restore test</th>
              <th>Off-site</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(backups.data?.items ?? []).map((backup) => (
              <tr key={backup.id}>
                <td>{formatTime(backup.createdAt)}</td>
                <td>{backup.reason}</td>
                <td>{formatBytes(backup.bytes)}</td>
                <td>{backup.manifest.platform?.name ?? '–'}</td>
                <td>
                  <RestoreTest backup={backup} />
                </td>
                <td>
                  {backup.offsite.length === 0
                    ? '–'
                    : backup.offsite.map((copy) => (
                        <span key={copy.target} title={copy.lastError ?? undefined}>
                          {copy.target} <Badge value={copy.state} />{' '}
                        </span>
                      ))}
                </td>
                <td>
                  {offers('backup-verify') && (
                    <button
                      type="button"
                      title="Restore it into a scratch site beside this one, probe it, remove it"
                      onClick={() => void startTask('backup-verify', { backupId: backup.id })}
                    >
                      Test restore
                    </button>
                  )}{' '}
                  {offers('restore') && (
                    <button
                      type="button"
                      onClick={() => {
                        if (
                          window.confirm(
                            'Restore this backup? The current state is kept as a pre-restore backup.',
                          )
                        )
                          void startTask('restore', { backupId: backup.id });
                      }}
                    >
                      Restore
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {backups.data?.items.length === 0 && <p className="empty">No backups yet.</p>}
      </section>

      {me.role === 'admin' && <BackupSchedule domain={current.domain} />}

      <section aria-labelledby="packages">
        <h2 id="packages">Installed packages</h2>
        <PackageTable packages={current.packages} />
      </section>

      {migrating && (
        <MigrateDialog domain={current.domain} onClose={() => setMigrating(false)} start={startTask} />
      )}
    </div>
  );
}

/** Admins: the backup policy that applies to the site, where it comes from, and its firings. */
/**
 * The site's other names, HTTPS with each server's certificate, and its PHP pool (changed with
 * berth site alias / https / php, or the API).
 */
function WebEdge({ edge }: { edge: SiteEdgeView }) {
  return (
    <section aria-labelledby="web-edge">
      <h2 id="web-edge">Names, HTTPS and PHP</h2>
      <dl className="facts">
        <dt>Also serves</dt>
        <dd>{edge.aliases.length > 0 ? edge.aliases.join(', ') : '–'}</dd>
        <dt>Redirects here</dt>
        <dd>{edge.redirects.length > 0 ? edge.redirects.join(', ') : '–'}</dd>
        <dt>HTTPS</dt>
        <dd>
          {edge.https
            ? [
                edge.https.mode === 'letsencrypt' ? "Let's Encrypt" : 'uploaded certificate',
                edge.https.redirect ? 'HTTP redirected' : null,
                edge.https.hsts ? 'HSTS' : null,
              ]
                .filter(Boolean)
                .join(' · ')
            : 'off'}
        </dd>
        <dt>PHP</dt>
        <dd>{edge.pool ? `its own pool, as ${edge.pool.user}` : "the server's shared pool"}</dd>
      </dl>
      {edge.certificates.length > 0 && (
        <table>
          <caption>Certificates</caption>
          <thead>
            <tr>
              <th scope="col">Server</th>
              <th scope="col">Names</th>
              <th scope="col">Issuer</th>
              <th scope="col">Ends</th>
            </tr>
          </thead>
          <tbody>
            {edge.certificates.map((certificate) => (
              <tr key={certificate.server}>
                <td>{certificate.server}</td>
                <td>{certificate.names.join(', ')}</td>
                <td>{certificate.issuer}</td>
                <td>{formatTime(certificate.notAfter)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function BackupSchedule({ domain }: { domain: string }) {
  const { data, error } = usePolled(
    () => api<SiteBackupSchedule>('GET', `/api/backup-policies/sites/${encode(domain)}`),
    10_000,
    [domain],
  );
  const policy = data?.policy;
  return (
    <section aria-labelledby="backup-schedule">
      <h2 id="backup-schedule">Backup schedule</h2>
      <Problem message={error} />
      {data && !policy && (
        <p className="empty">
          No policy applies: no scheduled backups (<a href="#/backups">set one</a>).
        </p>
      )}
      {data && policy && (
        <dl className="facts">
          <dt>Policy</dt>
          <dd>
            {policy.scope === 'site' ? "the site's own" : describePolicy(policy)} (
            <a href="#/backups">policies</a>)
          </dd>
          <dt>Schedule</dt>
          <dd>
            {policy.schedule ? <code>{policy.schedule}</code> : 'none'}, window {formatWindow(policy.window)}{' '}
            <span className="hint">({data.timeZone})</span>
          </dd>
          <dt>Keep</dt>
          <dd>{formatKeep(policy.keep)}</dd>
          <dt>Next due</dt>
          <dd>{formatTime(data.nextDueAt)}</dd>
          <dt>Last firing</dt>
          <dd>
            {data.lastFiring ? (
              <>
                <Badge value={data.lastFiring.state} /> due {formatTime(data.lastFiring.dueAt)}
                {data.lastFiring.taskId && (
                  <>
                    {' '}
                    · <a href={`#/tasks/${data.lastFiring.taskId}`}>its task</a>
                  </>
                )}
              </>
            ) : (
              '–'
            )}
          </dd>
        </dl>
      )}
    </section>
  );
}

export function PackageTable({ packages }: { packages: Package[] }) {
  if (packages.length === 0) return <p className="empty">None recorded yet (a verify records them).</p>;
  return (
    <table className="packages">
      <thead>
        <tr>
          <th>Package</th>
          <th>Type</th>
          <th>Version</th>
          <th>Schema</th>
        </tr>
      </thead>
      <tbody>
        {packages.map((pkg) => (
          <tr key={`${pkg.type}:${pkg.name}`}>
            <td>{pkg.name}</td>
            <td>{pkg.type}</td>
            <td>{pkg.version ?? '–'}</td>
            <td>{pkg.schemaVersion}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** "Log in": a one-time login link from a login-reset task, shown when the task has it. */
function LogIn({ domain }: { domain: string }) {
  const [state, setState] = useState<'idle' | 'waiting' | 'failed'>('idle');
  const [url, setUrl] = useState<string>();
  const run = async () => {
    setState('waiting');
    try {
      let task = await api<Task>('POST', `/api/sites/${encode(domain)}/login-reset`, {});
      while (!FINISHED_TASK_STATES.includes(task.state)) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        task = await api<Task>('GET', `/api/tasks/${task.id}`);
      }
      const link = task.result?.url;
      if (task.state !== 'succeeded' || typeof link !== 'string') throw new Error(task.error ?? 'no link');
      setUrl(link);
      setState('idle');
    } catch {
      setState('failed');
    }
  };
  if (url)
    return (
      <a className="button" href={url} target="_blank" rel="noreferrer">
        Log in (one-time link)
      </a>
    );
  return (
    <button type="button" onClick={() => void run()} disabled={state === 'waiting'}>
      {state === 'waiting'
        ? 'Getting a login link…'
        : state === 'failed'
          ? 'Log in (failed, try again)'
          : 'Log in'}
    </button>
  );
}

function NewNameForms(props: {
  domain: string;
  clone: boolean;
  rename: boolean;
  start: (path: string, body?: unknown) => Promise<void>;
}) {
  const [name, setName] = useState('');
  const submit = (path: 'clone' | 'rename') => (event: FormEvent) => {
    event.preventDefault();
    void props.start(path, { domain: name.trim() });
  };
  return (
    <form className="inline" onSubmit={submit('clone')}>
      <label>
        New domain
        <input value={name} placeholder={`copy.${props.domain}`} onChange={(e) => setName(e.target.value)} />
      </label>
      {props.clone && (
        <button type="submit" disabled={name.trim() === ''}>
          Clone
        </button>
      )}
      {props.rename && (
        <button type="button" disabled={name.trim() === ''} onClick={(event) => submit('rename')(event)}>
          Rename
        </button>
      )}
    </form>
  );
}

/** A backup's last restore test: passed, failed (the newer of the two), or never tested. */
function RestoreTest({ backup }: { backup: Backup }) {
  const passed = backup.verifiedAt ? Date.parse(backup.verifiedAt) : null;
  const failed = backup.verifyFailedAt ? Date.parse(backup.verifyFailedAt) : null;
  if (failed !== null && (passed === null || failed > passed))
    return (
      <>
        <Badge value="failed" /> {formatTime(backup.verifyFailedAt)}
      </>
    );
  if (passed !== null)
    return (
      <>
        <Badge value="passed" /> {formatTime(backup.verifiedAt)}
      </>
    );
  return <>never</>;
}
