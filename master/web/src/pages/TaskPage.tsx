import { useEffect, useRef, useState } from 'react';
import { FINISHED_TASK_STATES, type TaskState } from '../../../../shared/src/tasks.js';
import type { LogLine, Task, TaskProgress } from '../../../../shared/src/api.js';
import { api, encode } from '../api.js';
import { followTaskEvents } from '../live-log.js';
import { Badge, formatDuration, formatTime, navigate, Problem, usePolled } from '../util.js';

/** A task: its state, phase timings and steps, and its log as it arrives (server-sent events). */
export function TaskPage({ id }: { id: string }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [liveState, setLiveState] = useState<TaskState>();
  const [progress, setProgress] = useState<TaskProgress>();
  const [streamEnded, setStreamEnded] = useState(false);
  const [retrying, setRetrying] = useState(false);
  const [retryProblem, setRetryProblem] = useState<string>();
  const finished = liveState !== undefined && FINISHED_TASK_STATES.includes(liveState);
  // Phases and steps come from the task itself: read again while it runs, and once when it ends.
  const task = usePolled(() => api<Task>('GET', `/api/tasks/${encode(id)}`), finished ? 0 : 2000, [
    id,
    finished,
  ]);
  const logEnd = useRef<HTMLDivElement>(null);

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

  // Braces: newer browsers return a promise from scrollIntoView, and an effect may return only a cleanup.
  useEffect(() => {
    logEnd.current?.scrollIntoView({ block: 'nearest' });
  }, [lines.length]);

  if (!task.data) return <Problem message={task.error} />;
  const current = task.data;
  const state = liveState ?? current.state;
  const cancel = async () => {
    await api('POST', `/api/tasks/${encode(id)}/cancel`, {}).catch(() => undefined);
    task.reload();
  };
  // The API decides what can be retried (not install, clone or rename); its refusal is shown as is.
  const retry = async () => {
    setRetrying(true);
    setRetryProblem(undefined);
    try {
      const again = await api<Task>('POST', `/api/tasks/${encode(id)}/retry`, {});
      navigate(`#/tasks/${encode(again.id)}`);
    } catch (error) {
      setRetryProblem(error instanceof Error ? error.message : String(error));
      setRetrying(false);
    }
  };

  return (
    <div className="task-page">
      <h1>
        {current.type}{' '}
        {current.targetKind === 'site' ? (
          <a href={`#/sites/${encode(current.targetName)}`}>{current.targetName}</a>
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
              <a href={`#/tasks/${encode(current.retryOf)}`}>task {current.retryOf}</a>
            </dd>
          </>
        )}
      </dl>
      {!FINISHED_TASK_STATES.includes(state) && (
        <button type="button" className="danger" onClick={() => void cancel()}>
          Cancel
        </button>
      )}
      {(state === 'failed' || state === 'cancelled') && (
        <button type="button" disabled={retrying} onClick={() => void retry()}>
          Retry
        </button>
      )}
      <Problem message={retryProblem} />
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
        <pre className="log" data-testid="task-log">
          {lines.map((line) => (
            <div key={line.id} className={`log-line ${line.stream}`}>
              <span className="at">{new Date(line.at).toLocaleTimeString()}</span> {line.text}
            </div>
          ))}
          <div ref={logEnd} />
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
  const longest = Math.max(
    1,
    ...task.phases.map(
      (phase) => (phase.endedAt ? Date.parse(phase.endedAt) : now) - Date.parse(phase.startedAt),
    ),
  );
  return (
    <table className="phases">
      <thead>
        <tr>
          <th>Phase</th>
          <th>Started</th>
          <th>Took</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {task.phases.map((phase, index) => {
          const took = (phase.endedAt ? Date.parse(phase.endedAt) : now) - Date.parse(phase.startedAt);
          return (
            <tr key={`${phase.name}-${index}`}>
              <td>{phase.name}</td>
              <td>{new Date(phase.startedAt).toLocaleTimeString()}</td>
              <td>{phase.endedAt ? formatDuration(took) : `${formatDuration(took)}…`}</td>
              <td className="bar">
                <span style={{ width: `${(100 * took) / longest}%` }} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
