import type { Task, TaskProgress } from '../api-types.js';
import { formatAmount, formatDuration, formatEta, formatRate, sanitize } from './format.js';

export interface TerminalStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Measures a rate over the last few seconds, so that the shown rate follows the transfer rather
 * than averaging over a slow start.
 */
export class RateMeter {
  private samples: { at: number; value: number }[] = [];

  constructor(private readonly windowMs = 5_000) {}

  sample(at: number, value: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && value < last.value) this.samples = [];
    this.samples.push({ at, value });
    while (this.samples.length > 2 && at - (this.samples[0]?.at ?? at) > this.windowMs) this.samples.shift();
  }

  /** Units per second; 0 until two samples are far enough apart to mean something. */
  rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 200) return 0;
    return ((last.value - first.value) * 1000) / (last.at - first.at);
  }

  reset(): void {
    this.samples = [];
  }
}

const BAR_WIDTH = 24;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const PLAIN_PROGRESS_EVERY_MS = 5_000;

/** What the one-line status says about a task's progress: "45%  120 MiB / 256 MiB  12 MiB/s  ETA 11s". */
export function describeProgress(progress: TaskProgress, rate: number, options: { bar: boolean }): string {
  const parts: string[] = [];
  const { done, total, unit } = progress;
  if (total !== null && total > 0) {
    const fraction = Math.min(1, Math.max(0, done / total));
    if (options.bar) parts.push(`${renderBar(fraction, BAR_WIDTH)} ${Math.floor(fraction * 100)}%`);
    else parts.push(`${Math.floor(fraction * 100)}%`);
    parts.push(`${formatAmount(done, unit)} / ${formatAmount(total, unit)}`);
  } else {
    parts.push(formatAmount(done, unit));
  }
  if (unit === 'bytes' && rate > 0) parts.push(formatRate(rate));
  if (total !== null && total > 0 && done < total) parts.push(formatEta(total - done, rate));
  return parts.join('  ');
}

export function renderBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

/**
 * Shows a running task on stderr. On a terminal: one status line, redrawn in place, with log lines
 * printed above it. Elsewhere (CI logs, pipes): plain lines when the step or phase changes and every
 * few seconds while it moves, and never a control character.
 */
export class ProgressReporter {
  private readonly tty: boolean;
  private readonly meter = new RateMeter();
  private statusShown = false;
  private lastStatus = '';
  private frame = 0;
  private lastKey: string | undefined;
  private lastPlainAt = 0;
  private lastTask: Task | undefined;

  constructor(
    private readonly stream: TerminalStream,
    private readonly now: () => number = Date.now,
  ) {
    this.tty = stream.isTTY === true;
  }

  update(task: Task): void {
    this.lastTask = task;
    const progress = task.progress;
    const active = activeStep(task);
    const key = `${task.state}|${progress?.stepName ?? ''}|${progress?.phase ?? ''}|${progress?.unit ?? ''}|${active ?? ''}`;
    const changed = key !== this.lastKey;
    if (changed) this.meter.reset();
    if (progress) this.meter.sample(this.now(), progress.done);
    if (this.tty) {
      this.frame++;
      this.drawStatus(this.statusLine(task));
    } else {
      const at = this.now();
      if (changed || (progress && at - this.lastPlainAt >= PLAIN_PROGRESS_EVERY_MS)) {
        this.lastPlainAt = at;
        this.stream.write(this.plainLine(task) + '\n');
      }
    }
    this.lastKey = key;
  }

  /** A line from the task's log, printed above the status line. */
  log(line: string): void {
    this.clearStatus();
    this.stream.write(line + '\n');
    if (this.tty && this.lastStatus) this.drawStatus(this.lastStatus);
  }

  /** Removes the status line for good, before the outcome is printed. */
  finish(): void {
    this.clearStatus();
    this.lastStatus = '';
  }

  private statusLine(task: Task): string {
    const spinner = SPINNER[this.frame % SPINNER.length] ?? '';
    const progress = task.progress;
    const elapsed = this.elapsed(task);
    if (task.state === 'queued') return `${spinner} queued, waiting for a slot on the server  ${elapsed}`;
    const what = [progress?.stepName, progress?.phase].filter(Boolean).map(sanitizeName).join(' · ');
    const detail = progress ? describeProgress(progress, this.meter.rate(), { bar: true }) : '';
    return [`${spinner} ${what || activeStep(task) || task.state}`, detail, elapsed]
      .filter(Boolean)
      .join('  ');
  }

  private plainLine(task: Task): string {
    const progress = task.progress;
    const what = [progress?.stepName, progress?.phase].filter(Boolean).map(sanitizeName).join(' / ');
    const detail = progress ? describeProgress(progress, this.meter.rate(), { bar: false }) : '';
    const head =
      task.state === 'queued'
        ? 'queued, waiting for a slot on the server'
        : what || activeStep(task) || task.state;
    return `... ${head}${detail ? `: ${detail}` : ''} (${this.elapsed(task)})`;
  }

  private elapsed(task: Task): string {
    const since = Date.parse(task.startedAt ?? task.createdAt);
    return Number.isNaN(since) ? '' : formatDuration(Math.max(0, this.now() - since));
  }

  private drawStatus(line: string): void {
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    const shown = [...line].slice(0, width).join('');
    this.stream.write(`\r\x1b[2K${shown}`);
    this.statusShown = true;
    this.lastStatus = line;
  }

  private clearStatus(): void {
    if (this.tty && this.statusShown) {
      this.stream.write('\r\x1b[2K');
      this.statusShown = false;
    }
  }

  /** The task seen last, for callers that want to print its final state. */
  get task(): Task | undefined {
    return this.lastTask;
  }
}

function sanitizeName(text: string | null | undefined): string {
  return sanitize(text ?? '');
}

/**
 * What a running task without progress is doing: its latest unfinished step, and, when that step
 * has not started, that it waits (for the server's agent to connect or for a free slot).
 */
export function activeStep(task: Task): string | undefined {
  const step = (task.steps ?? [])
    .filter((candidate) => candidate.state === 'pending' || candidate.state === 'running')
    .at(-1);
  if (!step) return undefined;
  const where = step.serverName ? ` on ${sanitize(step.serverName)}` : '';
  const name = `${sanitize(step.name)}${where}`;
  if (step.state === 'running') return name;
  const server = step.serverName ? `${sanitize(step.serverName)}'s agent` : 'the agent';
  return `${name}: waiting for ${server} or a free slot`;
}
