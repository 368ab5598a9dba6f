import {
  DEBUG_TASK_TYPES,
  FINISHED_TASK_STATES,
  isServerTaskType,
  isTaskType,
  SERVER_TASK_TYPES,
  type ServerTaskType,
  TASK_STATES,
} from '../../../shared/src/tasks.js';
import { isUuid } from '../../../shared/src/validation.js';
import type * as api from '../../../shared/src/api.js';
import type { Principal } from '../auth/auth.service.js';
import type { MasterConfig } from '../infra/config/master-config.js';
import type { ServerEntity } from '../servers/server.entity.js';
import type { ServersRepository } from '../servers/servers.repository.js';
import { ServersError } from '../servers/servers.errors.js';
import type { TaskEngine } from './task-engine.js';
import type { TaskLogBus } from './task-log-bus.js';
import type { TaskEntity } from './task.entity.js';
import { TasksError, TasksErrorCode } from './tasks.errors.js';
import type { TasksRepository } from './tasks.repository.js';
import { sqlRows } from '../infra/db/sql.js';
import type { DataSource } from 'typeorm';

/** Reserves a slot in the backup store for an upload (the archive store implements it). */
export interface ArchiveReservations {
  reserve(serverId: string, purpose: string): Promise<string>;
}

/** The REST shapes of a task and of its steps (shared/src/api.ts): what the controller sends. */
export type TaskView = api.Task;
export type StepView = api.TaskStep;

export interface TaskListFilter {
  state?: string;
  type?: string;
  server?: string;
  limit?: string;
}

const MAX_TRANSFER_BYTES = 10 * 1024 * 1024 * 1024;
const DEFAULT_TRANSFER_BYTES = 16 * 1024 * 1024;
const MAX_SLEEP_MS = 24 * 3600_000;

/** The task API: create, list, show, log, cancel. Tasks of a client token are only its own. */
export class TasksService {
  constructor(
    private readonly db: DataSource,
    private readonly tasks: TasksRepository,
    private readonly servers: ServersRepository,
    private readonly engine: TaskEngine,
    private readonly bus: TaskLogBus,
    private readonly archives: ArchiveReservations,
    private readonly config: Pick<MasterConfig, 'debugTasks'>,
  ) {}

  /** Queues a server task (verify, transfer check, debug). Other task types come with their features. */
  async createServerTask(
    principal: Principal,
    input: { type: unknown; server: unknown; params?: unknown },
  ): Promise<TaskView> {
    if (typeof input.type !== 'string' || !isServerTaskType(input.type)) {
      throw new TasksError(
        TasksErrorCode.InvalidInput,
        `"${String(input.type)}" is not a server task type; use one of ${SERVER_TASK_TYPES.join(', ')}`,
      );
    }
    const type = input.type;
    if (DEBUG_TASK_TYPES.includes(type) && !this.config.debugTasks) {
      throw new TasksError(
        TasksErrorCode.TypeDisabled,
        `${type} is a debug task; start the master with BERTH_DEBUG_TASKS=1 to allow it`,
      );
    }
    if (typeof input.server !== 'string' || input.server === '') {
      throw new TasksError(TasksErrorCode.InvalidInput, `${type} needs "server": a server name`);
    }
    const server = await this.servers.findByNameOrId(input.server);
    if (!server) throw ServersError.notFound(input.server);
    const raw = (input.params ?? {}) as Record<string, unknown>;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new TasksError(TasksErrorCode.InvalidInput, 'params must be an object');
    }
    const params = await this.serverTaskParams(type, server, raw);
    const task = await this.tasks.insertTask({
      type,
      targetKind: 'server',
      targetId: server.id,
      targetName: server.name,
      lockKey: null,
      params,
      createdBy: principal.name,
      clientId: principal.clientId,
    });
    this.engine.wake();
    return this.view(task);
  }

  private async serverTaskParams(
    type: ServerTaskType,
    server: ServerEntity,
    raw: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    switch (type) {
      case 'server.verify':
      case 'debug.noop':
        return {};
      case 'debug.sleep': {
        const ms = raw.ms;
        if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_SLEEP_MS) {
          throw new TasksError(TasksErrorCode.InvalidInput, `debug.sleep needs "ms": 0 to ${MAX_SLEEP_MS}`);
        }
        return { ms };
      }
      case 'server.transfer-check': {
        const bytes = raw.bytes ?? DEFAULT_TRANSFER_BYTES;
        if (
          typeof bytes !== 'number' ||
          !Number.isInteger(bytes) ||
          bytes < 1 ||
          bytes > MAX_TRANSFER_BYTES
        ) {
          throw new TasksError(
            TasksErrorCode.InvalidInput,
            `server.transfer-check needs "bytes": 1 to ${MAX_TRANSFER_BYTES} (10 GiB)`,
          );
        }
        // Reserved now, so that a replayed workflow uses the same archive.
        const archiveId = await this.archives.reserve(server.id, 'transfer-check');
        return { bytes, archiveId };
      }
    }
  }

  async list(principal: Principal, filter: TaskListFilter): Promise<TaskView[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.state !== undefined) {
      if (!(TASK_STATES as readonly string[]).includes(filter.state)) {
        throw new TasksError(TasksErrorCode.InvalidInput, `state must be one of ${TASK_STATES.join(', ')}`);
      }
      params.push(filter.state);
      conditions.push(`state = $${params.length}`);
    }
    if (filter.type !== undefined) {
      if (!isTaskType(filter.type))
        throw new TasksError(TasksErrorCode.InvalidInput, `unknown task type "${filter.type}"`);
      params.push(filter.type);
      conditions.push(`type = $${params.length}`);
    }
    if (filter.server !== undefined) {
      const server = await this.servers.findByNameOrId(filter.server);
      if (!server) throw ServersError.notFound(filter.server);
      params.push(server.id);
      conditions.push(`target_id = $${params.length}`);
    }
    if (principal.role !== 'admin') {
      params.push(principal.clientId);
      conditions.push(`client_id = $${params.length}`);
    }
    const limit = filter.limit === undefined ? 50 : Number(filter.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new TasksError(TasksErrorCode.InvalidInput, 'limit must be a whole number from 1 to 1000');
    }
    params.push(limit);
    const rows = await sqlRows<{ id: string }>(
      this.db,
      `SELECT id FROM tasks ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id LIMIT $${params.length}`,
      params,
    );
    const tasks = await Promise.all(rows.map((row) => this.tasks.findTask(row.id)));
    return tasks.filter((task): task is TaskEntity => task !== null).map((task) => this.view(task));
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
    const [steps, attempts, servers] = await Promise.all([
      this.tasks.stepsOfTask(task.id),
      this.tasks.attemptsOfTask(task.id),
      this.servers.list(),
    ]);
    const serverNames = new Map(servers.map((server) => [server.id, server.name]));
    return {
      ...this.view(task),
      steps: steps.map((step) => ({
        id: step.id,
        seq: step.seq,
        name: step.name,
        serverId: step.serverId,
        serverName: serverNames.get(step.serverId) ?? step.serverId,
        state: step.state,
        output: step.output,
        failure: step.failure,
        createdAt: step.createdAt.toISOString(),
        finishedAt: step.finishedAt?.toISOString() ?? null,
        attempts: attempts
          .filter((attempt) => attempt.stepId === step.id)
          .map((attempt) => ({
            id: attempt.id,
            attemptNo: attempt.attemptNo,
            epoch: String(attempt.epoch),
            state: attempt.state,
            assignedAt: attempt.assignedAt?.toISOString() ?? null,
            startedAt: attempt.startedAt?.toISOString() ?? null,
            finishedAt: attempt.finishedAt?.toISOString() ?? null,
            error: attempt.error,
          })),
      })),
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
    const lines = (await this.tasks.logs(task.id, cursor, max)).map((line) => ({
      id: line.id,
      at: new Date(line.at).toISOString(),
      stream: line.stream,
      text: line.text,
      stepId: line.stepId,
    }));
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

  view(task: TaskEntity): TaskView {
    return {
      id: task.id,
      type: task.type,
      state: task.state,
      targetKind: task.targetKind,
      targetId: task.targetId,
      targetName: task.targetName,
      params: task.params,
      result: task.result,
      error: task.error,
      errorCode: task.errorCode,
      rollbackCompleted: task.rollbackCompleted,
      phases: task.phases,
      createdAt: task.createdAt.toISOString(),
      startedAt: task.startedAt?.toISOString() ?? null,
      finishedAt: task.finishedAt?.toISOString() ?? null,
      cancelRequestedAt: task.cancelRequestedAt?.toISOString() ?? null,
      progress: task.state === 'running' ? this.bus.latestProgress(task.id) : null,
    };
  }
}
