import type * as api from '../../../shared/src/api.js';
import { FINISHED_TASK_STATES, isTaskType, TASK_STATES, type TaskState } from '../../../shared/src/tasks.js';
import { isUuid } from '../../../shared/src/validation.js';
import type { Principal } from '../auth/auth.service.js';
import type { AttemptsRepository } from './attempts.repository.js';
import type { TaskEngine } from './engine/task-engine.js';
import type { StepLogRepository } from './step-log.repository.js';
import type { TaskLogBus } from './task-log-bus.js';
import type { TaskLogsRepository } from './task-logs.repository.js';
import type { TaskEntity } from './task.entity.js';
import { stepView, taskView } from './task-view.js';
import { TasksError, TasksErrorCode } from './tasks.errors.js';
import type { TasksRepository } from './tasks.repository.js';

/** The REST shapes of a task and of its steps (shared/src/api.ts): what the controller sends. */
export type TaskView = api.Task;
export type StepView = api.TaskStep;

export interface TaskListFilter {
  state?: string;
  type?: string;
  server?: string;
  limit?: string;
}

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

  async list(principal: Principal, filter: TaskListFilter): Promise<TaskView[]> {
    if (filter.state !== undefined && !(TASK_STATES as readonly string[]).includes(filter.state)) {
      throw new TasksError(TasksErrorCode.InvalidInput, `state must be one of ${TASK_STATES.join(', ')}`);
    }
    if (filter.type !== undefined && !isTaskType(filter.type)) {
      throw new TasksError(TasksErrorCode.InvalidInput, `unknown task type "${filter.type}"`);
    }
    const limit = filter.limit === undefined ? 50 : Number(filter.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new TasksError(TasksErrorCode.InvalidInput, 'limit must be a whole number from 1 to 1000');
    }
    const targetId = filter.server === undefined ? undefined : await this.servers.serverId(filter.server);
    if (principal.role !== 'admin' && !principal.clientId) return [];
    const tasks = await this.tasks.listTasks({
      state: filter.state as TaskState | undefined,
      type: filter.type,
      targetId,
      clientId: principal.role === 'admin' ? undefined : principal.clientId!,
      limit,
    });
    return tasks.map((task) => this.view(task));
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
