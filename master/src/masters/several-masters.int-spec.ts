import { pino, type Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { TASK_TYPES } from '../../../shared/src/tasks.js';
import { openDatabase } from '../infra/db/data-source.js';
import { PostgresSignalChannel } from '../infra/db/signal-channel.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import { ServersRepository } from '../servers/servers.repository.js';
import { AttemptsRepository } from '../tasks/attempts.repository.js';
import { RegistryWorkflowStore } from '../tasks/engine/registry-workflow-store.js';
import { TaskEngine } from '../tasks/engine/task-engine.js';
import { WorkflowRegistry } from '../tasks/engine/workflow-registry.js';
import { StepLogRepository } from '../tasks/step-log.repository.js';
import { OwnershipLostError } from '../tasks/task-fence.js';
import { TaskLogBus, type TaskEvent } from '../tasks/task-log-bus.js';
import { TaskLogsRepository } from '../tasks/task-logs.repository.js';
import { TasksRepository } from '../tasks/tasks.repository.js';
import { ScriptedAgents, sleep, waitFor } from '../tasks/testing/scripted-agents.js';
import { registerWorkflow } from '../tasks/workflow.js';
import { MasterPresence } from './master-presence.js';
import { MastersRepository } from './masters.repository.js';

/**
 * Several masters on one PostgreSQL, each with its own connections, signal channel, presence and
 * agents (scripted), as separate processes would have them: who runs a task, who sends its steps,
 * adoption of a task whose master stopped renewing its hold, and the fence on its late writes.
 */

const HOLD_MS = 1_000;

/** Two agent steps on the task's server, one after the other. */
const registry = () =>
  new WorkflowRegistry(
    TASK_TYPES.map((type) =>
      registerWorkflow(type, 1, async (context) => {
        const first = await context.step(context.task.targetId, 'debug.noop', {});
        const second = await context.step(context.task.targetId, 'debug.sleep', { ms: 1 });
        return { first, second } as never;
      }),
    ),
  );

/** What a log line the test looks for carries. */
interface Captured {
  msg: string;
  [key: string]: unknown;
}

interface Master {
  id: string;
  db: DataSource;
  tasks: TasksRepository;
  link: ScriptedAgents;
  presence: MasterPresence;
  signals: PostgresSignalChannel;
  engine: TaskEngine;
  bus: TaskLogBus;
  lines: Captured[];
  stop(): Promise<void>;
}

describe('several masters on one PostgreSQL', () => {
  let database: TestDatabase;
  let servers: ServersRepository;
  let admin: DataSource;
  const running: Master[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    admin = await openDatabase({ url: database.url, dataDir: database.dataDir });
    servers = new ServersRepository(admin);
  });

  afterEach(async () => {
    for (const master of running.splice(0)) await master.stop();
  });

  afterAll(async () => {
    await admin?.destroy();
    await database?.drop();
  });

  function captureLogger(lines: Captured[]): Logger {
    return pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Captured) },
    );
  }

  async function startMaster(id: string): Promise<Master> {
    const db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    const lines: Captured[] = [];
    const logger = captureLogger(lines);
    const signals = await PostgresSignalChannel.open(database.url!, logger);
    const presence = new MasterPresence(
      new MastersRepository(db),
      { id, instance: signals.instance, leaseMs: HOLD_MS, home: `test-host:/data/${id}` },
      logger,
      () => undefined,
    );
    await presence.start();
    const tasks = new TasksRepository(db);
    const link = new ScriptedAgents();
    const bus = new TaskLogBus(signals);
    const engine = new TaskEngine({
      tasks,
      stepLog: new StepLogRepository(db),
      attempts: new AttemptsRepository(db),
      logs: new TaskLogsRepository(db),
      link,
      bus,
      workflows: registry(),
      config: { leaseMs: 5_000, agentWaitMs: 60_000 },
      logger,
      runnerId: id,
      holdMs: HOLD_MS,
      peers: {
        signals,
        alone: () => presence.alone(),
        leads: () => presence.leads(),
        connectedServerIds: () => presence.connectedServerIds(),
      },
    });
    await engine.start();
    const master: Master = {
      id,
      db,
      tasks,
      link,
      presence,
      signals,
      engine,
      bus,
      lines,
      stop: async () => {
        await engine.stop();
        await presence.stop();
        await signals.close();
        await db.destroy();
      },
    };
    running.push(master);
    return master;
  }

  /** The agent of a server says hello to this master (recorded where the gateway records it). */
  async function connectAgent(master: Master, serverId: string) {
    await master.presence.agentConnected(serverId);
    return master.link.connect(serverId, 'complete');
  }

  async function queue(serverId: string) {
    return new TasksRepository(admin).insertTask({
      type: 'debug.sleep',
      targetId: serverId,
      targetName: 'x',
      lockKey: null,
      params: { ms: 1 },
    });
  }

  const taskRow = (taskId: string) =>
    sqlOne<{ state: string; runnerId: string; epoch: string }>(
      admin,
      `SELECT state, runner_id AS "runnerId", owner_epoch::text AS epoch FROM tasks WHERE id = $1`,
      [taskId],
    );

  it("sends a task's step through the master its agent is connected to, and the owner's run gets the result", async () => {
    const server = await servers.create({ name: 'cross', slots: 1 });
    const owner = await startMaster('master-owner');
    const task = await queue(server.id);
    owner.engine.wake();
    await waitFor('the task to run on its owner, its first step waiting', async () => {
      const row = await taskRow(task.id);
      const step = await sqlOne(admin, `SELECT 1 FROM task_steps WHERE task_id = $1`, [task.id]);
      return row?.state === 'running' && row.runnerId === 'master-owner' && step;
    });
    // The agent comes up on the other master only.
    const other = await startMaster('master-other');
    const session = await connectAgent(other, server.id);
    await waitFor('the task to succeed', async () => (await taskRow(task.id))?.state === 'succeeded');
    expect(await taskRow(task.id)).toMatchObject({ runnerId: 'master-owner', epoch: '1' });
    // Both steps went out on the other master's stream; the owner sent nothing.
    expect(session.assigned()).toHaveLength(2);
    expect(owner.link.sessions.size).toBe(0);
  });

  it('adopts the task of a master that stopped renewing its hold, and refuses that master its late writes', async () => {
    const server = await servers.create({ name: 'adopt', slots: 1 });
    const paused = await startMaster('master-paused');
    const task = await queue(server.id);
    paused.engine.wake();
    await waitFor('the first step to wait for its agent', async () =>
      sqlOne(admin, `SELECT 1 FROM task_steps WHERE task_id = $1`, [task.id]),
    );
    // As a master paused by SIGSTOP: it renews nothing any more (and adopts nothing), though its
    // run is still there, waiting for its step.
    const renew = paused.tasks.renewHolds.bind(paused.tasks);
    let resume: () => void = () => undefined;
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    vi.spyOn(paused.tasks, 'renewHolds').mockImplementation(async (held, holdMs) => {
      await resumed;
      return renew(held, holdMs);
    });
    const adopter = await startMaster('master-adopter');
    await waitFor(
      'the other master to adopt the task once the hold lapsed',
      async () => (await taskRow(task.id))?.runnerId === 'master-adopter',
      5_000,
    );
    // The agent comes up now: its step was asked for by the paused master, and is still pending.
    await connectAgent(adopter, server.id);

    await waitFor('the task to succeed', async () => (await taskRow(task.id))?.state === 'succeeded', 20_000);
    expect(await taskRow(task.id)).toMatchObject({ runnerId: 'master-adopter', epoch: '2' });
    expect(adopter.lines.some((line) => line.msg === 'adopted a task another master let go of')).toBe(true);
    // Each step ran once, under one attempt: the adopter replayed the step the paused master had
    // asked for instead of asking again.
    const steps = await sqlRows<{ seq: number; attempts: number }>(
      admin,
      `SELECT s.seq, count(a.id)::int AS attempts FROM task_steps s JOIN step_attempts a ON a.step_id = s.id
        WHERE s.task_id = $1 GROUP BY s.seq ORDER BY s.seq`,
      [task.id],
    );
    expect(steps).toEqual([
      { seq: 1, attempts: 1 },
      { seq: 2, attempts: 1 },
    ]);
    // The paused master's run woke with the step's result, tried to go on, and was refused; resumed
    // (SIGCONT), its renewal finds the task gone from it.
    resume();
    await waitFor('the paused master to give the task up', () =>
      paused.lines.some((line) => line.msg === 'stopped running a task another master adopted'),
    );
    // And any write it still makes for the task under its old epoch is refused.
    const lateStore = new RegistryWorkflowStore(
      paused.tasks,
      new StepLogRepository(paused.db),
      new AttemptsRepository(paused.db),
      new TaskLogsRepository(paused.db),
    ).forTask({ taskId: task.id, epoch: '1' });
    await expect(lateStore.saveRecord(task.id, 99, 'late', {})).rejects.toBeInstanceOf(OwnershipLostError);
    await expect(lateStore.finishTask(task.id, 'failed', { error: 'late' })).rejects.toBeInstanceOf(
      OwnershipLostError,
    );
    expect(await taskRow(task.id)).toMatchObject({ state: 'succeeded' });
  });

  it('cancels a task from another master than the one running it', async () => {
    const server = await servers.create({ name: 'cancel', slots: 1 });
    const owner = await startMaster('master-runs');
    const other = await startMaster('master-asked');
    await owner.presence.agentConnected(server.id);
    await owner.link.connect(server.id, 'obey-cancel');
    const task = await queue(server.id);
    owner.engine.wake();
    other.engine.wake();
    await waitFor('the first step to run', async () =>
      sqlOne(admin, `SELECT 1 FROM step_attempts WHERE task_id = $1 AND state = 'running'`, [task.id]),
    );
    const runner = (await taskRow(task.id))!.runnerId;
    const asked = runner === 'master-runs' ? other : owner;
    await asked.engine.cancelTask(task.id);
    await waitFor('the task to be cancelled', async () => (await taskRow(task.id))?.state === 'cancelled');
  });

  it('gives a follower on one master the live events of a task run on another, a long line cut to fit', async () => {
    const one = await startMaster('master-live-1');
    const two = await startMaster('master-live-2');
    const seen: TaskEvent[] = [];
    const unsubscribe = two.bus.subscribe('live-task', (event) => seen.push(event));
    const lines = Array.from({ length: 40 }, (_, index) => ({
      id: String(index + 1),
      at: new Date().toISOString(),
      stream: 'stdout',
      text: index === 0 ? 'x'.repeat(20_000) : `line ${index}`,
      stepId: null,
    }));
    one.bus.publish('live-task', { kind: 'log', lines });
    one.bus.publish('live-task', { kind: 'state', state: 'succeeded' });
    await waitFor('the events on the other master', () => seen.some((event) => event.kind === 'state'));
    unsubscribe();
    const received = seen.flatMap((event) => (event.kind === 'log' ? event.lines : []));
    expect(received.map((line) => line.id)).toEqual(lines.map((line) => line.id));
    expect(received[0]!.text).toMatch(/^x+ \[line cut in the live view\]$/);
    expect(received[1]!.text).toBe('line 1');
  });

  it('runs the periodic work on one master at a time, and on another once that one is gone', async () => {
    const first = await startMaster('master-p1');
    const second = await startMaster('master-p2');
    expect([first.presence.leads(), second.presence.leads()]).toEqual([true, false]);
    await first.stop();
    running.splice(running.indexOf(first), 1);
    await waitFor('the other master to take the periodic work', () => second.presence.leads(), 5_000);
  });

  it('refuses a second master under the name of one alive elsewhere, and lets the same one start again at once', async () => {
    const db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    try {
      const holder = await startMaster('master-taken');
      const second = new MasterPresence(
        new MastersRepository(db),
        {
          id: 'master-taken',
          instance: '00000000-0000-4000-8000-000000000009',
          leaseMs: HOLD_MS,
          home: 'other-host:/data/master-taken',
        },
        pino({ level: 'silent' }),
        () => undefined,
      );
      await expect(second.start()).rejects.toThrow(
        /another master runs as BERTH_MASTER_ID=master-taken \(test-host:\/data\/master-taken, seen \d+ s ago\): give each master its own/,
      );
      // The holder was not disturbed: its process still holds the name.
      expect(await new MastersRepository(db).heartbeat('master-taken', holder.signals.instance)).toBe(true);
      // The same master started again at once (same host and data directory, which one process at a
      // time can lock): it takes its name back, and the older process is told when it next beats.
      const restarted = await new MastersRepository(db).register(
        {
          id: 'master-taken',
          instance: '00000000-0000-4000-8000-00000000000a',
          home: 'test-host:/data/master-taken',
        },
        { leaseMs: HOLD_MS },
      );
      expect(restarted.registered).toBe(true);
      expect(await new MastersRepository(db).heartbeat('master-taken', holder.signals.instance)).toBe(false);
    } finally {
      await db.destroy();
    }
  });

  it('stops a paused process that finds its name taken when it resumes', async () => {
    const db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    try {
      const olderRepository = new MastersRepository(db);
      const replaced: string[] = [];
      const older = new MasterPresence(
        olderRepository,
        {
          id: 'master-name',
          instance: '00000000-0000-4000-8000-000000000001',
          leaseMs: HOLD_MS,
          home: 'host-a:/data',
        },
        pino({ level: 'silent' }),
        (reason) => replaced.push(reason),
      );
      await older.start();
      expect(older.leads()).toBe(true);
      // Paused: its heartbeats hang until it resumes.
      const heartbeat = olderRepository.heartbeat.bind(olderRepository);
      let resume: () => void = () => undefined;
      const resumed = new Promise<void>((resolve) => {
        resume = resolve;
      });
      vi.spyOn(olderRepository, 'heartbeat').mockImplementation(async (id, instance) => {
        await resumed;
        return heartbeat(id, instance);
      });
      await sleep(HOLD_MS + 200);
      // Past its lease, another process may start under the name.
      const newer = await new MastersRepository(db).register(
        {
          id: 'master-name',
          instance: '00000000-0000-4000-8000-000000000002',
          home: 'host-b:/data',
        },
        { leaseMs: HOLD_MS },
      );
      expect(newer.registered).toBe(true);
      resume();
      await waitFor('the older process to be told', () => replaced.length > 0, 5_000);
      expect(replaced[0]).toMatch(/took the name "master-name"/);
      expect(older.leads()).toBe(false);
      await older.stop();
    } finally {
      await db.destroy();
    }
  });
});
