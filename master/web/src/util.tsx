import { formatDuration } from '../../../shared/src/format.js';

// Sizes and durations as the CLI writes them ("4.2s", "1m 59s", "5.00 GiB"): every page takes them
// from here, none formats its own.
export { formatBytes, formatDuration } from '../../../shared/src/format.js';

export function Badge({ value }: { value: string }) {
  return <span className={`badge badge-${value}`}>{value}</span>;
}

export function Problem({ message }: { message: string | undefined }) {
  return message ? (
    <p className="problem" role="alert">
      {message}
    </p>
  ) : null;
}

/** A moment in the browser's locale and time zone; '–' for never. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '–';
}

/** The time of day only (log lines, phases: the task's date is in its facts). */
export function formatClock(iso: string): string {
  return new Date(iso).toLocaleTimeString();
}

/** How long something took from `start` to `end`; running (no end): so far, with an ellipsis. */
export function formatSpan(start: string | null, end: string | null, now = Date.now()): string {
  if (!start) return '–';
  const took = (end ? Date.parse(end) : now) - Date.parse(start);
  return end ? formatDuration(took) : `${formatDuration(took)}…`;
}
