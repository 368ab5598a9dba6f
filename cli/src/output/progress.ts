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
/** Off a terminal, a step that reports no progress still gets a line now and then: CI logs show it lives. */
const PLAIN_HEARTBEAT_EVERY_MS = 30_000;

/** What the one-line status says about a task's progress: "45%  120 MiB / 256 MiB  12 MiB/s  ETA 11s". */
export function describeProgress(
  progress: TaskProgress,
  rate: number,
  options: { bar: boolean; barWidth?: number; amounts?: boolean },
): string {
  const parts: string[] = [];
  const { done, total, unit } = progress;
  if (total !== null && total > 0) {
    const fraction = Math.min(1, Math.max(0, done / total));
    if (options.bar) {
      parts.push(`${renderBar(fraction, options.barWidth ?? BAR_WIDTH)} ${Math.floor(fraction * 100)}%`);
    } else {
      parts.push(`${Math.floor(fraction * 100)}%`);
    }
    if (options.amounts !== false) parts.push(`${formatAmount(done, unit)} / ${formatAmount(total, unit)}`);
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
 * printed above it. Elsewhere (CI logs, pipes): plain lines when the phase or step changes, every
 * few seconds while a step reports progress and every half minute while it does not, and never a
 * control character.
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
    const progress = currentProgress(task);
    const active = activeStep(task);
    const phase = currentPhase(task);
    const key = `${task.state}|${phase ?? ''}|${progress?.stepName ?? ''}|${progress?.phase ?? ''}|${progress?.unit ?? ''}|${active ?? ''}`;
    const changed = key !== this.lastKey;
    if (changed) this.meter.reset();
    if (progress) this.meter.sample(this.now(), progress.done);
    if (this.tty) {
      this.frame++;
      this.drawStatus(this.statusLine(task));
    } else {
      const at = this.now();
      const every = progress ? PLAIN_PROGRESS_EVERY_MS : PLAIN_HEARTBEAT_EVERY_MS;
      // A finished task gets no progress line: its outcome is printed next.
      const finished = task.state !== 'running' && task.state !== 'queued';
      if (!finished && (changed || (task.state === 'running' && at - this.lastPlainAt >= every))) {
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
    const progress = currentProgress(task);
    const elapsed = this.elapsed(task);
    if (task.state === 'queued') return `${spinner} queued, waiting for a slot on the server  ${elapsed}`;
    const what = [progress?.stepName, progress?.phase].filter(Boolean).map(sanitizeName).join(' · ');
    const line = (detail: string) =>
      [`${spinner} ${this.where(task, what)}`, detail, elapsed].filter(Boolean).join('  ');
    if (!progress) return line('');
    // The rate and the ETA matter more than the bar and the amounts: on a narrow terminal the bar
    // shrinks, then goes, then the amounts, before anything is cut off the end of the line.
    const rate = this.meter.rate();
    const forms = [
      { bar: true, barWidth: BAR_WIDTH },
      { bar: true, barWidth: 10 },
      { bar: false },
      { bar: false, amounts: false },
    ];
    const lines = forms.map((form) => line(describeProgress(progress, rate, form)));
    return lines.find((text) => [...text].length <= this.width()) ?? lines[lines.length - 1]!;
  }

  private width(): number {
    return Math.max(20, (this.stream.columns || 80) - 1);
  }

  private plainLine(task: Task): string {
    const progress = currentProgress(task);
    const what = [progress?.stepName, progress?.phase].filter(Boolean).map(sanitizeName).join(' / ');
    const detail = progress ? describeProgress(progress, this.meter.rate(), { bar: false }) : '';
    const head =
      task.state === 'queued' ? 'queued, waiting for a slot on the server' : this.where(task, what);
    return `... ${head}${detail ? `: ${detail}` : ''} (${this.elapsed(task)})`;
  }

  /** "rehearsal › site.extract · extract": the task's phase, then the step and its own phase. */
  private where(task: Task, what: string): string {
    const phase = currentPhase(task);
    const step = what || activeStep(task);
    return [phase ? sanitize(phase) : undefined, step].filter(Boolean).join(' › ') || task.state;
  }

  private elapsed(task: Task): string {
    const since = Date.parse(task.startedAt ?? task.createdAt);
    return Number.isNaN(since) ? '' : formatDuration(Math.max(0, this.now() - since));
  }

  private drawStatus(line: string): void {
    const shown = [...line].slice(0, this.width()).join('');
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
 * The phase of its workflow a task is in (backup, rehearsal, offline window, ...): the innermost
 * phase that started and has not ended. Phases nest, and an inner one is recorded after its outer.
 */
export function currentPhase(task: Task): string | undefined {
  if (task.state !== 'running') return undefined;
  return task.phases.filter((phase) => phase.startedAt && !phase.endedAt).at(-1)?.name;
}

/**
 * The task's progress while it is current. The master keeps the last progress a task reported until
 * the task ends, so after the step that reported it finished, it would show a stale 100% through
 * the steps that follow.
 */
export function currentProgress(task: Task): TaskProgress | null {
  const progress = task.progress;
  if (!progress) return null;
  const named = (task.steps ?? []).filter((step) => progress.stepName && step.name === progress.stepName);
  if (named.length > 0 && !named.some((step) => step.state === 'running' || step.state === 'pending')) {
    return null;
  }
  return progress;
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
