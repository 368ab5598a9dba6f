import {
  DEBUG_TASK_TYPES,
  isServerTaskType,
  SERVER_TASK_TYPES,
  type ServerTaskType,
  type TaskParams,
} from '../../../shared/src/tasks.js';
import type { Principal } from '../auth/auth.service.js';
import type { ArchiveStore } from '../backups/archive-store.js';
import type { MasterConfig } from '../infra/config/master-config.js';
import type { TaskQueue } from '../tasks/task-queue.js';
import type { ServerTaskCreator, TaskView } from '../tasks/tasks.service.js';
import type { ServerEntity } from './server.entity.js';
import { TasksError, TasksErrorCode } from '../tasks/tasks.errors.js';
import { ServersError } from './servers.errors.js';
import type { ServersRepository } from './servers.repository.js';

const MAX_TRANSFER_BYTES = 10 * 1024 * 1024 * 1024;
const DEFAULT_TRANSFER_BYTES = 16 * 1024 * 1024;
const MAX_SLEEP_MS = 24 * 3600_000;

/** The tasks that run on a server itself: verify, the transfer check, and the debug tasks. */
export class ServerTasksService implements ServerTaskCreator {
  constructor(
    private readonly servers: Pick<ServersRepository, 'findByNameOrId'>,
    private readonly queue: TaskQueue,
    private readonly archives: Pick<ArchiveStore, 'reserve'>,
    private readonly config: Pick<MasterConfig, 'debugTasks'>,
  ) {}

  async create(
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
    const raw = input.params ?? {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new TasksError(TasksErrorCode.InvalidInput, 'params must be an object');
    }
    return this.queue.queue({
      type,
      targetId: server.id,
      targetName: server.name,
      lockKey: null,
      params: await this.params(type, server, raw as Record<string, unknown>),
      createdBy: principal.name,
      clientId: principal.clientId,
    });
  }

  private async params(
    type: ServerTaskType,
    server: ServerEntity,
    raw: Record<string, unknown>,
  ): Promise<TaskParams<ServerTaskType>> {
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
}
