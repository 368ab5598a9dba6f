import type { DataSource, EntityManager } from 'typeorm';
import { StepErrorCode, type StepFailure } from '../../../shared/src/errors.js';
import { RETRYABLE_STEPS, STEP_ATTEMPTS_MAX } from '../../../shared/src/steps.js';
import type { StepOutcome } from '../agents/agent-events.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import { StepAttemptEntity } from './step-attempt.entity.js';
import { fencedTransaction, type TaskFence } from './task-fence.js';

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
  /** The step was given another attempt instead of failing (RETRYABLE_STEPS). */
  retried?: boolean;
}

/** An attempt settled without its agent's word, with the failure recorded for its step. */
export type SettledWithoutAgent = SettledAttempt & { serverName: string; failure: StepFailure };

/** Says why an attempt is settled without its agent, from what is known of it. */
export type FailureOf = (attempt: SettledAttempt & { serverName: string }) => StepFailure;

const ACTIVE = `('assigned','running')`;

/** What another attempt can fix: the agent lost the attempt (it restarted, or went silent). */
const RETRIED_FAILURES: ReadonlySet<string> = new Set([StepErrorCode.AgentLost]);
/** The first retry waits this long, each next one twice as long. */
export const STEP_RETRY_BACKOFF_MS = 1_000;

/**
 * Step attempts, their leases and the server slots they run in. Every state change that the
 * engine's guarantees rest on (a slot to one attempt, fencing by epoch, a window's slots all or
 * nothing) is a single SQL statement or one transaction here, so it holds with several masters and
 * across restarts.
 */
export class AttemptsRepository {
  constructor(private readonly db: DataSource) {}

  attemptsOfTask(taskId: string): Promise<StepAttemptEntity[]> {
    return this.db.getRepository(StepAttemptEntity).find({ where: { taskId }, order: { createdAt: 'ASC' } });
  }

  /**
   * Pending attempts on the given servers with what it takes to send them: those of people's tasks
   * first (a free slot goes to them before a scheduled backup's step), then oldest first.
   */
  pendingAttempts(serverIds: string[], limit: number): Promise<DispatchableAttempt[]> {
    if (serverIds.length === 0) return Promise.resolve([]);
    return sqlRows<DispatchableAttempt>(
      this.db,
      `SELECT a.id AS "attemptId", a.step_id AS "stepId", a.task_id AS "taskId", a.server_id AS "serverId",
              a.epoch::text AS epoch, s.name, s.params, s.timeout_ms AS "timeoutMs", a.created_at AS "createdAt"
         FROM step_attempts a JOIN task_steps s ON s.id = a.step_id JOIN tasks t ON t.id = a.task_id
        WHERE a.state = 'pending' AND a.server_id = ANY($1::uuid[])
          AND (a.not_before IS NULL OR a.not_before <= now())
        ORDER BY t.priority, a.created_at, a.id
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

  /**
   * Records an attempt's result, its step's outcome and frees its slot, in one transaction; only
   * for the live assignment (right server, right epoch, still active). Undefined when stale.
   */
  async completeAttempt(
    serverId: string,
    attemptId: string,
    epoch: string,
    outcome: StepOutcome,
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
      settled.retried = !(await this.settleStep(manager, settled.stepId, outcome));
      await sqlRows(
        manager,
        `UPDATE server_slots SET attempt_id = NULL WHERE attempt_id = $1 RETURNING slot_no`,
        [attemptId],
      );
      return settled;
    });
  }

  /**
   * Settles a step with its attempt's outcome; or, when the attempt was lost and the step may run
   * again (RETRYABLE_STEPS), gives the step its next attempt after a backoff
   * (1 s, then 2 s ...) up to STEP_ATTEMPTS_MAX, and leaves it unsettled. True when it settled.
   */
  private async settleStep(manager: EntityManager, stepId: string, outcome: StepOutcome): Promise<boolean> {
    if (!outcome.ok && RETRIED_FAILURES.has(outcome.failure.code)) {
      const retry = await sqlOne<{ id: string }>(
        manager,
        `INSERT INTO step_attempts (step_id, task_id, server_id, attempt_no, state, not_before)
         SELECT s.id, s.task_id, s.server_id, tried.n + 1, 'pending',
                now() + ($3 || ' milliseconds')::interval * power(2, tried.n - 1)
           FROM task_steps s
           JOIN tasks t ON t.id = s.task_id
           CROSS JOIN LATERAL (SELECT max(attempt_no) AS n FROM step_attempts WHERE step_id = s.id) tried
          WHERE s.id = $1 AND s.state IN ('pending', 'running') AND s.name = ANY($2::text[])
            AND tried.n < $4 AND t.state = 'running' AND t.cancel_requested_at IS NULL
          RETURNING id`,
        [stepId, RETRYABLE_STEPS, String(STEP_RETRY_BACKOFF_MS), STEP_ATTEMPTS_MAX],
      );
      if (retry) return false;
    }
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
    return true;
  }

  /** Attempts whose agent went silent past their lease: lost. */
  settleExpiredLeases(failure: FailureOf): Promise<SettledWithoutAgent[]> {
    return this.settleWithoutAgent(
      `a.state IN ${ACTIVE} AND a.lease_expires_at < now()`,
      [],
      'lost',
      failure,
    );
  }

  /** Pending attempts of servers whose agent is not connected and has not come within `waitMs`: failed. */
  failPendingWithoutAgent(
    connectedServerIds: readonly string[],
    waitMs: number,
    failure: FailureOf,
  ): Promise<SettledWithoutAgent[]> {
    return this.settleWithoutAgent(
      `a.state = 'pending' AND NOT (a.server_id = ANY($1::uuid[]))
         AND a.created_at < now() - ($2 || ' milliseconds')::interval`,
      [connectedServerIds, String(waitMs)],
      'failed',
      failure,
    );
  }

  /** A cancelled task's attempts that were never sent: failed. */
  cancelPendingAttemptsOf(taskId: string, failure: FailureOf): Promise<SettledWithoutAgent[]> {
    return this.settleWithoutAgent(`a.task_id = $1 AND a.state = 'pending'`, [taskId], 'failed', failure);
  }

  /** Active attempts a reconnecting agent no longer runs (it was restarted while they ran): lost. */
  settleForgottenAttempts(attemptIds: readonly string[], failure: FailureOf): Promise<SettledWithoutAgent[]> {
    if (attemptIds.length === 0) return Promise.resolve([]);
    return this.settleWithoutAgent(
      `a.id = ANY($1::uuid[]) AND a.state IN ${ACTIVE}`,
      [attemptIds],
      'lost',
      failure,
    );
  }

  /**
   * Settles attempts as lost or failed without an agent's word (lease expired, agent restarted
   * without them, agent never came, cancelled before it started): the attempt, its step, its slot.
   */
  private async settleWithoutAgent(
    where: string,
    params: unknown[],
    attemptState: 'lost' | 'failed',
    failure: FailureOf,
  ): Promise<SettledWithoutAgent[]> {
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
      const settled: SettledWithoutAgent[] = [];
      for (const row of rows) {
        const stepFailure = failure(row);
        await sqlRows(
          manager,
          `UPDATE step_attempts SET state = $2, finished_at = now(), lease_expires_at = NULL, error = $3
            WHERE id = $1 RETURNING id`,
          [row.attemptId, attemptState, stepFailure.message],
        );
        const retried = !(await this.settleStep(manager, row.stepId, { ok: false, failure: stepFailure }));
        await sqlRows(
          manager,
          `UPDATE server_slots SET attempt_id = NULL WHERE attempt_id = $1 RETURNING slot_no`,
          [row.attemptId],
        );
        settled.push({ ...row, failure: stepFailure, retried });
      }
      return settled;
    });
  }

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
  async holdSlots(taskId: string, serverIds: readonly string[], fence?: TaskFence): Promise<boolean> {
    const ordered = [...new Set(serverIds)].sort();
    return fencedTransaction(this.db, fence, async (manager) => {
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

  async releaseSlots(taskId: string, fence?: TaskFence): Promise<void> {
    await fencedTransaction(this.db, fence, async (manager) => {
      await sqlRows(manager, `UPDATE server_slots SET task_id = NULL WHERE task_id = $1 RETURNING slot_no`, [
        taskId,
      ]);
    });
  }
}
