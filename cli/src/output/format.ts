/**
 * Formatting of sizes, rates, durations and times for people. Pure functions; tests pin them down.
 * Sizes and durations are shared with the web UI (shared/src/format.ts).
 */
import { formatBytes, formatDuration } from '../../../shared/src/format.js';

export { formatBytes, formatDuration };

export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) return '?/s';
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Time left as "ETA 12s"; unknown when nothing has moved yet. */
export function formatEta(remaining: number, ratePerSecond: number): string {
  if (remaining <= 0) return 'ETA 0s';
  if (!(ratePerSecond > 0) || !Number.isFinite(remaining)) return 'ETA --';
  const ms = (remaining / ratePerSecond) * 1000;
  // Sub-second precision on an estimate is noise.
  return `ETA ${ms < 1000 ? '<1s' : formatDuration(Math.ceil(ms / 1000) * 1000)}`;
}

/** "5s ago", "3m ago", "in 2h"; "-" for no time at all. */
export function formatRelative(iso: string | null | undefined, now: number): string {
  if (!iso) return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '-';
  const delta = now - at;
  const magnitude = Math.abs(delta);
  let text: string;
  if (magnitude < 5_000) return 'just now';
  if (magnitude < 60_000) text = `${Math.floor(magnitude / 1000)}s`;
  else if (magnitude < 3_600_000) text = `${Math.floor(magnitude / 60_000)}m`;
  else if (magnitude < 86_400_000) text = `${Math.floor(magnitude / 3_600_000)}h`;
  else text = `${Math.floor(magnitude / 86_400_000)}d`;
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}

/** An amount in the progress' unit: bytes human-readable, anything else as "12 files". */
export function formatAmount(value: number, unit: string | null | undefined): string {
  if (unit === 'bytes') return formatBytes(value);
  return unit ? `${value} ${unit}` : String(value);
}

/** How long a task ran (or has been running). */
export function taskDuration(
  task: { createdAt: string; startedAt: string | null; finishedAt: string | null },
  now: number,
): string {
  const start = Date.parse(task.startedAt ?? '');
  if (Number.isNaN(start)) return '-';
  const end = task.finishedAt ? Date.parse(task.finishedAt) : now;
  return formatDuration(Math.max(0, end - start));
}

/** A local wall-clock time (HH:MM:SS) for log lines. */
export function formatClock(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '--:--:--';
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

// eslint-disable-next-line no-control-regex
const ESCAPE_SEQUENCES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * Text that came from a server (log lines, error output) with terminal escape sequences and
 * control characters removed: a step's output must not be able to drive the user's terminal.
 */
export function sanitize(text: string): string {
  return text.replace(ESCAPE_SEQUENCES, '').replace(CONTROL_CHARACTERS, '');
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** A list of deploy hooks as people read it: updatedb first, always. */
export function formatHooks(hooks: readonly string[]): string {
  return ['updatedb', ...hooks].join(' -> ');
}
