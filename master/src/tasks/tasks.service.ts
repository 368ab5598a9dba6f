import type * as api from '../../../shared/src/api.js';
import { FINISHED_TASK_STATES, isTaskType, TASK_STATES, type TaskType } from '../../../shared/src/tasks.js';
import { isUuid } from '../../../shared/src/validation.js';
import type { Principal } from '../auth/auth.service.js';
import { byCreated, ListCursor, pageLimit, queryChoice, queryText } from '../infra/http/paging.js';
import type { AttemptsRepository } from './attempts.repository.js';
import type { TaskEngine } from './engine/task-engine.js';
import type { StepLogRepository } from './step-log.repository.js';
import type { TaskLogBus } from './task-log-bus.js';
import type { TaskLogsRepository } from './task-logs.repository.js';
import type { TaskEntity } from './task.entity.js';
import { stepView, taskView } from './task-view.js';
import { TasksError, TasksErrorCode } from './tasks.errors.js';
import type { TaskListQuery, TasksRepository } from './tasks.repository.js';

/** The REST shapes of a task and of its steps (shared/src/api.ts): what the controller sends. */
export type TaskView = api.Task;
export type StepView = api.TaskStep;

/** The query of a task list as it comes over HTTP (strings, checked in TasksService.list). */
export type TaskListInput = { [K in keyof api.TaskListQuery]?: string };

/** Tasks per page unless asked otherwise. */
const DEFAULT_PAGE = 50;
/** The task list's cursors: the creation time (to the microsecond) and id of a page's last task. */
const TASK_CURSOR = new ListCursor('tasks', byCreated);
const invalidInput = (message: string) => new TasksError(TasksErrorCode.InvalidInput, message);
/** `since`: a date, or a date and time (ISO 8601); a time without a zone is read as UTC's. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** What the task API needs to know of servers (the servers feature provides it). */
export interface ServerDirectory {
  /** The id of a server by name or id; throws the servers' 404 when there is none. */
  serverId(nameOrId: string): Promise<string>;
  names(): Promise<Map<string, string>>;
}

/**
 * Creates the tasks that `POST /api/tasks` takes: server tasks (verify, transfer check, debug),
 * checked and queued by the servers feature.
 */
export abstract class ServerTaskCreator {
  abstract create(
    principal: Principal,
    input: { type: unknown; server: unknown; params?: unknown },
  ): Promise<TaskView>;
}

/**
 * Starts a finished task's work again through the feature that owns its type, with that feature's
 * checks and fresh reservations (master.ts composes it from the features); undefined when the type
 * cannot be started again that way.
 */
export abstract class TaskRetrier {
  abstract retry(principal: Principal, task: TaskEntity): Promise<TaskView | undefined>;
}

/** The task API: list, show, log, cancel, retry. Tasks of a client token are only its own. */
export class TasksService {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly stepLog: StepLogRepository,
    private readonly attempts: AttemptsRepository,
    private readonly logs: TaskLogsRepository,
    private readonly servers: ServerDirectory,
    private readonly engine: Pick<TaskEngine, 'cancelTask'>,
    private readonly bus: TaskLogBus,
    private readonly retrier: TaskRetrier = { retry: () => Promise.resolve(undefined) },
  ) {}

  /**
   * A page of tasks, newest first (`GET /api/tasks?limit=&cursor=&state=&type=&target=&server=&since=`).
   * A client's token lists only its own. Bad input is a 400 naming it.
   */
  async list(principal: Principal, input: TaskListInput): Promise<api.Page<TaskView>> {
    const query: TaskListQuery = {
      limit: pageLimit(input.limit, DEFAULT_PAGE, invalidInput),
      after: TASK_CURSOR.decode(input.cursor, invalidInput),
      state: queryChoice('state', input.state, TASK_STATES, invalidInput),
      type: taskType(input.type),
      since: since(input.since),
    };
    const target = queryText('target', input.target, invalidInput);
    // Any id is the target's id (sites, platforms, servers, clusters share no ids); a name is the one
    // the task recorded, so a site's tasks from before a rename are under the name it had then.
    if (target !== undefined) query[isUuid(target) ? 'targetId' : 'targetName'] = target;
    const server = queryText('server', input.server, invalidInput);
    if (server !== undefined) {
      const serverId = await this.servers.serverId(server);
      // Both given: the tasks of that server, if it is also the target named.
      if (query.targetId !== undefined && query.targetId !== serverId) return { items: [], next: null };
      query.targetId = serverId;
    }
    if (principal.role !== 'admin') {
      if (!principal.clientId) return { items: [], next: null };
      query.clientId = principal.clientId;
    }
    const { tasks, next } = await this.tasks.listTasks(query);
    return { items: tasks.map((task) => this.view(task)), next: next ? TASK_CURSOR.encode(next) : null };
  }

  async get(principal: Principal, id: string): Promise<TaskEntity> {
    const task = isUuid(id) ? await this.tasks.findTask(id) : null;
    if (!task || (principal.role !== 'admin' && task.clientId !== principal.clientId)) {
      throw new TasksError(TasksErrorCode.NotFound, `no task with id "${id}"`);
    }
    return task;
  }

  async show(principal: Principal, id: string): Promise<TaskView & { steps: StepView[] }> {
    const task = await this.get(principal, id);
    const [steps, attempts, serverNames] = await Promise.all([
      this.stepLog.stepsOfTask(task.id),
      this.attempts.attemptsOfTask(task.id),
      this.servers.names(),
    ]);
    return {
      ...this.view(task),
      steps: steps.map((step) =>
        stepView(
          step,
          attempts.filter((attempt) => attempt.stepId === step.id),
          serverNames.get(step.serverId) ?? step.serverId,
        ),
      ),
    };
  }

  async log(
    principal: Principal,
    id: string,
    after: string | undefined,
    limit: string | undefined,
  ): Promise<api.LogPage> {
    const task = await this.get(principal, id);
    const cursor = after ?? '0';
    if (!/^\d{1,18}$/.test(cursor))
      throw new TasksError(TasksErrorCode.InvalidInput, 'after must be a log line id');
    const max = limit === undefined ? 500 : Number(limit);
    if (!Number.isInteger(max) || max < 1 || max > 5000) {
      throw new TasksError(TasksErrorCode.InvalidInput, 'limit must be a whole number from 1 to 5000');
    }
    const lines = await this.logs.page(task.id, cursor, max);
    return { lines, next: lines.at(-1)?.id ?? cursor, taskState: task.state };
  }

  async cancel(principal: Principal, id: string): Promise<TaskView> {
    const task = await this.get(principal, id);
    if (FINISHED_TASK_STATES.includes(task.state)) {
      throw new TasksError(TasksErrorCode.AlreadyFinished, `task ${id} already ${task.state}`);
    }
    await this.engine.cancelTask(task.id);
    return this.view((await this.tasks.findTask(task.id)) ?? task);
  }

  /** A failed or cancelled task started again as a new task with the same parameters, linked to it. */
  async retry(principal: Principal, id: string): Promise<TaskView> {
    const task = await this.get(principal, id);
    if (task.state !== 'failed' && task.state !== 'cancelled') {
      throw new TasksError(
        TasksErrorCode.NotRetryable,
        `task ${id} is ${task.state}: only a failed or cancelled task can be retried`,
      );
    }
    const again = await this.retrier.retry(principal, task);
    if (!again) {
      throw new TasksError(
        TasksErrorCode.NotRetryable,
        `a ${task.type} task cannot be retried: it made what it works on (a new site's row), so start it again ` +
          'with its own command',
      );
    }
    await this.tasks.setRetryOf(again.id, task.id);
    return { ...again, retryOf: task.id };
  }

  view(task: TaskEntity): TaskView {
    return taskView(task, this.bus.latestProgress(task.id));
  }
}

/** `since` as a Date: undefined when not given; not a date is a 400 naming it. */
function since(input: unknown): Date | undefined {
  const text = queryText('since', input, invalidInput, 40);
  if (text === undefined) return undefined;
  // A time without a zone would be read in the master's zone: it is UTC's, as the API writes times.
  const zoned = /T[^Z+-]*$/.test(text) ? `${text}Z` : text;
  const date = ISO_DATE.test(text) ? new Date(zoned) : undefined;
  // Date rolls a day past the month's end over (02-31 is March 3rd): such a day is no date here.
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  if (!date || Number.isNaN(date.getTime()) || new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day)
    throw invalidInput(`since must be a date or a date and time in ISO 8601 (e.g. 2026-05-01T12:00:00Z)`);
  return date;
}

/** `type`: one of the task types. */
function taskType(input: unknown): TaskType | undefined {
  const text = queryText('type', input, invalidInput, 64);
  if (text === undefined) return undefined;
  if (!isTaskType(text))
    throw invalidInput(`type "${text}" is not a task type (e.g. site.migrate, server.verify)`);
  return text;
}
