import { shownByDefault } from '../../shared/src/log-lines.js';
import type { ApiClient } from './api-client.js';
import type { Task } from './api-types.js';
import type { CliContext } from './context.js';
import { CliError, ExitCode } from './errors.js';
import { exitCodeFor, followTask, formatLogLine, type FollowOptions } from './follow.js';
import { formatDuration, sanitize, taskDuration } from './output/format.js';
import { ProgressReporter } from './output/progress.js';
import { checkFields, listFields } from './output/structured.js';
import { renderFields } from './output/table.js';

export interface TaskStartOptions {
  wait: boolean;
  /** --json, or --format or --fields (prepareOutput sets it): the task as data, not text. */
  json?: boolean;
  /** Every log line, not only the master's and the warnings and errors. */
  verbose?: boolean;
}

/** Every key of a task in a list (GET /api/tasks): all but its steps. */
export const TASK_LIST_KEYS: { [K in keyof Omit<Task, 'steps'>]-?: true } = {
  id: true,
  type: true,
  state: true,
  targetKind: true,
  retryOf: true,
  targetId: true,
  targetName: true,
  params: true,
  result: true,
  error: true,
  errorCode: true,
  rollbackCompleted: true,
  phases: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  cancelRequestedAt: true,
  progress: true,
};

/** Every key of a task as a task command prints it (GET /api/tasks/{id}: with its steps). */
const TASK_FIELDS = listFields<Task>({ ...TASK_LIST_KEYS, steps: true }, []).fields;

/** The help of a task command's --no-wait and --json. */
export const WAIT_HELP = 'print the task id and return at once instead of following the task';
export const JSON_HELP = 'print the task as JSON (the final task unless --no-wait)';

export const VERBOSE_HELP =
  'show every log line while following (each command a step runs, its output); by default only the ' +
  "master's lines and warnings and errors";

/**
 * What every task-starting command does with the task the master accepted: with --no-wait print its
 * id (or the task as JSON); otherwise show its progress and log on stderr until it finishes, print
 * the outcome, and return 0 when it succeeded, 1 when it failed or was cancelled.
 */
export async function finishTaskCommand(
  ctx: CliContext,
  client: ApiClient,
  started: Task,
  options: TaskStartOptions,
): Promise<number> {
  if (!options.wait) {
    if (options.json) ctx.printData(started);
    else ctx.out(started.id);
    return ExitCode.Ok;
  }
  ctx.err(`Task ${started.id}: ${describeTask(started)}`);
  const reporter = new ProgressReporter(ctx.io.stderr, ctx.now);
  let final: Task;
  try {
    final = await followWithin(ctx, {
      client,
      taskId: started.id,
      onLines: (lines, task) => {
        for (const line of lines) {
          if (options.verbose || shownByDefault(line)) reporter.log(formatLogLine(line, task));
        }
      },
      onTask: (task) => reporter.update(task),
    });
  } catch (error) {
    reporter.finish();
    if (error instanceof CliError && error.exitCode === ExitCode.Interrupted) {
      throw stoppedWaiting(started.id, 'Stopped waiting', ExitCode.Interrupted);
    }
    throw error;
  }
  reporter.finish();
  if (options.json) ctx.printData(final);
  else printOutcome(ctx, final);
  return exitCodeFor(final);
}

/**
 * Follows a task until it ends, or until --timeout passes: then a CliError with exit code 124 (the
 * task goes on on the master). Ctrl-C stops it too (exit 130).
 */
export async function followWithin(
  ctx: CliContext,
  options: Omit<FollowOptions, 'signal' | 'pollIntervalMs'>,
): Promise<Task> {
  const deadline = ctx.timeoutMs === undefined ? undefined : AbortSignal.timeout(ctx.timeoutMs);
  try {
    return await followTask({
      ...options,
      pollIntervalMs: ctx.pollIntervalMs,
      signal: deadline ? AbortSignal.any([ctx.interrupt, deadline]) : ctx.interrupt,
    });
  } catch (error) {
    if (!deadline?.aborted || ctx.interrupt.aborted) throw error;
    throw stoppedWaiting(
      options.taskId,
      `Stopped waiting after ${formatDuration(ctx.timeoutMs ?? 0)} (--timeout)`,
      ExitCode.TimedOut,
    );
  }
}

/** The wait stopped, not the task: how to find it again. */
function stoppedWaiting(taskId: string, why: string, exitCode: ExitCode): CliError {
  return new CliError(`${why}; task ${taskId} keeps running on the master`, exitCode, {
    details: [
      `Follow it with: berth task log ${taskId} --follow`,
      `Cancel it with: berth task cancel ${taskId}`,
    ],
  });
}

/** "server.verify on server web1" */
export function describeTask(task: Task): string {
  const target = task.targetName ?? task.targetId;
  return target ? `${task.type} on ${task.targetKind ?? 'target'} ${target}` : task.type;
}

/** The outcome line on stdout; for a failure, the error and the failed steps on stderr. */
export function printOutcome(ctx: CliContext, task: Task): void {
  const duration = taskDuration(task, ctx.now());
  switch (task.state) {
    case 'succeeded':
      ctx.out(`Task ${task.id} succeeded in ${duration} (${describeTask(task)})`);
      printResult(ctx, task.result);
      return;
    case 'failed':
    case 'cancelled':
      ctx.out(`Task ${task.id} ${task.state} after ${duration} (${describeTask(task)})`);
      for (const line of describeFailure(task)) ctx.err(line);
      return;
    case 'queued':
    case 'running':
      ctx.out(`Task ${task.id} is ${task.state} (${describeTask(task)})`);
      return;
  }
}

/** The task's error, whether its rollback completed, and what each failed step reported. */
export function describeFailure(task: Task): string[] {
  const lines: string[] = [];
  if (task.error) {
    lines.push(`Error: ${sanitize(task.error)}${task.errorCode ? ` [${sanitize(task.errorCode)}]` : ''}`);
  } else if (task.state === 'cancelled') {
    lines.push('The task was cancelled.');
  }
  if (task.state === 'failed' && task.rollbackCompleted !== null) {
    lines.push(
      task.rollbackCompleted
        ? 'Rollback completed: everything the task changed was put back.'
        : 'Rollback did NOT complete: check the task log (berth task log ' + task.id + ') before retrying.',
    );
  }
  for (const step of task.steps ?? []) {
    if (step.state !== 'failed' || !step.failure) continue;
    const where = step.serverName ? ` on ${step.serverName}` : '';
    if (typeof step.failure === 'string') {
      lines.push(`Step ${step.seq} ${step.name}${where} failed: ${sanitize(step.failure)}`);
      continue;
    }
    const { code, message, exitCode, stderrTail } = step.failure;
    const codeText = code ? ` [${code}]` : '';
    const exitText = exitCode !== undefined && exitCode !== null ? ` (exit code ${exitCode})` : '';
    lines.push(
      `Step ${step.seq} ${step.name}${where} failed${exitText}: ${sanitize(message ?? '')}${codeText}`,
    );
    if (stderrTail) {
      for (const tailLine of stderrTail.trimEnd().split('\n')) lines.push(`    ${sanitize(tailLine)}`);
    }
  }
  return lines;
}

function printResult(ctx: CliContext, result: unknown): void {
  if (result === null || result === undefined) return;
  if (typeof result !== 'object' || Array.isArray(result)) {
    ctx.out(`Result: ${JSON.stringify(result)}`);
    return;
  }
  const fields = Object.entries(result as Record<string, unknown>).map(
    ([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)] as const,
  );
  if (fields.length > 0) ctx.out(renderFields(fields));
}

/**
 * Starts a task, follows it like finishTaskCommand, and when it succeeded (and the caller waited
 * for it, without --json) hands the final task to `afterSuccess` to print what a person needs.
 */
export async function runTaskCommand(
  ctx: CliContext,
  client: ApiClient,
  options: TaskStartOptions,
  start: (client: ApiClient) => Promise<Task>,
  afterSuccess?: (task: Task) => void,
): Promise<void> {
  // A mistyped --fields is said before the task starts, not after it has run for an hour.
  if (ctx.output.fields) checkFields(ctx.output.fields, TASK_FIELDS);
  const started = await start(client);
  ctx.exitCode = await finishTaskCommand(ctx, client, started, options);
  if (ctx.exitCode === 0 && options.wait && !options.json && afterSuccess) {
    afterSuccess(await client.getTask(started.id));
  }
}
