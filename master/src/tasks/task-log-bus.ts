import { EventEmitter } from 'node:events';
import type { LogLine, TaskProgress } from '../../../shared/src/api.js';
import type { TaskState } from '../../../shared/src/tasks.js';

/** A live event: the same log lines and progress as the REST API sends (shared/src/api.ts). */
export type TaskEvent =
  | { kind: 'log'; lines: LogLine[] }
  | { kind: 'progress'; progress: TaskProgress }
  | { kind: 'state'; state: TaskState };

/**
 * Live task events inside one master, for followers (SSE, `task log --follow`). The database stays
 * the record: a follower reads what it missed from there and only waits on this bus for what is new.
 */
export class TaskLogBus {
  private readonly emitter = new EventEmitter();
  private readonly progress = new Map<string, TaskProgress>();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(taskId: string, event: TaskEvent): void {
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
