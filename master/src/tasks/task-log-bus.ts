import { EventEmitter } from 'node:events';
import type { LogLine, TaskProgress } from '../../../shared/src/api.js';
import type { TaskState } from '../../../shared/src/tasks.js';
import { SIGNAL_MAX_BYTES, type SignalChannel } from '../infra/db/signal-channel.js';

/** A live event: the same log lines and progress as the REST API sends (shared/src/api.ts). */
export type TaskEvent =
  | { kind: 'log'; lines: LogLine[] }
  | { kind: 'progress'; progress: TaskProgress }
  | { kind: 'state'; state: TaskState };

const SIGNAL_EVENT = 'bus.event';
/** Room left in a signal for what wraps an event (its kind, its sender, the task id). */
const EVENT_MAX_BYTES = SIGNAL_MAX_BYTES - 300;

/**
 * Live task events for followers (SSE, `task log --follow`), on whichever master they follow from:
 * each event is passed on to the other masters (SignalChannel). The database stays the record: a
 * follower reads what it missed from there and only waits on this bus for what is new.
 */
export class TaskLogBus {
  private readonly emitter = new EventEmitter();
  private readonly progress = new Map<string, TaskProgress>();

  constructor(private readonly signals?: SignalChannel) {
    this.emitter.setMaxListeners(0);
    signals?.on(SIGNAL_EVENT, (body) => {
      const { taskId, event } = body as { taskId: string; event: TaskEvent };
      this.emitHere(taskId, event);
    });
  }

  publish(taskId: string, event: TaskEvent): void {
    this.emitHere(taskId, event);
    if (!this.signals) return;
    for (const part of fitted(event)) this.signals.send(SIGNAL_EVENT, { taskId, event: part });
  }

  private emitHere(taskId: string, event: TaskEvent): void {
    if (event.kind === 'progress') this.progress.set(taskId, event.progress);
    if (event.kind === 'state' && event.state !== 'running' && event.state !== 'queued')
      this.progress.delete(taskId);
    this.emitter.emit(taskId, event);
  }

  latestProgress(taskId: string): TaskProgress | null {
    return this.progress.get(taskId) ?? null;
  }

  subscribe(taskId: string, listener: (event: TaskEvent) => void): () => void {
    this.emitter.on(taskId, listener);
    return () => this.emitter.off(taskId, listener);
  }
}

/**
 * An event cut to what one signal carries: log lines in groups that fit, and a line too long for
 * one signal shortened (a follower on another master sees it whole when it reads the log again).
 */
function fitted(event: TaskEvent): TaskEvent[] {
  if (event.kind !== 'log') return [event];
  const parts: TaskEvent[] = [];
  let lines: LogLine[] = [];
  let bytes = 0;
  for (const line of event.lines) {
    let size = Buffer.byteLength(JSON.stringify(line));
    let sent = line;
    if (size > EVENT_MAX_BYTES) {
      sent = { ...line, text: `${cutToBytes(line.text, EVENT_MAX_BYTES - 400)} [line cut in the live view]` };
      size = Buffer.byteLength(JSON.stringify(sent));
    }
    if (bytes + size > EVENT_MAX_BYTES && lines.length > 0) {
      parts.push({ kind: 'log', lines });
      lines = [];
      bytes = 0;
    }
    lines.push(sent);
    bytes += size;
  }
  if (lines.length > 0) parts.push({ kind: 'log', lines });
  return parts;
}

/** The longest start of `text` whose JSON form stays within `bytes`. */
function cutToBytes(text: string, bytes: number): string {
  let end = Math.min(text.length, bytes);
  while (end > 0 && Buffer.byteLength(JSON.stringify(text.slice(0, end))) > bytes) {
    end = Math.floor(end * 0.9);
  }
  return text.slice(0, end);
}
