import { EventStreamParser } from '../../../shared/src/event-stream.js';
import type { TaskState } from '../../../shared/src/tasks.js';
import type { LogLine, TaskProgress } from '../../../shared/src/api.js';
import { authHeaders } from './api.js';

export interface TaskEventHandlers {
  onLines(lines: LogLine[]): void;
  onProgress(progress: TaskProgress): void;
  onState(state: TaskState): void;
  onEnd(): void;
}

/**
 * Follows GET /api/tasks/{id}/events. EventSource cannot send an Authorization header and the token
 * must never be in a URL, so the stream is read with fetch() and parsed here. Resumes after a
 * dropped connection from the last line id it saw (Last-Event-ID), until the task ends or `signal`
 * aborts.
 */
export async function followTaskEvents(
  taskId: string,
  handlers: TaskEventHandlers,
  signal: AbortSignal,
): Promise<void> {
  let lastId: string | undefined;
  while (!signal.aborted) {
    let ended = false;
    try {
      const response = await fetch(`/api/tasks/${encodeURIComponent(taskId)}/events`, {
        headers: {
          ...authHeaders(),
          Accept: 'text/event-stream',
          ...(lastId ? { 'Last-Event-ID': lastId } : {}),
        },
        signal,
      });
      if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
      const parser = new EventStreamParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const event of parser.push(value)) {
          if (event.id) lastId = event.id;
          const data: unknown = JSON.parse(event.data);
          if (event.event === 'log') handlers.onLines(data as LogLine[]);
          else if (event.event === 'progress') handlers.onProgress(data as TaskProgress);
          else if (event.event === 'state') handlers.onState((data as { state: TaskState }).state);
          else if (event.event === 'end') ended = true;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      console.warn('task events interrupted, reconnecting', error);
    }
    if (ended) {
      handlers.onEnd();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
