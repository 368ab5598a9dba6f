import type { Command } from 'commander';
import { TASK_STATES, TASK_TYPES, type TaskState, type TaskType } from '../../../shared/src/tasks.js';
import type { LogLine, PageQuery, Task, TaskListQuery } from '../api-types.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { LOG_PAGE_SIZE, exitCodeFor, formatLogLine } from '../follow.js';
import { formatDuration, formatRelative, sanitize, taskDuration } from '../output/format.js';
import { indent, renderFields, renderTable } from '../output/table.js';
import { durationMs } from '../parsers.js';
import { addPageOptions, type ListNoun, listRows, type PageOptions } from '../paging.js';
import { declareListFields } from '../output/output-options.js';
import { listFields } from '../output/structured.js';
import { describeFailure, followWithin, runTaskCommand, TASK_LIST_KEYS, VERBOSE_HELP } from '../task-wait.js';

const TASKS: ListNoun = { one: 'task', many: 'tasks' };

/** A task in a list: without its steps (only GET /api/tasks/{id} has them). */
const TASK_FIELDS = listFields<Omit<Task, 'steps'>>(TASK_LIST_KEYS, [
  'id',
  'type',
  'targetName',
  'state',
  'createdAt',
  'startedAt',
  'finishedAt',
]);

const LOG_LINE_FIELDS = listFields<LogLine>({ id: true, at: true, stream: true, text: true, stepId: true }, [
  'at',
  'stream',
  'text',
]);

interface TaskListOptions extends PageOptions {
  state?: string;
  type?: string;
  target?: string;
  server?: string;
  since?: string;
  json?: boolean;
}

/** The filters of a task list, checked before any request: a known state and type, a time. */
function taskFilters(options: TaskListOptions, now: number): Omit<TaskListQuery, keyof PageQuery> {
  if (options.state !== undefined && !(TASK_STATES as readonly string[]).includes(options.state)) {
    throw usageError(`--state must be one of ${TASK_STATES.join(', ')}; got "${sanitize(options.state)}"`);
  }
  if (options.type !== undefined && !(TASK_TYPES as readonly string[]).includes(options.type)) {
    throw usageError(`--type "${sanitize(options.type)}" is not a task type`, [
      `The types are: ${TASK_TYPES.join(', ')}`,
    ]);
  }
  return {
    ...(options.state !== undefined ? { state: options.state as TaskState } : {}),
    ...(options.type !== undefined ? { type: options.type as TaskType } : {}),
    ...(options.target ? { target: options.target } : {}),
    ...(options.server ? { server: options.server } : {}),
    ...(options.since !== undefined ? { since: sinceTime(options.since, now) } : {}),
  };
}

/** --since as ISO 8601: a time as given (a date at least), or a while (90s, 30m, 2h) before now. */
function sinceTime(value: string, now: number): string {
  const text = value.trim();
  if (/^\d+[smh]$/.test(text)) {
    try {
      return new Date(now - durationMs(text)).toISOString();
    } catch {
      throw usageError(`--since "${text}": a while ago is at least 1s, and not before 1970`);
    }
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at)) {
    throw usageError(
      `--since "${sanitize(value)}" is neither a time nor a while ago: use ISO 8601 (2025-01-31T12:00:00Z) or 90s, 30m, 2h`,
    );
  }
  return new Date(at).toISOString();
}

export function registerTaskCommands(program: Command, ctx: CliContext): void {
  const task = program.command('task').description('Tasks: operations on servers, platforms and sites');

  const list = task
    .command('list')
    .description(
      'List tasks, newest first, a page at a time (--limit, default 100; --all for every page), filtered by ' +
        'state, type, target, server or age',
    );
  addPageOptions(list, TASKS)
    .option('--state <state>', `only tasks in this state (${TASK_STATES.join(', ')})`)
    .option('--type <type>', 'only tasks of this type, e.g. server.verify, site.migrate')
    .option(
      '--target <name>',
      "only tasks on this target: a site's domain, a platform's, server's or cluster's name, or an id",
    )
    .option('--server <name>', 'only tasks on this server (its name or id)')
    .option(
      '--since <time>',
      'only tasks created at or after this time: ISO 8601 (2025-01-31T12:00:00Z) or a while ago (90s, 30m, 2h)',
    )
    .option('--json', 'print the tasks as JSON')
    .action(async (options: TaskListOptions, command: Command) => {
      const filters = taskFilters(options, ctx.now());
      const client = await ctx.client(command);
      const tasks = await listRows(ctx, options, TASKS, filters, { none: 'No tasks.' }, (page) =>
        client.pageTasks({ ...page, ...filters }),
      );
      if (!tasks) return;
      const now = ctx.now();
      ctx.out(
        renderTable(
          [
            { header: 'ID' },
            { header: 'TYPE' },
            { header: 'TARGET' },
            { header: 'STATE' },
            { header: 'CREATED' },
            { header: 'DURATION', align: 'right' },
          ],
          tasks.map((item) => [
            item.id,
            item.type,
            item.targetName ?? item.targetId ?? '-',
            stateWithProgress(item),
            formatRelative(item.createdAt, now),
            taskDuration(item, now),
          ]),
        ),
      );
    });
  declareListFields(list, TASK_FIELDS);

  task
    .command('show')
    .description('Show one task: state, timing, error, phases and steps with their attempts')
    .argument('<id>', 'task id')
    .option('--json', 'print the task as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const item = await client.getTask(id);
      if (options.json) return ctx.printData(item);
      printTask(ctx, item);
    });

  const log = task
    .command('log')
    .description("Print a task's log; with --follow, keep printing until the task finishes")
    .argument('<id>', 'task id')
    .option(
      '-f, --follow',
      'wait for new lines until the task finishes; exit 0 if it succeeded, 1 if it failed or was cancelled',
    )
    .option(
      '--json',
      'print each log line as one JSON object per line (NDJSON); --format yaml: a YAML document per line',
    )
    .action(async (id: string, options: { follow?: boolean; json?: boolean }, command: Command) => {
      // A table aligns its columns over every row: it waits for the whole log, which --follow never has.
      const asTable = ctx.output.format === 'table';
      if (asTable && options.follow) {
        throw usageError('--follow prints lines as they come: --format json (NDJSON) or yaml, not table');
      }
      const client = await ctx.client(command);
      const collected: LogLine[] = [];
      const print = (lines: LogLine[], current: Task): void => {
        for (const line of lines) {
          if (asTable) collected.push(line);
          else if (options.json) ctx.printRecord(line);
          else ctx.out(formatLogLine(line, current));
        }
      };
      if (!options.follow) {
        const current = await client.getTask(id);
        let after: string | undefined;
        for (;;) {
          const page = await client.getTaskLog(id, { after, limit: LOG_PAGE_SIZE });
          print(page.lines, current);
          if (page.lines.length < LOG_PAGE_SIZE) break;
          after = page.next || page.lines[page.lines.length - 1]?.id;
        }
        if (asTable) ctx.printData(collected);
        return;
      }
      const final = await followWithin(ctx, { client, taskId: id, onLines: print });
      if (!options.json) {
        ctx.err(`Task ${final.id} ${final.state} after ${taskDuration(final, ctx.now())}`);
        for (const line of describeFailure(final)) ctx.err(line);
      }
      ctx.exitCode = exitCodeFor(final);
    });
  declareListFields(log, LOG_LINE_FIELDS);

  task
    .command('retry')
    .description(
      'Start a failed or cancelled task again: a new task with the same parameters, linked to the first (not for install, clone or rename)',
    )
    .argument('<id>', 'task id')
    .option('--no-wait', 'print the new task id and return at once instead of following it')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the new task as JSON (the final task unless --no-wait)')
    .action(async (id: string, options: { wait: boolean; json?: boolean }, command: Command) => {
      await runTaskCommand(ctx, await ctx.client(command), options, (client) => client.retryTask(id));
    });

  task
    .command('cancel')
    .description('Ask the master to cancel a task; its rollback runs, as for a failure')
    .argument('<id>', 'task id')
    .option('--json', 'print the task as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const item = await client.cancelTask(id);
      if (options.json) return ctx.printData(item);
      if (item.state === 'queued' || item.state === 'running') {
        ctx.out(`Cancellation of task ${item.id} requested (it is ${item.state}).`);
        ctx.out(`Watch it stop with: berth task log ${item.id} --follow`);
      } else {
        ctx.out(`Task ${item.id} is ${item.state}.`);
      }
    });
}

function stateWithProgress(task: Task): string {
  const progress = task.progress;
  if (task.state !== 'running' || !progress?.total) return task.state;
  return `running ${Math.floor((Math.min(progress.done, progress.total) / progress.total) * 100)}%`;
}

function printTask(ctx: CliContext, task: Task): void {
  const now = ctx.now();
  const when = (iso: string | null): string => (iso ? `${iso} (${formatRelative(iso, now)})` : '-');
  const fields: [string, string][] = [
    ['ID', task.id],
    ['Type', task.type],
    [
      'Target',
      task.targetName || task.targetId
        ? `${task.targetKind ?? ''} ${task.targetName ?? task.targetId}`.trim()
        : '-',
    ],
    ['State', stateWithProgress(task)],
    ['Created', when(task.createdAt)],
    ['Started', when(task.startedAt)],
    ['Finished', when(task.finishedAt)],
    ['Duration', taskDuration(task, now)],
  ];
  if (task.cancelRequestedAt) fields.push(['Cancel requested', when(task.cancelRequestedAt)]);
  if (task.progress && (task.state === 'running' || task.state === 'queued')) {
    const { stepName, phase, done, total, unit } = task.progress;
    const where = [stepName, phase].filter(Boolean).join(' / ');
    fields.push([
      'Progress',
      `${where ? `${where}: ` : ''}${done}${total !== null ? ` of ${total}` : ''}${unit ? ` ${unit}` : ''}`,
    ]);
  }
  if (task.params !== null && task.params !== undefined) fields.push(['Params', JSON.stringify(task.params)]);
  if (task.result !== null && task.result !== undefined) fields.push(['Result', JSON.stringify(task.result)]);
  ctx.out(renderFields(fields));

  const failure = describeFailure(task);
  if (task.state !== 'succeeded' && failure.length > 0) {
    ctx.out();
    for (const line of failure) ctx.out(line);
  }

  if (task.phases.length > 0) {
    ctx.out();
    ctx.out('Phases:');
    ctx.out(
      indent(
        renderTable(
          [{ header: 'PHASE' }, { header: 'STARTED' }, { header: 'DURATION', align: 'right' }],
          task.phases.map((phase) => [
            phase.name,
            phase.startedAt ?? '-',
            phase.startedAt ? span(phase.startedAt, phase.endedAt, now) : '-',
          ]),
        ),
      ),
    );
  }

  const steps = task.steps ?? [];
  if (steps.length > 0) {
    ctx.out();
    ctx.out('Steps:');
    ctx.out(
      indent(
        renderTable(
          [
            { header: 'SEQ', align: 'right' },
            { header: 'STEP' },
            { header: 'SERVER' },
            { header: 'STATE' },
            { header: 'ATTEMPTS', align: 'right' },
            { header: 'DURATION', align: 'right' },
            { header: 'LAST ATTEMPT' },
          ],
          steps.map((step) => {
            const last = step.attempts[step.attempts.length - 1];
            const started = step.attempts.find((attempt) => attempt.startedAt)?.startedAt ?? null;
            return [
              String(step.seq),
              step.name,
              step.serverName ?? step.serverId ?? '-',
              step.state,
              String(step.attempts.length),
              started ? span(started, step.finishedAt, now) : '-',
              last
                ? `#${last.attemptNo} ${last.state}${last.error ? `: ${errorText(last.error)}` : ''}`
                : '-',
            ];
          }),
        ),
      ),
    );
  }
}

function span(from: string, to: string | null, now: number): string {
  const start = Date.parse(from);
  const end = to ? Date.parse(to) : now;
  return Number.isNaN(start) || Number.isNaN(end) ? '-' : formatDuration(Math.max(0, end - start));
}

function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  ) {
    return (error as { message: string }).message;
  }
  return JSON.stringify(error);
}
