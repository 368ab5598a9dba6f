import { setTimeout as sleep } from 'node:timers/promises';
import { FINISHED_TASK_STATES, type TaskState } from '../../shared/src/tasks.js';
import type { ApiClient } from './api-client.js';
import type { LogLine, Task } from './api-types.js';
import { CliError, ExitCode } from './errors.js';
import { formatClock, sanitize } from './output/format.js';

export const LOG_PAGE_SIZE = 500;

export function isFinished(state: TaskState): boolean {
  return FINISHED_TASK_STATES.includes(state);
}

/** 0 for a task that succeeded, 1 for one that failed or was cancelled. */
export function exitCodeFor(task: Task): number {
  return task.state === 'succeeded' ? ExitCode.Ok : ExitCode.Failed;
}

export interface FollowOptions {
  client: ApiClient;
  taskId: string;
  pollIntervalMs: number;
  /** Stops following (Ctrl-C); the task itself goes on. */
  signal: AbortSignal;
  /** Log lines in the order the master stored them, each exactly once. */
  onLines(lines: LogLine[], task: Task): void;
  /** The task as last read, for its state and progress. */
  onTask?(task: Task): void;
}

/**
 * Follows a task until it finishes: polls its log with the cursor the master hands back, and the
 * task for its state and progress. Returns the finished task, after every log line was delivered.
 */
export async function followTask(options: FollowOptions): Promise<Task> {
  const { client, taskId, signal } = options;
  let task = await client.getTask(taskId);
  options.onTask?.(task);
  let cursor: string | undefined;

  const readPage = async (): Promise<{ count: number; state: TaskState }> => {
    const page = await client.getTaskLog(taskId, { after: cursor, limit: LOG_PAGE_SIZE });
    if (page.lines.length > 0) {
      // A step created since the task was last read: read it again so its lines carry its name.
      const known = new Set((task.steps ?? []).map((step) => step.id));
      if (page.lines.some((line) => line.stepId !== null && !known.has(line.stepId))) {
        task = await client.getTask(taskId);
        options.onTask?.(task);
      }
      options.onLines(page.lines, task);
      cursor = page.next || page.lines[page.lines.length - 1]?.id || cursor;
    } else if (page.next) {
      cursor = page.next;
    }
    return { count: page.lines.length, state: page.taskState };
  };

  for (;;) {
    const page = await readPage();
    if (page.count >= LOG_PAGE_SIZE) continue;
    if (isFinished(page.state)) {
      // The state in this page was read with its lines; lines stored just before the state
      // changed could still be arriving, so read until a page comes back empty.
      while ((await readPage()).count > 0) {
        /* keep draining */
      }
      task = await client.getTask(taskId);
      options.onTask?.(task);
      return task;
    }
    task = await client.getTask(taskId);
    options.onTask?.(task);
    // Finished between the two reads: go straight back for the last lines.
    if (isFinished(task.state)) continue;
    await pause(options.pollIntervalMs, signal);
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw new CliError('Interrupted', ExitCode.Interrupted);
  }
}

/** "12:03:04 [server.probe] text", with the stream named when it is not the step's stdout. */
export function formatLogLine(line: LogLine, task: Task): string {
  const step = line.stepId ? task.steps?.find((candidate) => candidate.id === line.stepId) : undefined;
  const source = step ? step.name : line.stepId ? 'step' : line.stream === 'stdout' ? 'task' : line.stream;
  const stream = step && line.stream !== 'stdout' ? ` ${line.stream}` : '';
  return `${formatClock(line.at)} [${sanitize(source)}${sanitize(stream)}] ${sanitize(line.text)}`;
}
