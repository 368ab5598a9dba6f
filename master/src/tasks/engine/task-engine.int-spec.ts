import { pino } from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../../test/support/test-database.js';
import { TASK_TYPES } from '../../../../shared/src/tasks.js';
import { openDatabase } from '../../infra/db/data-source.js';
import { sqlRows } from '../../infra/db/sql.js';
import { ServersRepository } from '../../servers/servers.repository.js';
import { AttemptsRepository } from '../attempts.repository.js';
import { StepLogRepository } from '../step-log.repository.js';
import { TaskLogBus } from '../task-log-bus.js';
import { TaskLogsRepository } from '../task-logs.repository.js';
import { NO_TASK_METRICS, type AttemptOutcome, type TaskMetrics } from '../task-metrics.js';
import { TasksRepository } from '../tasks.repository.js';
import type { TaskEntity } from '../task.entity.js';
import { registerWorkflow, type WorkflowRegistration } from '../workflow.js';
import { ScriptedAgents, ScriptedSession, refOf, sleep, waitFor } from '../testing/scripted-agents.js';
import { TaskEngine } from './task-engine.js';
import { WorkflowRegistry } from './workflow-registry.js';

/** The engine against a real registry (PostgreSQL and PGlite), with scripted agents. */

type Registration = (type: TaskEntity['type']) => WorkflowRegistration;
const oneStep: Registration = (type) =>
  registerWorkflow(type, 1, (context) => context.step(context.task.targetId, 'debug.noop', {}) as never);
const twoSteps: Registration = (type) =>
  registerWorkflow(type, 1, async (context) => {
    const first = await context.step(context.task.targetId, 'debug.noop', {});
    const second = await context.step(context.task.targetId, 'debug.sleep', { ms: 1 });
    return { first, second } as never;
  });
/** One step for every task type (debug.sleep: two), unless overridden. */
const workflows = (
  overrides: Partial<Record<TaskEntity['type'], Registration>> = {},
  more: WorkflowRegistration[] = [],
): WorkflowRegistry =>
  new WorkflowRegistry([
    ...TASK_TYPES.map((type) => (overrides[type] ?? (type === 'debug.sleep' ? twoSteps : oneStep))(type)),
    ...more,
  ]);

/** debug.sleep as two releases have it: version 2 asks for the same steps the other way round. */
const sleepVersion = (version: 1 | 2) =>
  registerWorkflow('debug.sleep', version, async (context) => {
    const server = context.task.targetId;
    const steps =
      version === 1
        ? [await context.step(server, 'debug.noop', {}), await context.step(server, 'debug.sleep', { ms: 1 })]
        : [
            await context.step(server, 'debug.sleep', { ms: 1 }),
            await context.step(server, 'debug.noop', {}),
          ];
    return { version, steps } as never;
  });

describe.each(TEST_DATABASE_KINDS)('task engine on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let tasks: TasksRepository;
  let stepLog: StepLogRepository;
  let attempts: AttemptsRepository;
  let logs: TaskLogsRepository;
  let servers: ServersRepository;
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    tasks = new TasksRepository(db);
    stepLog = new StepLogRepository(db);
    attempts = new AttemptsRepository(db);
    logs = new TaskLogsRepository(db);
    servers = new ServersRepository(db);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  function engineWith(
    link: ScriptedAgents,
    options: {
      leaseMs?: number;
      agentWaitMs?: number;
      registry?: WorkflowRegistry;
      metrics?: TaskMetrics;
    } = {},
  ) {
    return new TaskEngine({
      tasks,
      stepLog,
      attempts,
      logs,
      link,
      bus: new TaskLogBus(),
      workflows: options.registry ?? workflows(),
      config: { leaseMs: options.leaseMs ?? 5_000, agentWaitMs: options.agentWaitMs ?? 60_000 },
      logger,
      runnerId: `test-${Math.random()}`,
      metrics: options.metrics,
    });
  }

  /** Runs `run` with a started engine, and stops the engine whatever happens. */
  async function withEngine(
    link: ScriptedAgents,
    options: Parameters<typeof engineWith>[1],
    run: (engine: TaskEngine) => Promise<void>,
  ): Promise<void> {
    const engine = engineWith(link, options);
    await engine.start();
    try {
      await run(engine);
    } finally {
      await engine.stop();
    }
  }

  async function queue(type: TaskEntity['type'], serverId: string): Promise<TaskEntity> {
    return tasks.insertTask({
      type,
      targetId: serverId,
      targetName: 'x',
      lockKey: null,
      params: {},
    });
  }

  async function finished(taskId: string): Promise<TaskEntity> {
    return waitFor(`task ${taskId} to finish`, async () => {
      const task = await tasks.findTask(taskId);
      return task && ['succeeded', 'failed', 'cancelled'].includes(task.state) ? task : undefined;
    });
  }

  it('runs tasks on one server one step at a time, and another server at the same time', async () => {
    const busy = await servers.create({ name: `busy-${kind}`, slots: 1 });
    const other = await servers.create({ name: `other-${kind}`, slots: 1 });
    const link = new ScriptedAgents();
    await withEngine(link, {}, async (engine) => {
      await link.connect(busy.id, 'complete');
      await link.connect(other.id, 'complete');
      const queued = [
        ...(await Promise.all(Array.from({ length: 10 }, () => queue('debug.noop', busy.id)))),
        ...(await Promise.all(Array.from({ length: 4 }, () => queue('debug.noop', other.id)))),
      ];
      engine.wake();
      for (const task of queued) expect((await finished(task.id)).state).toBe('succeeded');

      const spans = await sqlRows<{ serverId: string; startedAt: Date; finishedAt: Date }>(
        db,
        `SELECT server_id AS "serverId", started_at AS "startedAt", finished_at AS "finishedAt"
           FROM step_attempts WHERE server_id = ANY($1::uuid[]) ORDER BY started_at`,
        [[busy.id, other.id]],
      );
      const onBusy = spans.filter((span) => span.serverId === busy.id);
      expect(onBusy).toHaveLength(10);
      for (let i = 1; i < onBusy.length; i++) {
        expect(onBusy[i]!.startedAt.getTime()).toBeGreaterThanOrEqual(onBusy[i - 1]!.finishedAt.getTime());
      }
      // The other server's steps ran while the busy one's queue was being worked through.
      const onOther = spans.filter((span) => span.serverId === other.id);
      const busyEnd = onBusy.at(-1)!.finishedAt.getTime();
      expect(onOther.some((span) => span.startedAt.getTime() < busyEnd)).toBe(true);
      const freeSlots = await sqlRows(db, `SELECT 1 FROM server_slots WHERE attempt_id IS NOT NULL`);
      expect(freeSlots).toHaveLength(0);
    });
  });

  it("assigns several servers' steps at once, one server's still one slot at a time", async () => {
    const many = await Promise.all(
      Array.from({ length: 6 }, (_, index) => servers.create({ name: `burst${index}-${kind}`, slots: 1 })),
    );
    const link = new ScriptedAgents();
    let running = 0;
    let most = 0;
    const assign = attempts.assignAttempt.bind(attempts);
    const spy = vi.spyOn(attempts, 'assignAttempt').mockImplementation(async (attempt, leaseMs) => {
      running++;
      most = Math.max(most, running);
      try {
        await sleep(30);
        return await assign(attempt, leaseMs);
      } finally {
        running--;
      }
    });
    try {
      await withEngine(link, {}, async (engine) => {
        for (const server of many) await link.connect(server.id, 'complete');
        const queued: TaskEntity[] = [];
        for (const server of many) queued.push(await queue('debug.noop', server.id));
        // Three more on the first server, which has one slot.
        for (let index = 0; index < 3; index++) queued.push(await queue('debug.noop', many[0]!.id));
        engine.wake();
        for (const task of queued) expect((await finished(task.id)).state).toBe('succeeded');
        // The one-slot server still ran its four steps one at a time.
        const spans = await sqlRows<{ startedAt: Date; finishedAt: Date }>(
          db,
          `SELECT started_at AS "startedAt", finished_at AS "finishedAt"
             FROM step_attempts WHERE server_id = $1 ORDER BY started_at`,
          [many[0]!.id],
        );
        expect(spans).toHaveLength(4);
        for (let index = 1; index < spans.length; index++) {
          expect(spans[index]!.startedAt.getTime()).toBeGreaterThanOrEqual(
            spans[index - 1]!.finishedAt.getTime(),
          );
        }
      });
    } finally {
      spy.mockRestore();
    }
    expect(most).toBeGreaterThan(1);
  });

  it('starts only the oldest queued task of a lock key in a pass, the others side by side', async () => {
    const server = await servers.create({ name: `locks-${kind}`, slots: 1 });
    const insert = (lockKey: string | null) =>
      tasks.insertTask({
        type: 'debug.noop',
        targetId: server.id,
        targetName: 'x',
        lockKey,
        params: {},
      });
    const site = `site:${kind}-${Date.now()}`;
    const first = await insert(site);
    await insert(site);
    const other = await insert(`${site}-other`);
    const free = await insert(null);
    const runner = `locks-${Math.random()}`;
    try {
      const started = await tasks.startQueuedTasks(runner, 50, workflows().currentVersions());
      const mine = started.filter((task) => task.targetId === server.id).map((task) => task.id);
      // Tasks inserted within the same clock tick have no order among themselves: compare as sets.
      expect([...mine].sort()).toEqual([first.id, other.id, free.id].sort());
      expect(await tasks.startQueuedTasks(runner, 50, workflows().currentVersions())).toEqual([]);
    } finally {
      // Not left for another test's engine to pick up, whatever happened.
      await sqlRows(
        db,
        `UPDATE tasks SET state = 'cancelled', finished_at = now()
          WHERE target_id = $1 AND state IN ('queued', 'running') RETURNING id`,
        [server.id],
      );
    }
  });

  it("renews many agents' leases in one statement per batch of heartbeats, each agent only its own attempts", async () => {
    const first = await servers.create({ name: `beat-a-${kind}`, slots: 1 });
    const second = await servers.create({ name: `beat-b-${kind}`, slots: 1 });
    const link = new ScriptedAgents();
    const renewals = vi.spyOn(attempts, 'renewLeases');
    try {
      await withEngine(link, {}, async (engine) => {
        const sessions = [await link.connect(first.id, 'silent'), await link.connect(second.id, 'silent')];
        for (const server of [first, second]) await queue('debug.noop', server.id);
        engine.wake();
        const [firstRef, secondRef] = await Promise.all(
          sessions.map(async (session) => refOf(await waitFor('an assignment', () => session.assigned()[0]))),
        );
        await link.events.stepAccepted(sessions[0]!, firstRef!);
        await link.events.stepAccepted(sessions[1]!, secondRef!);
        await sqlRows(
          db,
          `UPDATE step_attempts SET lease_expires_at = now() + interval '1 second'
            WHERE server_id = ANY($1::uuid[]) RETURNING id`,
          [[first.id, second.id]],
        );
        renewals.mockClear();

        // The first agent no longer lists its attempt; the second lists its own and the first's (a
        // confused agent). (An id that is no UUID never gets this far: see agent-frames.spec.ts.)
        await link.events.heartbeat(sessions[0]!, []);
        await link.events.heartbeat(sessions[1]!, [secondRef!, firstRef!]);
        const leases = () =>
          sqlRows<{ serverId: string; renewed: boolean }>(
            db,
            `SELECT server_id AS "serverId", lease_expires_at > now() + interval '3 seconds' AS renewed
               FROM step_attempts WHERE server_id = ANY($1::uuid[]) ORDER BY server_id = $2`,
            [[first.id, second.id], second.id],
          );
        await waitFor('the second lease to be renewed', async () => (await leases())[1]?.renewed);
        expect((await leases()).map((lease) => [lease.serverId, lease.renewed])).toEqual([
          [first.id, false],
          [second.id, true],
        ]);
        expect(renewals).toHaveBeenCalledTimes(1);
        expect(renewals.mock.calls[0]![0].map((heartbeat) => heartbeat.serverId).sort()).toEqual(
          [first.id, second.id].sort(),
        );
      });
    } finally {
      renewals.mockRestore();
    }
  });

  it('declares an attempt lost when its agent goes silent past the lease, fails the task and frees the slot', async () => {
    const server = await servers.create({ name: `silent-${kind}`, slots: 1 });
    const link = new ScriptedAgents();
    await withEngine(link, { leaseMs: 400 }, async (engine) => {
      await link.connect(server.id, 'silent');
      const task = await queue('debug.noop', server.id);
      engine.wake();
      const done = await finished(task.id);
      expect(done.state).toBe('failed');
      expect(done.errorCode).toBe('AGENT_LOST');
      expect(done.error).toMatch(/stopped answering during step debug\.noop/);
      const tried = await attempts.attemptsOfTask(task.id);
      expect(tried.map((attempt) => attempt.state)).toEqual(['lost']);
      const held = await sqlRows(
        db,
        `SELECT 1 FROM server_slots WHERE server_id = $1 AND attempt_id IS NOT NULL`,
        [server.id],
      );
      expect(held).toHaveLength(0);
    });
  });

  it('drops a result whose epoch is stale', async () => {
    const server = await servers.create({ name: `stale-${kind}`, slots: 1 });
    const link = new ScriptedAgents();
    await withEngine(link, {}, async (engine) => {
      const session = await link.connect(server.id, 'silent');
      const task = await queue('debug.noop', server.id);
      engine.wake();
      const frame = await waitFor('an assignment', () => session.assigned()[0]);
      const ref = frame.assign!.ref!;
      const stale = {
        stepId: ref.stepId!,
        attemptId: ref.attemptId!,
        epoch: String(BigInt(ref.epoch!) + 1000n),
      };
      await link.events.stepResult(session, { ref: stale, outcome: { ok: true, output: {} } });
      expect((await tasks.findTask(task.id))?.state).toBe('running');
      await link.events.stepResult(session, {
        ref: { stepId: ref.stepId!, attemptId: ref.attemptId!, epoch: ref.epoch! },
        outcome: { ok: true, output: { ok: true } },
      });
      expect((await finished(task.id)).state).toBe('succeeded');
    });
  });

  it('replays a workflow after a master restart: done steps are not run again, the step in flight is kept', async () => {
    const server = await servers.create({ name: `restart-${kind}`, slots: 1 });
    const firstLink = new ScriptedAgents();
    const first = engineWith(firstLink);
    await first.start();
    const session = await firstLink.connect(server.id, 'silent');
    const task = await queue('debug.sleep', server.id);
    first.wake();
    // Step 1 completes; step 2 is assigned and then the master "dies".
    const ref1 = refOf(await waitFor('step 1', () => session.assigned()[0]));
    await firstLink.events.stepAccepted(session, ref1);
    await firstLink.events.stepResult(session, { ref: ref1, outcome: { ok: true, output: { n: 1 } } });
    const ref2 = refOf(await waitFor('step 2', () => session.assigned()[1]));
    await firstLink.events.stepAccepted(session, ref2);
    await first.stop();

    const secondLink = new ScriptedAgents();
    const second = engineWith(secondLink);
    await second.start();
    try {
      // The agent reconnects to the new master, still running step 2, then finishes it.
      const again = await secondLink.connect(server.id, 'silent', { running: [ref2] });
      await secondLink.events.stepResult(again, { ref: ref2, outcome: { ok: true, output: { n: 2 } } });
      const done = await finished(task.id);
      expect(done.state).toBe('succeeded');
      expect(done.result).toEqual({ first: { n: 1 }, second: { n: 2 } });
      const steps = await stepLog.stepsOfTask(task.id);
      expect(steps.map((step) => step.name)).toEqual(['debug.noop', 'debug.sleep']);
      expect(again.assigned()).toHaveLength(0);
    } finally {
      await second.stop();
    }
  });

  it('finishes a task started under workflow version 1 on a master whose newest version is 2', async () => {
    const server = await servers.create({ name: `versions-${kind}`, slots: 1 });
    const other = await servers.create({ name: `versions-new-${kind}`, slots: 1 });
    const releaseOne = workflows({ 'debug.sleep': () => sleepVersion(1) });
    const releaseTwo = workflows({ 'debug.sleep': () => sleepVersion(1) }, [sleepVersion(2)]);
    expect(releaseTwo.currentVersion('debug.sleep')).toBe(2);

    const firstLink = new ScriptedAgents();
    const first = engineWith(firstLink, { registry: releaseOne });
    await first.start();
    const session = await firstLink.connect(server.id, 'silent');
    const task = await queue('debug.sleep', server.id);
    first.wake();
    const ref1 = refOf(await waitFor('step 1', () => session.assigned()[0]));
    await firstLink.events.stepResult(session, { ref: ref1, outcome: { ok: true, output: { n: 1 } } });
    const ref2 = refOf(await waitFor('step 2', () => session.assigned()[1]));
    await firstLink.events.stepAccepted(session, ref2);
    await first.stop();
    expect((await tasks.findTask(task.id))?.workflowVersion).toBe(1);

    // The new release starts; the task in flight goes on with the version it started with.
    const secondLink = new ScriptedAgents();
    const second = engineWith(secondLink, { registry: releaseTwo });
    await second.start();
    try {
      const again = await secondLink.connect(server.id, 'silent', { running: [ref2] });
      await secondLink.events.stepResult(again, { ref: ref2, outcome: { ok: true, output: { n: 2 } } });
      const done = await finished(task.id);
      expect(done.state).toBe('succeeded');
      expect(done.workflowVersion).toBe(1);
      expect(done.result).toEqual({ version: 1, steps: [{ n: 1 }, { n: 2 }] });
      expect((await stepLog.stepsOfTask(task.id)).map((step) => step.name)).toEqual([
        'debug.noop',
        'debug.sleep',
      ]);

      // A task that starts now runs version 2.
      await secondLink.connect(other.id, 'complete');
      const fresh = await queue('debug.sleep', other.id);
      second.wake();
      const freshDone = await finished(fresh.id);
      expect(freshDone.workflowVersion).toBe(2);
      expect((await stepLog.stepsOfTask(fresh.id)).map((step) => step.name)).toEqual([
        'debug.sleep',
        'debug.noop',
      ]);
    } finally {
      await second.stop();
    }
  });

  it('fails a running task whose workflow version this master does not have, saying so', async () => {
    const server = await servers.create({ name: `unknown-version-${kind}`, slots: 1 });
    const task = await queue('debug.sleep', server.id);
    await sqlRows(
      db,
      `UPDATE tasks SET state = 'running', started_at = now(), workflow_version = 7 WHERE id = $1 RETURNING id`,
      [task.id],
    );
    await withEngine(new ScriptedAgents(), {}, async () => {
      const done = await finished(task.id);
      expect(done.state).toBe('failed');
      expect(done.errorCode).toBe('WORKFLOW_VERSION_UNKNOWN');
      expect(done.error).toMatch(/no version 7 of the debug\.sleep workflow .*\(it has 1\)/);
    });
  });

  it('fails the attempt of a restarted agent that no longer runs it', async () => {
    const server = await servers.create({ name: `amnesia-${kind}`, slots: 1 });
    const link = new ScriptedAgents();
    await withEngine(link, {}, async (engine) => {
      const session = await link.connect(server.id, 'silent');
      const task = await queue('debug.noop', server.id);
      engine.wake();
      await link.events.stepAccepted(
        session,
        refOf(await waitFor('assignment', () => session.assigned()[0])),
      );
      link.disconnect(server.id);
      await link.connect(server.id, 'silent', { running: [] });
      const done = await finished(task.id);
      expect(done.state).toBe('failed');
      expect(done.error).toMatch(/came back without step debug\.noop/);
    });
  });

  it('gives a retryable step lost to an agent restart a new attempt, and the task succeeds', async () => {
    const server = await servers.create({ name: `retry-${kind}`, slots: 1 });
    const link = new ScriptedAgents();
    const sleepOnly: Registration = (type) =>
      registerWorkflow(
        type,
        1,
        (context) => context.step(context.task.targetId, 'debug.sleep', { ms: 1 }) as never,
      );
    await withEngine(link, { registry: workflows({ 'debug.sleep': sleepOnly }) }, async (engine) => {
      const session = await link.connect(server.id, 'silent');
      const task = await queue('debug.sleep', server.id);
      engine.wake();
      await link.events.stepAccepted(
        session,
        refOf(await waitFor('assignment', () => session.assigned()[0])),
      );
      // The agent is restarted while the step runs, and comes back without it.
      link.disconnect(server.id);
      const started = Date.now();
      await link.connect(server.id, 'complete', { running: [] });
      const done = await finished(task.id);
      expect(done.state).toBe('succeeded');
      const tried = await attempts.attemptsOfTask(task.id);
      expect(tried.map((attempt) => [attempt.attemptNo, attempt.state])).toEqual([
        [1, 'lost'],
        [2, 'done'],
      ]);
      // Not sent again before its backoff.
      expect(tried[1]!.assignedAt!.getTime() - started).toBeGreaterThanOrEqual(900);
      const log = await logs.page(task.id, '0', 100);
      expect(log.map((line) => line.text).join('\n')).toMatch(/step debug\.sleep is tried again/);
    });
  });

  it('fails a retryable step once its attempts are used up, and never retries one that is not retryable', async () => {
    const server = await servers.create({ name: `retry-limit-${kind}`, slots: 1 });
    const link = new ScriptedAgents();
    const sleepOnly: Registration = (type) =>
      registerWorkflow(
        type,
        1,
        (context) => context.step(context.task.targetId, 'debug.sleep', { ms: 1 }) as never,
      );
    await withEngine(
      link,
      { leaseMs: 300, registry: workflows({ 'debug.sleep': sleepOnly }) },
      async (engine) => {
        // A silent agent: every attempt's lease runs out.
        await link.connect(server.id, 'silent');
        const retried = await queue('debug.sleep', server.id);
        const once = await queue('debug.noop', server.id);
        engine.wake();
        const [sleepDone, noopDone] = [await finished(retried.id), await finished(once.id)];
        expect(sleepDone.state).toBe('failed');
        expect(sleepDone.errorCode).toBe('AGENT_LOST');
        expect((await attempts.attemptsOfTask(retried.id)).map((attempt) => attempt.state)).toEqual([
          'lost',
          'lost',
          'lost',
        ]);
        expect(noopDone.state).toBe('failed');
        expect((await attempts.attemptsOfTask(once.id)).map((attempt) => attempt.state)).toEqual(['lost']);
      },
    );
  }, 30_000);

  it('keeps an attempt sent on a new connection before its hello was handled', async () => {
    // The gateway takes steps for a connection as soon as it registers it; the hello (which lists
    // what the agent runs) is handled after. A step sent in between is not one the agent forgot.
    const server = await servers.create({ name: `early-${kind}`, slots: 1 });
    const link = new ScriptedAgents();
    await withEngine(link, {}, async (engine) => {
      const session = new ScriptedSession(server.id, link, 'silent', () => ({}));
      link.sessions.set(server.id, session);
      const task = await queue('debug.noop', server.id);
      engine.wake();
      const ref = refOf(await waitFor('assignment', () => session.assigned()[0]));
      await link.events.agentConnected(session, {
        agentVersion: 'test',
        hostname: 'test',
        address: '127.0.0.1',
        timeZone: 'UTC',
        roles: ['http'],
        services: [],
        running: [],
        finished: [],
      });
      await link.events.stepAccepted(session, ref);
      await link.events.stepResult(session, { ref, outcome: { ok: true, output: {} } });
      expect((await finished(task.id)).state).toBe('succeeded');
    });
  });

  it('cancels a running step through its agent and a queued task at once', async () => {
    const server = await servers.create({ name: `cancel-${kind}`, slots: 1 });
    const link = new ScriptedAgents();
    await withEngine(link, {}, async (engine) => {
      const session = await link.connect(server.id, 'obey-cancel');
      const running = await queue('debug.noop', server.id);
      engine.wake();
      await waitFor('assignment', () => session.assigned()[0]);
      await waitFor(
        'running',
        async () => (await attempts.attemptsOfTask(running.id))[0]?.state === 'running',
      );
      await engine.cancelTask(running.id);
      const done = await finished(running.id);
      expect(done.state).toBe('cancelled');
      expect(session.frames.some((frame) => frame.cancel)).toBe(true);

      link.disconnect(server.id);
      const queued = await queue('debug.noop', server.id);
      await engine.cancelTask(queued.id);
      expect((await tasks.findTask(queued.id))?.state).toBe('cancelled');
    });
  });

  it('reports how long attempts ran on their agents (done, lost), not attempts never sent, and each finished task', async () => {
    const working = await servers.create({ name: `timed-${kind}`, slots: 1 });
    const silent = await servers.create({ name: `timed-silent-${kind}`, slots: 1 });
    const absent = await servers.create({ name: `timed-absent-${kind}`, slots: 1 });
    const settled: Array<{ step: string; outcome: AttemptOutcome; seconds: number }> = [];
    const finishedTasks: string[] = [];
    const metrics: TaskMetrics = {
      ...NO_TASK_METRICS,
      attemptSettled: (step, outcome, seconds) => settled.push({ step, outcome, seconds }),
      taskFinished: (type, state) => finishedTasks.push(`${type} ${state}`),
    };
    const link = new ScriptedAgents();
    await withEngine(link, { leaseMs: 400, agentWaitMs: 300, metrics }, async (engine) => {
      (await link.connect(working.id, 'complete')).stepMs = 150;
      await link.connect(silent.id, 'silent');
      const queued = await Promise.all([
        queue('debug.noop', working.id),
        queue('debug.noop', silent.id),
        queue('debug.noop', absent.id),
      ]);
      engine.wake();
      for (const task of queued) await finished(task.id);
    });
    const byOutcome = Object.fromEntries(settled.map((item) => [item.outcome, item]));
    expect(settled).toHaveLength(2);
    expect(byOutcome.done).toMatchObject({ step: 'debug.noop' });
    expect(byOutcome.done!.seconds).toBeGreaterThanOrEqual(0.14);
    expect(byOutcome.done!.seconds).toBeLessThan(5);
    expect(byOutcome.lost).toMatchObject({ step: 'debug.noop' });
    expect(byOutcome.lost!.seconds).toBeGreaterThanOrEqual(0.39);
    expect(finishedTasks.sort()).toEqual(['debug.noop failed', 'debug.noop failed', 'debug.noop succeeded']);
  });

  it('fails a step whose agent never connects within the wait', async () => {
    const server = await servers.create({ name: `absent-${kind}`, slots: 1 });
    await withEngine(new ScriptedAgents(), { agentWaitMs: 300 }, async (engine) => {
      const task = await queue('debug.noop', server.id);
      engine.wake();
      const done = await finished(task.id);
      expect(done.state).toBe('failed');
      expect(done.errorCode).toBe('AGENT_UNAVAILABLE');
    });
  });
});
