import type { DataSource, EntityManager } from 'typeorm';
import { mapWithConcurrency } from '../../../shared/src/concurrency.js';
import type { StepFailure } from '../../../shared/src/errors.js';
import type { TaskState, TaskType } from '../../../shared/src/tasks.js';
import { isUniqueViolation, sqlOne, sqlRows } from '../infra/db/sql.js';
import { StepAttemptEntity } from './step-attempt.entity.js';
import { TaskLogEntity } from './task-log.entity.js';
import { TaskStepEntity } from './task-step.entity.js';
import { TaskEntity, type TaskPhase } from './task.entity.js';

/** An attempt with what the dispatcher needs to send it. */
export interface DispatchableAttempt {
  attemptId: string;
  stepId: string;
  taskId: string;
  serverId: string;
  epoch: string;
  name: string;
  params: Record<string, unknown>;
  timeoutMs: number;
  createdAt: Date;
}

/** An attempt the engine settled (finished, lost, failed): which step and task it belonged to. */
export interface SettledAttempt {
  attemptId: string;
  epoch: string;
  stepId: string;
  taskId: string;
  serverId: string;
  name: string;
  /** How long it ran, from its start on the agent (or its assignment) to now; null if never sent. */
  durationSeconds: number | null;
}

export interface NewTask {
  type: TaskType;
  targetKind: TaskEntity['targetKind'];
  targetId: string;
  targetName: string;
  lockKey: string | null;
  params: Record<string, unknown>;
  clientId?: string | null;
  createdBy?: string | null;
}

export interface LogLineInput {
  stepId: string | null;
  attemptId: string | null;
  seq: string | null;
  stream: string;
  text: string;
  at: Date;
}

const ACTIVE = `('assigned','running')`;
/** Queued tasks started at once (the registry pool has 10 connections). */
const START_CONCURRENCY = 6;

/**
 * The task engine's queries. Every state change that the engine's guarantees rest on (slots, one
 * running task per site, fencing by epoch) is a single SQL statement or one transaction here, so
 * it holds with several masters and across restarts.
 */
export class TasksRepository {
  constructor(private readonly db: DataSource) {}

  async insertTask(input: NewTask): Promise<TaskEntity> {
    const repository = this.db.getRepository(TaskEntity);
    return repository.save(
      repository.create({
        type: input.type,
        state: 'queued',
        targetKind: input.targetKind,
        targetId: input.targetId,
        targetName: input.targetName,
        lockKey: input.lockKey,
        params: input.params,
        clientId: input.clientId ?? null,
        createdBy: input.createdBy ?? null,
        phases: [],
      }),
    );
  }

  findTask(id: string): Promise<TaskEntity | null> {
    return this.db.getRepository(TaskEntity).findOneBy({ id });
  }

  /**
   * Moves queued tasks to running, oldest first, skipping those whose site or platform already has a
   * running task (the partial unique index on lock_key refuses a second one even under a race).
   */
  async startQueuedTasks(runnerId: string, limit: number): Promise<TaskEntity[]> {
    const candidates = await sqlRows<{ id: string; lockKey: string | null }>(
      this.db,
      `SELECT t.id, t.lock_key AS "lockKey" FROM tasks t
        WHERE t.state = 'queued' AND t.cancel_requested_at IS NULL
          AND (t.lock_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM tasks r WHERE r.state = 'running' AND r.lock_key = t.lock_key))
        ORDER BY t.created_at, t.id
        LIMIT $1`,
      [limit],
    );
    // Only the oldest task of a lock key can start now (the others would meet the unique index), so
    // the rest are started side by side: one after the other, a burst of tasks waited on each.
    const lockKeys = new Set<string>();
    const startable = candidates.filter(({ lockKey }) => {
      if (lockKey === null) return true;
      if (lockKeys.has(lockKey)) return false;
      lockKeys.add(lockKey);
      return true;
    });
    const started = await mapWithConcurrency(startable, START_CONCURRENCY, async ({ id }) => {
      try {
        const row = await sqlOne<{ id: string }>(
          this.db,
          `UPDATE tasks SET state = 'running', started_at = now(), runner_id = $2
            WHERE id = $1 AND state = 'queued' RETURNING id`,
          [id, runnerId],
        );
        return row ? await this.findTask(id) : null;
      } catch (error) {
        if (!isUniqueViolation(error, 'uq_tasks_running_lock')) throw error;
        return null;
      }
    });
    return started.filter((task): task is TaskEntity => task !== null);
  }

  runningTasks(): Promise<TaskEntity[]> {
    return this.db
      .getRepository(TaskEntity)
      .find({ where: { state: 'running' }, order: { startedAt: 'ASC' } });
  }

  /** Ends a task and frees any slot it still holds, in one transaction. */
  async finishTask(
    id: string,
    state: Extract<TaskState, 'succeeded' | 'failed' | 'cancelled'>,
    outcome: {
      result?: Record<string, unknown> | null;
      error?: string | null;
      errorCode?: string | null;
      rollbackCompleted?: boolean | null;
    },
  ): Promise<void> {
    await this.db.transaction(async (manager) => {
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

  async isCancelRequested(id: string): Promise<boolean> {
    const row = await sqlOne<{ requested: boolean }>(
      this.db,
      `SELECT cancel_requested_at IS NOT NULL AS requested FROM tasks WHERE id = $1`,
      [id],
    );
    return row?.requested ?? false;
  }

  async setPhases(id: string, phases: TaskPhase[]): Promise<void> {
    await sqlRows(this.db, `UPDATE tasks SET phases = $2 WHERE id = $1 RETURNING id`, [
      id,
      JSON.stringify(phases),
    ]);
  }

  findStep(taskId: string, seq: number): Promise<TaskStepEntity | null> {
    return this.db.getRepository(TaskStepEntity).findOneBy({ taskId, seq });
  }

  stepsOfTask(taskId: string): Promise<TaskStepEntity[]> {
    return this.db.getRepository(TaskStepEntity).find({ where: { taskId }, order: { seq: 'ASC' } });
  }

  attemptsOfTask(taskId: string): Promise<StepAttemptEntity[]> {
    return this.db.getRepository(StepAttemptEntity).find({ where: { taskId }, order: { createdAt: 'ASC' } });
  }

  /** Records a new step and its first attempt (pending), in one transaction. */
  async createStep(input: {
    taskId: string;
    seq: number;
    serverId: string;
    name: string;
    params: Record<string, unknown>;
    timeoutMs: number;
  }): Promise<TaskStepEntity> {
    return this.db.transaction(async (manager) => {
      const steps = manager.getRepository(TaskStepEntity);
      const step = await steps.save(
        steps.create({
          taskId: input.taskId,
          seq: input.seq,
          serverId: input.serverId,
          name: input.name,
          params: input.params,
          timeoutMs: input.timeoutMs,
          state: 'pending',
        }),
      );
      await this.insertAttempt(manager, step, 1);
      return step;
    });
  }

  private async insertAttempt(
    manager: EntityManager,
    step: TaskStepEntity,
    attemptNo: number,
  ): Promise<void> {
    await sqlRows(
      manager,
      `INSERT INTO step_attempts (step_id, task_id, server_id, attempt_no, state)
       VALUES ($1, $2, $3, $4, 'pending') RETURNING id`,
      [step.id, step.taskId, step.serverId, attemptNo],
    );
  }

  /** Pending attempts on the given servers, oldest first, with what it takes to send them. */
  pendingAttempts(serverIds: string[], limit: number): Promise<DispatchableAttempt[]> {
    if (serverIds.length === 0) return Promise.resolve([]);
    return sqlRows<DispatchableAttempt>(
      this.db,
      `SELECT a.id AS "attemptId", a.step_id AS "stepId", a.task_id AS "taskId", a.server_id AS "serverId",
              a.epoch::text AS epoch, s.name, s.params, s.timeout_ms AS "timeoutMs", a.created_at AS "createdAt"
         FROM step_attempts a JOIN task_steps s ON s.id = a.step_id
        WHERE a.state = 'pending' AND a.server_id = ANY($1::uuid[])
        ORDER BY a.created_at, a.id
        LIMIT $2`,
      [serverIds, limit],
    );
  }

  /**
   * Takes a free slot of the attempt's server (or the slot its task holds there for a window) and
   * marks the attempt assigned with a fresh lease. False when every slot is busy.
   */
  async assignAttempt(attempt: DispatchableAttempt, leaseMs: number): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const slot = await sqlOne<{ slot_no: number }>(
        manager,
        `UPDATE server_slots SET attempt_id = $1, taken_at = now()
          WHERE (server_id, slot_no) = (
                SELECT server_id, slot_no FROM server_slots
                 WHERE server_id = $2 AND attempt_id IS NULL AND (task_id IS NULL OR task_id = $3)
                 ORDER BY (task_id IS NULL), slot_no
                 LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING slot_no`,
        [attempt.attemptId, attempt.serverId, attempt.taskId],
      );
      if (!slot) return false;
      const updated = await sqlOne<{ id: string }>(
        manager,
        `UPDATE step_attempts SET state = 'assigned', assigned_at = now(),
                lease_expires_at = now() + ($2 || ' milliseconds')::interval
          WHERE id = $1 AND state = 'pending' RETURNING id`,
        [attempt.attemptId, String(leaseMs)],
      );
      if (!updated) {
        // Settled meanwhile (cancelled): give the slot back.
        await sqlRows(
          manager,
          `UPDATE server_slots SET attempt_id = NULL WHERE attempt_id = $1 RETURNING slot_no`,
          [attempt.attemptId],
        );
        return false;
      }
      await sqlRows(manager, `UPDATE task_steps SET state = 'running' WHERE id = $1 RETURNING id`, [
        attempt.stepId,
      ]);
      return true;
    });
  }

  /** Puts an assignment that could not be sent back to pending and frees its slot. */
  async unassignAttempt(attemptId: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      await sqlRows(
        manager,
        `UPDATE step_attempts SET state = 'pending', assigned_at = NULL, lease_expires_at = NULL
          WHERE id = $1 AND state = 'assigned' RETURNING id`,
        [attemptId],
      );
      await sqlRows(
        manager,
        `UPDATE server_slots SET attempt_id = NULL WHERE attempt_id = $1 RETURNING slot_no`,
        [attemptId],
      );
    });
  }

  /** The agent accepted the attempt: running, with a renewed lease. False for a stale epoch. */
  async markAttemptRunning(
    serverId: string,
    attemptId: string,
    epoch: string,
    leaseMs: number,
  ): Promise<boolean> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      `UPDATE step_attempts SET state = 'running', started_at = COALESCE(started_at, now()),
              lease_expires_at = now() + ($4 || ' milliseconds')::interval
        WHERE id = $1 AND server_id = $2 AND epoch = $3::bigint AND state IN ${ACTIVE} RETURNING id`,
      [attemptId, serverId, epoch, String(leaseMs)],
    );
    return row !== undefined;
  }

  /** Is this (attempt, epoch) the live assignment on this server? Stale messages are dropped. */
  async isCurrentAttempt(serverId: string, attemptId: string, epoch: string): Promise<boolean> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      `SELECT id FROM step_attempts WHERE id = $1 AND server_id = $2 AND epoch = $3::bigint AND state IN ${ACTIVE}`,
      [attemptId, serverId, epoch],
    );
    return row !== undefined;
  }

  /**
   * Records an attempt's result, its step's outcome and frees its slot, in one transaction; only
   * for the live assignment (right server, right epoch, still active). Undefined when stale.
   */
  async completeAttempt(
    serverId: string,
    attemptId: string,
    epoch: string,
    outcome: { ok: true; output: unknown } | { ok: false; failure: StepFailure },
  ): Promise<SettledAttempt | undefined> {
    return this.db.transaction(async (manager) => {
      const settled = await sqlOne<SettledAttempt>(
        manager,
        `UPDATE step_attempts a SET state = $4, finished_at = now(), lease_expires_at = NULL, error = $5
           FROM task_steps s
          WHERE a.id = $1 AND a.server_id = $2 AND a.epoch = $3::bigint AND a.state IN ${ACTIVE} AND s.id = a.step_id
          RETURNING a.id AS "attemptId", a.epoch::text AS epoch, a.step_id AS "stepId", a.task_id AS "taskId",
                    a.server_id AS "serverId", s.name,
                    EXTRACT(EPOCH FROM a.finished_at - COALESCE(a.started_at, a.assigned_at))::float8
                      AS "durationSeconds"`,
        [
          attemptId,
          serverId,
          epoch,
          outcome.ok ? 'done' : 'failed',
          outcome.ok ? null : outcome.failure.message,
        ],
      );
      if (!settled) return undefined;
      await this.settleStep(manager, settled.stepId, outcome);
      await sqlRows(
        manager,
        `UPDATE server_slots SET attempt_id = NULL WHERE attempt_id = $1 RETURNING slot_no`,
        [attemptId],
      );
      return settled;
    });
  }

  private async settleStep(
    manager: EntityManager,
    stepId: string,
    outcome: { ok: true; output: unknown } | { ok: false; failure: StepFailure },
  ): Promise<void> {
    await sqlRows(
      manager,
      `UPDATE task_steps SET state = $2, output = $3, failure = $4, finished_at = now()
        WHERE id = $1 AND state IN ('pending','running') RETURNING id`,
      [
        stepId,
        outcome.ok ? 'done' : 'failed',
        outcome.ok ? JSON.stringify(outcome.output ?? null) : null,
        outcome.ok ? null : JSON.stringify(outcome.failure),
      ],
    );
  }

  /**
   * Settles attempts as lost or failed without an agent's word (lease expired, agent restarted
   * without them, agent never came, cancelled before it started): the attempt, its step, its slot.
   */
  async settleWithoutAgent(
    where: string,
    params: unknown[],
    attemptState: 'lost' | 'failed',
    failure: (attempt: SettledAttempt & { serverName: string }) => StepFailure,
  ): Promise<Array<SettledAttempt & { serverName: string; failure: StepFailure }>> {
    return this.db.transaction(async (manager) => {
      const rows = await sqlRows<SettledAttempt & { serverName: string }>(
        manager,
        `SELECT a.id AS "attemptId", a.epoch::text AS epoch, a.step_id AS "stepId", a.task_id AS "taskId",
                a.server_id AS "serverId", sv.name AS "serverName", s.name,
                EXTRACT(EPOCH FROM now() - COALESCE(a.started_at, a.assigned_at))::float8 AS "durationSeconds"
           FROM step_attempts a JOIN task_steps s ON s.id = a.step_id JOIN servers sv ON sv.id = a.server_id
          WHERE ${where}
          FOR UPDATE OF a`,
        params,
      );
      const settled: Array<SettledAttempt & { serverName: string; failure: StepFailure }> = [];
      for (const row of rows) {
        const stepFailure = failure(row);
        await sqlRows(
          manager,
          `UPDATE step_attempts SET state = $2, finished_at = now(), lease_expires_at = NULL, error = $3
            WHERE id = $1 RETURNING id`,
          [row.attemptId, attemptState, stepFailure.message],
        );
        await this.settleStep(manager, row.stepId, { ok: false, failure: stepFailure });
        await sqlRows(
          manager,
          `UPDATE server_slots SET attempt_id = NULL WHERE attempt_id = $1 RETURNING slot_no`,
          [row.attemptId],
        );
        settled.push({ ...row, failure: stepFailure });
      }
      return settled;
    });
  }

  /** Renews the leases of the attempts an agent says it is running (and those just sent to it). */
  /**
   * Renews, for each server, the leases of its assigned attempts and of the running ones its agent
   * listed in a heartbeat: one statement for any number of servers. A server renews only its own.
   */
  async renewLeases(
    heartbeats: ReadonlyArray<{ serverId: string; running: readonly string[] }>,
    leaseMs: number,
  ): Promise<void> {
    if (heartbeats.length === 0) return;
    const running = heartbeats.flatMap((heartbeat) =>
      heartbeat.running.map((attemptId) => ({ serverId: heartbeat.serverId, attemptId })),
    );
    await sqlRows(
      this.db,
      `UPDATE step_attempts a SET lease_expires_at = now() + ($4 || ' milliseconds')::interval
        WHERE a.server_id = ANY($1::uuid[])
          AND (a.state = 'assigned'
               OR (a.state = 'running'
                   AND (a.server_id, a.id) IN (SELECT r.server_id, r.id
                                                 FROM unnest($2::uuid[], $3::uuid[]) AS r(server_id, id))))
        RETURNING a.id`,
      [
        heartbeats.map((heartbeat) => heartbeat.serverId),
        running.map((entry) => entry.serverId),
        running.map((entry) => entry.attemptId),
        String(leaseMs),
      ],
    );
  }

  /** At start: give agents one lease to reconnect before their in-flight attempts count as lost. */
  async extendActiveLeases(leaseMs: number): Promise<void> {
    await sqlRows(
      this.db,
      `UPDATE step_attempts SET lease_expires_at = now() + ($1 || ' milliseconds')::interval
        WHERE state IN ${ACTIVE} RETURNING id`,
      [String(leaseMs)],
    );
  }

  /** Attempts active on a server, for settling against what a reconnecting agent reports. */
  activeAttemptsOnServer(serverId: string): Promise<Array<{ attemptId: string; epoch: string }>> {
    return sqlRows(
      this.db,
      `SELECT id AS "attemptId", epoch::text AS epoch FROM step_attempts WHERE server_id = $1 AND state IN ${ACTIVE}`,
      [serverId],
    );
  }

  async appendLogs(taskId: string, lines: LogLineInput[]): Promise<TaskLogEntity[]> {
    if (lines.length === 0) return [];
    const values: unknown[] = [];
    const tuples = lines.map((line, index) => {
      const base = index * 7;
      values.push(taskId, line.stepId, line.attemptId, line.seq, line.stream, line.text, line.at);
      return `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}::bigint, $${base + 5}, $${base + 6}, $${base + 7})`;
    });
    // A line resent after a reconnect has the same (attempt, seq): it is dropped here.
    return sqlRows<TaskLogEntity>(
      this.db,
      `INSERT INTO task_logs (task_id, step_id, attempt_id, seq, stream, text, at)
       VALUES ${tuples.join(', ')}
       ON CONFLICT (attempt_id, seq) WHERE attempt_id IS NOT NULL DO NOTHING
       RETURNING id::text AS id, task_id AS "taskId", step_id AS "stepId", attempt_id AS "attemptId",
                 seq::text AS seq, stream, text, at`,
      values,
    );
  }

  logs(taskId: string, afterId: string, limit: number): Promise<TaskLogEntity[]> {
    return sqlRows<TaskLogEntity>(
      this.db,
      `SELECT id::text AS id, task_id AS "taskId", step_id AS "stepId", attempt_id AS "attemptId",
              seq::text AS seq, stream, text, at
         FROM task_logs WHERE task_id = $1 AND id > $2::bigint ORDER BY id LIMIT $3`,
      [taskId, afterId, limit],
    );
  }

  /** Which task and step an attempt belongs to, when (server, attempt, epoch) match; any state. */
  attemptOwner(
    serverId: string,
    attemptId: string,
    epoch: string,
  ): Promise<Array<{ taskId: string; stepId: string; name: string }>> {
    return sqlRows(
      this.db,
      `SELECT a.task_id AS "taskId", a.step_id AS "stepId", s.name
         FROM step_attempts a JOIN task_steps s ON s.id = a.step_id
        WHERE a.id = $1 AND a.server_id = $2 AND a.epoch = $3::bigint`,
      [attemptId, serverId, epoch],
    );
  }

  /**
   * Reserves one slot on each server for a task's window, in a fixed order (by server id) and all
   * or nothing, so that two windows can never hold each other up. The task's steps on those servers
   * then run in the reserved slots (see assignAttempt). False when a slot is not free yet.
   */
  async holdSlots(taskId: string, serverIds: string[]): Promise<boolean> {
    const ordered = [...new Set(serverIds)].sort();
    return this.db.transaction(async (manager) => {
      for (const serverId of ordered) {
        const held = await sqlOne<{ slot_no: number }>(
          manager,
          `SELECT slot_no FROM server_slots WHERE server_id = $1 AND task_id = $2`,
          [serverId, taskId],
        );
        if (held) continue;
        const taken = await sqlOne<{ slot_no: number }>(
          manager,
          `UPDATE server_slots SET task_id = $2, taken_at = now()
            WHERE (server_id, slot_no) = (
                  SELECT server_id, slot_no FROM server_slots
                   WHERE server_id = $1 AND attempt_id IS NULL AND task_id IS NULL
                   ORDER BY slot_no LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING slot_no`,
          [serverId, taskId],
        );
        if (!taken) {
          // Not all of them: give back what this call took, and try again later.
          await sqlRows(
            manager,
            `UPDATE server_slots SET task_id = NULL WHERE task_id = $1 RETURNING slot_no`,
            [taskId],
          );
          return false;
        }
      }
      return true;
    });
  }

  async releaseSlots(taskId: string): Promise<void> {
    await sqlRows(this.db, `UPDATE server_slots SET task_id = NULL WHERE task_id = $1 RETURNING slot_no`, [
      taskId,
    ]);
  }

  /** The migrate of a site that a platform upgrade queued after it started (found again on a replay). */
  async findMigrateSince(
    siteId: string,
    targetPlatformId: string,
    since: Date,
  ): Promise<TaskEntity | undefined> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      `SELECT id FROM tasks
        WHERE type = 'site.migrate' AND target_id = $1 AND params->>'targetPlatformId' = $2 AND created_at >= $3
        ORDER BY created_at LIMIT 1`,
      [siteId, targetPlatformId, since],
    );
    return row ? ((await this.findTask(row.id)) ?? undefined) : undefined;
  }
}
