import { DataSource, In } from 'typeorm';
import { mapWithConcurrency } from '../../../shared/src/concurrency.js';
import { TASK_KINDS, type TaskParams, type TaskState, type TaskType } from '../../../shared/src/tasks.js';
import { exactTimestamp, splitPage, type CreatedKey } from '../infra/db/keyset.js';
import { isUniqueViolation, sqlOne, sqlRows, type SqlExecutor } from '../infra/db/sql.js';
import { TaskEntity, type TaskPhase } from './task.entity.js';
import type { TaskOutcome } from './engine/workflow-store.js';
import { fencedTransaction, type TaskFence } from './task-fence.js';

/** A task as a feature queues it, its params typed by its type's definition (its target kind too). */
export interface NewTask<T extends TaskType = TaskType> {
  type: T;
  targetId: string;
  targetName: string;
  /** "site:<id>" or "platform:<id>": one running task per key. */
  lockKey: string | null;
  params: TaskParams<T>;
  clientId?: string | null;
  createdBy?: string | null;
  /** The task that queues this one. */
  parentTaskId?: string | null;
  /** A domain the task will give a site: no other active task and no new site can take it. */
  claimedDomain?: string | null;
  /** TASK_PRIORITY: a person's (the default) or a schedule's. */
  priority?: number;
}

/** Lower first: what people asked for before what schedules started (queue order, then slots). */
export const TASK_PRIORITY = { person: 0, scheduled: 10 } as const;

/** A page of the task list (newest first: created_at, then id, both descending), and its filters. */
export interface TaskListQuery {
  state?: TaskState;
  type?: TaskType;
  /** On this target (any id: a site, platform, server, cluster). */
  targetId?: string;
  /** On a target of this name, as the task recorded it (a site's domain, a server's name ...). */
  targetName?: string;
  /** Only this client's tasks. */
  clientId?: string;
  /** Created at or after it. */
  since?: Date;
  /** The last task of the previous page: this page starts after it. */
  after?: CreatedKey;
  limit: number;
}

/** How long a start holds a task when the caller does not say (tests; the engine passes its lease). */
const DEFAULT_HOLD_MS = 10_000;

/** Queued tasks started at once (the registry pool has 10 connections). */
const START_CONCURRENCY = 6;

/**
 * The tasks themselves: queued, started, finished. A running task per site or platform is one
 * (the partial unique index on lock_key), so it holds with several masters and across restarts.
 */
export class TasksRepository {
  constructor(private readonly db: DataSource) {}

  /** Inserts a queued task; `executor` puts it in the caller's transaction (a schedule's firing). */
  async insertTask<T extends TaskType>(
    input: NewTask<T>,
    executor: SqlExecutor = this.db,
  ): Promise<TaskEntity> {
    const repository = (executor instanceof DataSource ? executor.manager : executor).getRepository(
      TaskEntity,
    );
    return repository.save(
      repository.create({
        type: input.type,
        state: 'queued',
        targetKind: TASK_KINDS[input.type].target,
        targetId: input.targetId,
        targetName: input.targetName,
        lockKey: input.lockKey,
        params: input.params,
        clientId: input.clientId ?? null,
        createdBy: input.createdBy ?? null,
        parentTaskId: input.parentTaskId ?? null,
        claimedDomain: input.claimedDomain ?? null,
        priority: input.priority ?? TASK_PRIORITY.person,
        retryOf: null,
        workflowVersion: null,
        phases: [],
      }),
    );
  }

  findTask(id: string): Promise<TaskEntity | null> {
    return this.db.getRepository(TaskEntity).findOneBy({ id });
  }

  /**
   * One page of tasks newest first, filtered, in one query. Keyset paging on (created_at, id), both
   * descending: a task created between two pages comes before the first and moves no row across a
   * page boundary, and tasks created in the same microsecond are told apart by id. `next` is the key
   * of the page's last task when a next page exists, its time read as text (exactTimestamp).
   */
  async listTasks(query: TaskListQuery): Promise<{ tasks: TaskEntity[]; next: CreatedKey | null }> {
    const builder = this.db
      .getRepository(TaskEntity)
      .createQueryBuilder('t')
      .addSelect(exactTimestamp('t.created_at'), 'cursor_at');
    if (query.state !== undefined) builder.andWhere('t.state = :state', { state: query.state });
    if (query.type !== undefined) builder.andWhere('t.type = :type', { type: query.type });
    if (query.targetId !== undefined)
      builder.andWhere('t.target_id = :targetId', { targetId: query.targetId });
    if (query.targetName !== undefined)
      builder.andWhere('t.target_name = :targetName', { targetName: query.targetName });
    if (query.clientId !== undefined)
      builder.andWhere('t.client_id = :clientId', { clientId: query.clientId });
    if (query.since !== undefined)
      builder.andWhere('t.created_at >= CAST(:since AS timestamptz)', { since: query.since.toISOString() });
    if (query.after !== undefined) {
      builder.andWhere('(t.created_at, t.id) < (CAST(:afterAt AS timestamptz), CAST(:afterId AS uuid))', {
        afterAt: query.after.at,
        afterId: query.after.id,
      });
    }
    const { entities, raw } = await builder
      .orderBy('t.created_at', 'DESC')
      .addOrderBy('t.id', 'DESC')
      .limit(query.limit + 1)
      .getRawAndEntities<{ cursor_at: string }>();
    const { rows: tasks, more } = splitPage(entities, query.limit);
    const last = tasks.at(-1);
    // Without joins, the raw rows and the entities are the same rows in the same order.
    return { tasks, next: more && last ? { at: raw[tasks.length - 1]!.cursor_at, id: last.id } : null };
  }

  /** The task a parent queued for a target (a platform upgrade's migrate of one site), if any. */
  async findChildTask(parentTaskId: string, targetId: string): Promise<TaskEntity | null> {
    return this.db
      .getRepository(TaskEntity)
      .findOne({ where: { parentTaskId, targetId }, order: { createdAt: 'ASC' } });
  }

  /** Links a task to the one it starts again. */
  async setRetryOf(id: string, retryOf: string): Promise<void> {
    await sqlRows(this.db, `UPDATE tasks SET retry_of = $2 WHERE id = $1 RETURNING id`, [id, retryOf]);
  }

  /** The latest tasks of a type for a target, newest first. */
  recentOfTarget(targetId: string, type: TaskType, limit: number): Promise<TaskEntity[]> {
    return this.db.getRepository(TaskEntity).find({
      where: { targetId, type },
      order: { createdAt: 'DESC', id: 'ASC' },
      take: limit,
    });
  }

  /**
   * The latest task of a type of each of these targets (those that have one), in one query: DISTINCT
   * ON keeps each target's first row in the same order as recentOfTarget's.
   */
  latestOfTargets(targetIds: readonly string[], type: TaskType): Promise<TaskEntity[]> {
    if (targetIds.length === 0) return Promise.resolve([]);
    return this.db
      .getRepository(TaskEntity)
      .createQueryBuilder('t')
      .distinctOn(['t.target_id'])
      .where('t.target_id IN (:...targetIds)', { targetIds: [...targetIds] })
      .andWhere('t.type = :type', { type })
      .orderBy('t.target_id', 'ASC')
      .addOrderBy('t.created_at', 'DESC')
      .addOrderBy('t.id', 'ASC')
      .getMany();
  }

  /** Whether a task of this type is queued or running for this target. */
  async hasOpenTask(targetId: string, type: string): Promise<boolean> {
    const row = await sqlOne<{ open: number }>(
      this.db,
      `SELECT 1 AS open FROM tasks
        WHERE target_id = $1 AND type = $2 AND state IN ('queued', 'running') LIMIT 1`,
      [targetId, type],
    );
    return row !== undefined;
  }

  /** Whether a queued or running task will give this domain to a site (a rename's new name). */
  async isDomainClaimed(domain: string): Promise<boolean> {
    const row = await sqlOne<{ claimed: number }>(
      this.db,
      `SELECT 1 AS claimed FROM tasks
        WHERE claimed_domain = $1 AND state IN ('queued', 'running') LIMIT 1`,
      [domain],
    );
    return row !== undefined;
  }

  /**
   * Moves queued tasks to running, people's before schedules', oldest first, skipping those whose site or platform already has a
   * running task (the partial unique index on lock_key refuses a second one even under a race). Each
   * task is given the workflow version its type starts with on this master, and is held by it
   * (a new owner epoch) for `holdMs` unless renewed.
   */
  async startQueuedTasks(
    runnerId: string,
    limit: number,
    versions: ReadonlyMap<TaskType, number>,
    holdMs: number = DEFAULT_HOLD_MS,
  ): Promise<TaskEntity[]> {
    const candidates = await sqlRows<{ id: string; type: TaskType; lockKey: string | null }>(
      this.db,
      `SELECT t.id, t.type, t.lock_key AS "lockKey" FROM tasks t
        WHERE t.state = 'queued' AND t.cancel_requested_at IS NULL
          AND (t.lock_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM tasks r WHERE r.state = 'running' AND r.lock_key = t.lock_key))
        ORDER BY t.priority, t.created_at, t.id
        LIMIT $1`,
      [limit],
    );
    // Only the oldest task of a lock key can start now (the others would meet the unique index), so
    // the rest are started side by side: one after the other, a burst of tasks waited on each.
    const lockKeys = new Set<string>();
    const startable = candidates.filter(({ type, lockKey }) => {
      if (!versions.has(type)) return false;
      if (lockKey === null) return true;
      if (lockKeys.has(lockKey)) return false;
      lockKeys.add(lockKey);
      return true;
    });
    const started = await mapWithConcurrency(startable, START_CONCURRENCY, async ({ id, type }) => {
      try {
        const row = await sqlOne<{ id: string }>(
          this.db,
          `UPDATE tasks SET state = 'running', started_at = now(), runner_id = $2,
                  workflow_version = COALESCE(workflow_version, $3),
                  owner_epoch = owner_epoch + 1, owner_expires_at = now() + ($4 || ' milliseconds')::interval
            WHERE id = $1 AND state = 'queued' RETURNING id`,
          [id, runnerId, versions.get(type), String(holdMs)],
        );
        return row ? await this.findTask(id) : null;
      } catch (error) {
        if (!isUniqueViolation(error, 'uq_tasks_running_lock')) throw error;
        return null;
      }
    });
    return started.filter((task): task is TaskEntity => task !== null);
  }

  /**
   * Takes running tasks no master holds any more (its hold lapsed: it stopped, was killed or cut
   * off), and, with `own`, those recorded under this master's name (a restart takes its tasks back at
   * once): each gets a new owner epoch, which fences the writes of the master that had it. Tasks
   * another master is writing for at this instant are skipped, and taken on a next sweep.
   */
  async adoptTasks(
    runnerId: string,
    holdMs: number,
    options: { own: boolean; limit: number },
  ): Promise<TaskEntity[]> {
    const adopted = await sqlRows<{ id: string }>(
      this.db,
      `UPDATE tasks t SET runner_id = $1, owner_epoch = t.owner_epoch + 1,
              owner_expires_at = now() + ($2 || ' milliseconds')::interval
        WHERE t.id IN (SELECT id FROM tasks
                        WHERE state = 'running'
                          AND (owner_expires_at IS NULL OR owner_expires_at < now() OR ($3 AND runner_id = $1))
                        ORDER BY started_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
        RETURNING t.id`,
      [runnerId, String(holdMs), options.own, options.limit],
    );
    if (adopted.length === 0) return [];
    return this.db.getRepository(TaskEntity).find({
      where: { id: In(adopted.map((row) => row.id)) },
      order: { startedAt: 'ASC' },
    });
  }

  /**
   * Renews this master's hold on the tasks it runs, each under the epoch it holds it by. Returns
   * those still held (with whether a cancel was asked for meanwhile, perhaps on another master); a
   * task missing from the answer was adopted elsewhere.
   */
  async renewHolds(
    held: readonly TaskFence[],
    holdMs: number,
  ): Promise<Array<{ taskId: string; cancelRequested: boolean }>> {
    if (held.length === 0) return [];
    return sqlRows(
      this.db,
      `UPDATE tasks t SET owner_expires_at = now() + ($3 || ' milliseconds')::interval
         FROM unnest($1::uuid[], $2::bigint[]) AS h(id, epoch)
        WHERE t.id = h.id AND t.owner_epoch = h.epoch AND t.state = 'running'
        RETURNING t.id AS "taskId", (t.cancel_requested_at IS NOT NULL) AS "cancelRequested"`,
      [held.map((fence) => fence.taskId), held.map((fence) => fence.epoch), String(holdMs)],
    );
  }

  /** Gives up holds at once (a master stopping): another master adopts the tasks on its next sweep. */
  async releaseHolds(held: readonly TaskFence[]): Promise<void> {
    if (held.length === 0) return;
    await sqlRows(
      this.db,
      `UPDATE tasks t SET owner_expires_at = now() - interval '1 millisecond'
         FROM unnest($1::uuid[], $2::bigint[]) AS h(id, epoch)
        WHERE t.id = h.id AND t.owner_epoch = h.epoch AND t.state = 'running'
        RETURNING t.id`,
      [held.map((fence) => fence.taskId), held.map((fence) => fence.epoch)],
    );
  }

  /** Ends a task and frees any slot it still holds, in one transaction; fenced, for its owner only. */
  async finishTask(
    id: string,
    state: Extract<TaskState, 'succeeded' | 'failed' | 'cancelled'>,
    outcome: TaskOutcome,
    fence?: TaskFence,
  ): Promise<void> {
    await fencedTransaction(this.db, fence, async (manager) => {
      await sqlRows(
        manager,
        `UPDATE tasks SET state = $2, finished_at = now(), result = $3, error = $4, error_code = $5,
                rollback_completed = $6
          WHERE id = $1 AND state IN ('queued','running') RETURNING id`,
        [
          id,
          state,
          outcome.result === undefined || outcome.result === null ? null : JSON.stringify(outcome.result),
          outcome.error ?? null,
          outcome.errorCode ?? null,
          outcome.rollbackCompleted ?? null,
        ],
      );
      await sqlRows(
        manager,
        `UPDATE server_slots SET task_id = NULL WHERE task_id = $1 RETURNING server_id`,
        [id],
      );
    });
  }

  /** Marks a task for cancellation; a queued one is cancelled at once. Returns the state it is in now. */
  async requestCancel(id: string): Promise<TaskState | undefined> {
    const row = await sqlOne<{ state: TaskState }>(
      this.db,
      `UPDATE tasks SET cancel_requested_at = COALESCE(cancel_requested_at, now()),
              state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
              finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END,
              error = CASE WHEN state = 'queued' THEN 'cancelled before it started' ELSE error END
        WHERE id = $1 RETURNING state`,
      [id],
    );
    return row?.state;
  }

  async setPhases(id: string, phases: TaskPhase[], fence?: TaskFence): Promise<void> {
    await fencedTransaction(this.db, fence, async (manager) => {
      await sqlRows(manager, `UPDATE tasks SET phases = $2 WHERE id = $1 RETURNING id`, [
        id,
        JSON.stringify(phases),
      ]);
    });
  }
}
