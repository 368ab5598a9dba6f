import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { LogLine, Task, TaskProgress, WhoAmI } from '../../../../shared/src/api.js';
import { FINISHED_TASK_STATES, type TaskState } from '../../../../shared/src/tasks.js';
import { encode, get, send } from '../api.js';
import { followTaskEvents } from '../live-log.js';
import { errorMessage, keys, SITE_CHANGE } from '../query.js';
import { href, navigate, useTitle } from '../router.js';
import { Badge, formatClock, formatSpan, formatTime, Problem } from '../util.js';

/** Phases and steps come from the task itself: read again every 2 s while it runs. */
const TASK_POLL_MS = 2000;

/** A task: its state, phase timings and steps, and its log as it arrives (server-sent events). */
export function TaskPage({ id, me }: { id: string; me: WhoAmI }) {
  const client = useQueryClient();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [liveState, setLiveState] = useState<TaskState>();
  const [progress, setProgress] = useState<TaskProgress>();
  const [streamEnded, setStreamEnded] = useState(false);
  const task = useQuery({
    queryKey: keys.task(id),
    queryFn: ({ signal }) => get<Task>(`/api/tasks/${encode(id)}`, signal),
    refetchInterval: (query) => {
      const state = query.state.data?.state;
      return state && FINISHED_TASK_STATES.includes(state) ? false : TASK_POLL_MS;
    },
  });
  const log = useRef<HTMLPreElement>(null);
  const title = task.data ? `${task.data.type} ${task.data.targetName}` : undefined;
  useTitle(title, 'Tasks');

  useEffect(() => {
    const abort = new AbortController();
    void followTaskEvents(
      id,
      {
        onLines: (fresh) => setLines((known) => [...known, ...fresh]),
        onProgress: setProgress,
        onState: setLiveState,
        onEnd: () => setStreamEnded(true),
      },
      abort.signal,
    );
    return () => abort.abort();
  }, [id]);

  // It ended (the stream or a read said so): the lists that show it and what it changed (its site's
  // page, the dashboard) are stale. Its site's page is dropped, not only marked: shown from the cache
  // on the way there, it would offer for a moment what the site offered before (Disable once more).
  const latest = liveState ?? task.data?.state;
  const finished = latest !== undefined && FINISHED_TASK_STATES.includes(latest);
  const site = task.data?.targetKind === 'site' ? task.data.targetName : undefined;
  useEffect(() => {
    if (!finished) return;
    if (site) client.removeQueries({ queryKey: keys.site(site), type: 'inactive' });
    for (const queryKey of SITE_CHANGE) void client.invalidateQueries({ queryKey });
  }, [finished, site, client]);

  // Follow the end of the log as it grows, inside its own box (the page does not jump).
  useEffect(() => {
    const box = log.current;
    if (box) box.scrollTop = box.scrollHeight;
  }, [lines.length]);

  const cancel = useMutation({
    mutationFn: () => send('POST', `/api/tasks/${encode(id)}/cancel`),
    meta: { invalidates: SITE_CHANGE },
  });
  // The API decides what can be retried (not install, clone or rename); its refusal is shown as is.
  const retry = useMutation({
    mutationFn: () => send<Task>('POST', `/api/tasks/${encode(id)}/retry`),
    meta: { invalidates: SITE_CHANGE },
    onSuccess: (again) => navigate(href(['tasks', again.id])),
  });

  if (!task.data) return <Problem message={errorMessage(task.error)} />;
  const current = task.data;
  const state = liveState ?? current.state;
  const admin = me.role === 'admin';

  return (
    <div className="task-page">
      <h1>
        {current.type}{' '}
        {current.targetKind === 'site' ? (
          <a href={href(['sites', current.targetName])}>{current.targetName}</a>
        ) : current.targetKind === 'platform' && admin ? (
          <a href={href(['platforms', current.targetName])}>{current.targetName}</a>
        ) : (
          current.targetName
        )}{' '}
        <Badge value={state} />
      </h1>
      <dl className="facts">
        <dt>Queued</dt>
        <dd>{formatTime(current.createdAt)}</dd>
        <dt>Started</dt>
        <dd>{formatTime(current.startedAt)}</dd>
        <dt>Finished</dt>
        <dd>{formatTime(current.finishedAt)}</dd>
        {current.retryOf && (
          <>
            <dt>Retry of</dt>
            <dd>
              <a href={href(['tasks', current.retryOf])}>task {current.retryOf}</a>
            </dd>
          </>
        )}
      </dl>
      {!FINISHED_TASK_STATES.includes(state) && (
        <button type="button" className="danger" disabled={cancel.isPending} onClick={() => cancel.mutate()}>
          Cancel
        </button>
      )}
      {(state === 'failed' || state === 'cancelled') && (
        <button type="button" disabled={retry.isPending || retry.isSuccess} onClick={() => retry.mutate()}>
          Retry
        </button>
      )}
      <Problem message={errorMessage(retry.error ?? cancel.error)} />
      {progress && state === 'running' && (
        <p className="progress">
          {progress.stepName}: {progress.done} / {progress.total} {progress.unit}
          <progress max={progress.total} value={progress.done} />
        </p>
      )}
      {current.error && <Problem message={current.error} />}
      {current.result && (
        <details>
          <summary>Result</summary>
          <pre>{JSON.stringify(current.result, null, 2)}</pre>
        </details>
      )}

      <section aria-labelledby="phases">
        <h2 id="phases">Phases</h2>
        <Phases task={current} />
      </section>

      <section aria-labelledby="log">
        <h2 id="log">
          Log{' '}
          <span className="summary">
            {lines.length} lines{streamEnded ? '' : ', live'}
          </span>
        </h2>
        {/* A <pre> holds phrasing content only: each line a <span>, a newline between them. */}
        <pre className="log" data-testid="task-log" ref={log} tabIndex={0} aria-label="Task log">
          {lines.map((line) => (
            <span key={line.id} className={`log-line ${line.stream}`}>
              <span className="at">{formatClock(line.at)}</span> {line.text}
              {'\n'}
            </span>
          ))}
        </pre>
      </section>

      {current.steps && current.steps.length > 0 && (
        <section aria-labelledby="steps">
          <h2 id="steps">Steps</h2>
          <ol className="steps">
            {current.steps.map((step) => (
              <li key={step.id}>
                {step.name} on {step.serverName} <Badge value={step.state} />
              </li>
            ))}
          </ol>
        </section>
      )}
    </div>
  );
}

function Phases({ task }: { task: Task }) {
  if (task.phases.length === 0) return <p className="empty">This task records no phases.</p>;
  const now = Date.now();
  const tookOf = (phase: Task['phases'][number]) =>
    (phase.endedAt ? Date.parse(phase.endedAt) : now) - Date.parse(phase.startedAt);
  const longest = Math.max(1, ...task.phases.map(tookOf));
  return (
    <div className="table-scroll">
      <table className="phases">
        <thead>
          <tr>
            <th scope="col">Phase</th>
            <th scope="col">Started</th>
            <th scope="col">Took</th>
            <th scope="col">
              <span className="visually-hidden">Share of the longest</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {task.phases.map((phase, index) => (
            <tr key={`${phase.name}-${index}`}>
              <td>{phase.name}</td>
              <td>{formatClock(phase.startedAt)}</td>
              <td>{formatSpan(phase.startedAt, phase.endedAt, now)}</td>
              <td className="bar">
                <span style={{ width: `${(100 * tookOf(phase)) / longest}%` }} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
