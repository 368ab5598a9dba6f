import type { LogLine } from '../../../generated/proto/berth/agent/v1/LogLine.js';

export type LogStream = 'stdout' | 'stderr' | 'agent';

export interface AttemptLogLimits {
  /** Lines per log frame. */
  batchLines: number;
  /** Lines kept for a resend after a reconnect. */
  retainLines: number;
  /** Characters kept for a resend after a reconnect. */
  retainChars: number;
}

export const DEFAULT_LOG_LIMITS: Readonly<AttemptLogLimits> = Object.freeze({
  batchLines: 64,
  retainLines: 5_000,
  retainChars: 2 * 1024 * 1024,
});

interface Line {
  seq: number;
  stream: LogStream;
  text: string;
  atMs: number;
}

/**
 * The log of one attempt: numbers its lines from 1 without gaps, hands them out in batches, and
 * keeps the most recent ones so that a reconnect can send again what the master may have missed
 * (it drops the duplicates by attempt and seq). The memory it holds is bounded.
 */
export class AttemptLog {
  private readonly lines: Line[] = [];
  private retainedChars = 0;
  private nextSeq = 1;
  /** The highest seq handed out for sending on the current connection. */
  private sentSeq = 0;
  /** Lines dropped before they could be sent (a long cut with a chatty step). */
  private droppedUnsent = 0;

  constructor(private readonly limits: AttemptLogLimits = DEFAULT_LOG_LIMITS) {}

  append(stream: LogStream, text: string, atMs: number): void {
    this.lines.push({ seq: this.nextSeq, stream, text, atMs });
    this.nextSeq += 1;
    this.retainedChars += text.length;
    while (
      this.lines.length > 1 &&
      (this.lines.length > this.limits.retainLines || this.retainedChars > this.limits.retainChars)
    ) {
      const dropped = this.lines.shift();
      if (!dropped) break;
      this.retainedChars -= dropped.text.length;
      if (dropped.seq > this.sentSeq) this.droppedUnsent += 1;
    }
  }

  /** How many lines wait to be sent. */
  unsent(): number {
    const first = this.lines[0];
    if (!first) return 0;
    return this.lines.length - Math.max(0, this.sentSeq - first.seq + 1);
  }

  /** The next lines to send (at most batchLines), marked as sent; undefined when there are none. */
  takeBatch(): LogLine[] | undefined {
    const first = this.lines[0];
    if (!first) return undefined;
    const start = Math.max(0, this.sentSeq + 1 - first.seq);
    const batch = this.lines.slice(start, start + this.limits.batchLines);
    const last = batch.at(-1);
    if (!last) return undefined;
    this.sentSeq = last.seq;
    return batch.map((line) => ({
      seq: String(line.seq),
      stream: line.stream,
      text: line.text,
      atMs: String(line.atMs),
    }));
  }

  /** After a reconnect: everything still kept goes out again. */
  rewind(): void {
    this.sentSeq = 0;
  }

  /** Lines lost without being sent, reported once (then reset). */
  takeDroppedCount(): number {
    const count = this.droppedUnsent;
    this.droppedUnsent = 0;
    return count;
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }
}
