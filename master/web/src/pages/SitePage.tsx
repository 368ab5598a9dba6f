import { useMutation, useQuery } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import type {
  Backup,
  BackupPage,
  Package,
  Site,
  SiteBackupSchedule,
  SiteCron,
  SiteEdgeView,
  Task,
  WhoAmI,
} from '../../../../shared/src/api.js';
import type { SiteAction } from '../../../../shared/src/site-actions.js';
import { FINISHED_TASK_STATES } from '../../../../shared/src/tasks.js';
import { encode, get, send } from '../api.js';
import { taskColumns } from '../columns.js';
import { errorMessage, keys, POLL, SITE_CHANGE, usePage } from '../query.js';
import { href, navigate, usePager, useTitle } from '../router.js';
import { PagedTable, type Column } from '../table.js';
import { Badge, formatBytes, formatDuration, formatTime, Problem } from '../util.js';
import { describePolicy, formatKeep, formatWindow } from './BackupsPage.js';
import { MigrateDialog } from './MigrateDialog.js';

type SiteDetails = Site & { packages: Package[] };

/** A site's backups and tasks come 20 a page. */
const HISTORY_PAGE = 20;

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
  useTitle(domain, 'Sites');
  const admin = me.role === 'admin';
  const site = useQuery({
    queryKey: keys.site(domain),
    queryFn: ({ signal }) => get<SiteDetails>(`/api/sites/${encode(domain)}`, signal),
    refetchInterval: (query) => (query.state.data?.status === 'installing' ? POLL.busy : POLL.calm),
  });
  const [migrating, setMigrating] = useState(false);
  const migrateButton = useRef<HTMLButtonElement>(null);
  const start = useMutation({
    mutationFn: ({ path, body }: { path: string; body?: unknown }) =>
      send<Task | { task: Task }>('POST', `/api/sites/${encode(domain)}/${path}`, body ?? {}),
    meta: { invalidates: SITE_CHANGE },
    onSuccess: (answer) => navigate(href(['tasks', 'task' in answer ? answer.task.id : answer.id])),
  });
  const startTask = (path: string, body?: unknown) => start.mutate({ path, body });

  if (!site.data) return <Problem message={errorMessage(site.error)} />;
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
          {admin ? <a href={href(['platforms', current.platform])}>{current.platform}</a> : current.platform}
        </dd>
        {admin && (
          <>
            <dt>Client</dt>
            <dd>
              {current.client ? (
                <a href={href(['sites'], { client: current.client })}>{current.client}</a>
              ) : (
                '–'
              )}
            </dd>
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
              <CronFacts cron={current.cron} />
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
              disabled={start.isPending}
              onClick={() => {
                if (simple.confirm && !window.confirm(simple.confirm)) return;
                startTask(simple.path);
              }}
            >
              {simple.label}
            </button>
          );
        })}
        {offers('migrate') && (
          <button type="button" ref={migrateButton} aria-haspopup="dialog" onClick={() => setMigrating(true)}>
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
      <Problem message={errorMessage(start.error)} />

      {current.edge && <WebEdge edge={current.edge} />}

      <Backups domain={current.domain} offers={offers} start={startTask} />

      <TaskHistory domain={current.domain} admin={admin} />

      {admin && <BackupSchedule domain={current.domain} />}

      <section aria-labelledby="packages">
        <h2 id="packages">Installed packages</h2>
        <PackageTable packages={current.packages} />
      </section>

      {migrating && (
        <MigrateDialog
          domain={current.domain}
          returnFocusTo={migrateButton}
          onClose={() => setMigrating(false)}
          start={(path, body) => {
            setMigrating(false);
            startTask(path, body);
          }}
        />
      )}
    </div>
  );
}

/** How often its cron runs, and how the last run went. */
function CronFacts({ cron }: { cron: SiteCron }) {
  return (
    <>
      {cron.everyMinutes === 0
        ? 'only when asked for'
        : // As the CLI says it (berth site show).
          `every ${cron.everyMinutes} min, ${cron.offsetSeconds} s into each period`}
      {cron.lastRun && (
        <>
          {' '}
          · last <Badge value={cron.lastRun.state} /> {formatTime(cron.lastRun.at)}
          {cron.lastRun.durationMs !== null && ` in ${formatDuration(cron.lastRun.durationMs)}`} (
          <a href={href(['tasks', cron.lastRun.taskId])}>its task</a>)
        </>
      )}
      {cron.failuresInARow > 0 && ` · ${cron.failuresInARow} failed in a row`}
    </>
  );
}

/** Backups a page at a time, newest first; what all of them take in the store (BackupPage.total). */
function Backups(props: {
  domain: string;
  offers: (action: SiteAction) => boolean;
  start: (path: string, body?: unknown) => void;
}) {
  const pager = usePager('backups');
  const backups = usePage<Backup, { limit: number; cursor: string | undefined }, BackupPage>(
    [...keys.site(props.domain), 'backups'],
    `/api/sites/${encode(props.domain)}/backups`,
    { limit: HISTORY_PAGE, cursor: pager.cursor },
    POLL.calm,
  );
  const { offers, start } = props;
  const columns: Array<Column<Backup>> = [
    {
      header: 'Taken',
      cell: (backup) => formatTime(backup.createdAt),
      sortBy: (backup) => Date.parse(backup.createdAt),
    },
    { header: 'Reason', cell: (backup) => backup.reason, sortBy: (backup) => backup.reason },
    { header: 'Size', cell: (backup) => formatBytes(backup.bytes), sortBy: (backup) => backup.bytes },
    {
      header: 'Platform',
      cell: (backup) => backup.manifest.platform?.name ?? '–',
      sortBy: (backup) => backup.manifest.platform?.name ?? null,
    },
    { header: 'Restore test', cell: (backup) => <RestoreTest backup={backup} /> },
    {
      header: 'Off-site',
      cell: (backup) =>
        backup.offsite.length === 0
          ? '–'
          : backup.offsite.map((copy) => (
              <span key={copy.target} title={copy.lastError ?? undefined}>
                {copy.target} <Badge value={copy.state} />{' '}
              </span>
            )),
    },
    {
      header: '',
      cell: (backup) => (
        <>
          {offers('backup-verify') && (
            <button
              type="button"
              title="Restore it into a scratch site beside this one, probe it, remove it"
              onClick={() => start('backup-verify', { backupId: backup.id })}
            >
              Test restore
            </button>
          )}{' '}
          {offers('restore') && (
            <button
              type="button"
              onClick={() => {
                if (window.confirm('Restore this backup? The current state is kept as a pre-restore backup.'))
                  start('restore', { backupId: backup.id });
              }}
            >
              Restore
            </button>
          )}
        </>
      ),
    },
  ];
  const total = backups.data?.total;
  return (
    <section aria-labelledby="backups">
      <h2 id="backups">Backups</h2>
      {total && total.count > 0 && (
        <p className="summary" data-testid="store-usage">
          {total.count === 1 ? '1 backup takes' : `${total.count} backups take`} {formatBytes(total.bytes)} in
          the store.
        </p>
      )}
      <PagedTable
        label="Backups"
        query={backups}
        pager={pager}
        columns={columns}
        rowKey={(backup) => backup.id}
        order="Newest first"
        empty="No backups yet."
      />
    </section>
  );
}

/** The site's tasks, newest first, 20 a page: every install, backup, migrate, cron run on it. */
function TaskHistory({ domain, admin }: { domain: string; admin: boolean }) {
  const pager = usePager('tasks');
  const tasks = usePage<Task, { target: string; limit: number; cursor: string | undefined }>(
    keys.tasks,
    '/api/tasks',
    { target: domain, limit: HISTORY_PAGE, cursor: pager.cursor },
    (page) =>
      page?.items.some((task) => !FINISHED_TASK_STATES.includes(task.state)) ? POLL.busy : POLL.calm,
  );
  return (
    <section aria-labelledby="task-history">
      <h2 id="task-history">Task history</h2>
      <PagedTable
        label="Task history"
        query={tasks}
        pager={pager}
        columns={taskColumns(admin, { target: false })}
        rowKey={(task) => task.id}
        order="Newest first"
        empty="No tasks on this site yet."
      />
    </section>
  );
}

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
        <div className="table-scroll">
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
        </div>
      )}
    </section>
  );
}

/** Admins: the backup policy that applies to the site, where it comes from, and its firings. */
function BackupSchedule({ domain }: { domain: string }) {
  const { data, error: failure } = useQuery({
    queryKey: [...keys.policies, 'site', domain],
    queryFn: ({ signal }) => get<SiteBackupSchedule>(`/api/backup-policies/sites/${encode(domain)}`, signal),
    refetchInterval: POLL.slow,
  });
  const error = errorMessage(failure);
  const policy = data?.policy;
  return (
    <section aria-labelledby="backup-schedule">
      <h2 id="backup-schedule">Backup schedule</h2>
      <Problem message={error} />
      {data && !policy && (
        <p className="empty">
          No policy applies: no scheduled backups (<a href={href(['backups'])}>set one</a>).
        </p>
      )}
      {data && policy && (
        <dl className="facts">
          <dt>Policy</dt>
          <dd>
            {policy.scope === 'site' ? "the site's own" : describePolicy(policy)} (
            <a href={href(['backups'])}>policies</a>)
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
                    · <a href={href(['tasks', data.lastFiring.taskId])}>its task</a>
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
    <div className="table-scroll">
      <table className="packages">
        <thead>
          <tr>
            <th scope="col">Package</th>
            <th scope="col">Type</th>
            <th scope="col">Version</th>
            <th scope="col">Schema</th>
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
    </div>
  );
}

/** Asks for a login-reset task and waits for its one-time link (a few seconds). */
async function loginLink(domain: string): Promise<string> {
  let task = await send<Task>('POST', `/api/sites/${encode(domain)}/login-reset`);
  while (!FINISHED_TASK_STATES.includes(task.state)) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    task = await get<Task>(`/api/tasks/${encode(task.id)}`);
  }
  const link = task.result?.url;
  if (task.state !== 'succeeded' || typeof link !== 'string') throw new Error(task.error ?? 'no link');
  return link;
}

/** "Log in": a one-time login link from a login-reset task, shown when the task has it. */
function LogIn({ domain }: { domain: string }) {
  const login = useMutation({
    mutationFn: () => loginLink(domain),
    meta: { invalidates: [keys.tasks] },
  });
  if (login.data)
    return (
      <a className="button" href={login.data} target="_blank" rel="noreferrer">
        Log in (one-time link)
      </a>
    );
  return (
    <button type="button" onClick={() => login.mutate()} disabled={login.isPending}>
      {login.isPending ? 'Getting a login link…' : login.isError ? 'Log in (failed, try again)' : 'Log in'}
    </button>
  );
}

function NewNameForms(props: {
  domain: string;
  clone: boolean;
  rename: boolean;
  start: (path: string, body?: unknown) => void;
}) {
  const [name, setName] = useState('');
  const submit = (path: 'clone' | 'rename') => (event: FormEvent) => {
    event.preventDefault();
    props.start(path, { domain: name.trim() });
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
