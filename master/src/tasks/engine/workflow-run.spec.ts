import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import type { TaskState, TaskType } from '../../../../shared/src/tasks.js';
import type { TaskLogBus } from '../task-log-bus.js';
import type { TaskMetrics } from '../task-metrics.js';
import type { TaskEntity, TaskPhase } from '../task.entity.js';
import { MemoryWorkflowStore } from '../testing/memory-workflow-store.js';
import { stepFailure, WorkflowHarness } from '../testing/workflow-harness.js';
import { NonDeterministicWorkflowError, registerWorkflow, type Workflow } from '../workflow.js';
import { WorkflowRun, type StepCoordinator } from './workflow-run.js';

class RecordingMetrics implements TaskMetrics {
  readonly phases: Array<{ taskType: TaskType; phase: TaskPhase }> = [];
  readonly finished: string[] = [];
  attemptSettled() {}
  phaseEnded(taskType: TaskType, phase: TaskPhase & { endedAt: string }) {
    this.phases.push({ taskType, phase });
  }
  taskFinished(taskType: TaskType, state: TaskState) {
    this.finished.push(`${taskType} ${state}`);
  }
}

const engine: StepCoordinator = {
  waitForStep: () => new Promise(() => undefined),
  cancelAttemptsOf: () => Promise.resolve(),
  wake: () => undefined,
};
const bus = { publish: () => undefined } as Pick<TaskLogBus, 'publish'>;

function task(phases: TaskPhase[] = []): TaskEntity {
  return {
    id: 'task-1',
    type: 'debug.noop',
    targetId: 'web',
    targetName: 'web',
    phases,
    params: {},
    createdAt: new Date(),
    startedAt: new Date(),
    workflowVersion: 1,
    cancelRequestedAt: null,
  } as Partial<TaskEntity> as TaskEntity;
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { lines, logger };
}

/** Steps as a migrate has them, with a phase around some: enough to watch a run. */
const phased: Workflow<'debug.noop'> = async (context) => {
  await context.phase('backup', () => context.step('web', 'debug.noop', {}));
  await context.phase('offline window', async () => {
    await context.step('web', 'debug.sleep', { ms: 1 });
    await context.step('web', 'debug.noop', {});
  });
  return { at: 0 };
};

function run(
  store: MemoryWorkflowStore,
  workflow: Workflow<'debug.noop'>,
  options: { phases?: TaskPhase[]; metrics?: TaskMetrics; logger?: Logger } = {},
) {
  return new WorkflowRun(
    task(options.phases),
    registerWorkflow('debug.noop', 1, workflow),
    store,
    engine,
    bus,
    options.logger ?? pino({ level: 'silent' }),
    options.metrics,
  ).execute();
}

const done = () => ({ output: { at: 0 } });

describe('WorkflowRun', () => {
  it('logs a failed task with its id and the failed step, and reports it finished', async () => {
    const store = new MemoryWorkflowStore((call) =>
      call.step === 'debug.sleep' ? { failure: stepFailure('drush updatedb failed') } : done(),
    );
    const metrics = new RecordingMetrics();
    const { lines, logger } = capture();
    await run(store, phased, { metrics, logger });

    expect(store.finished?.state).toBe('failed');
    expect(metrics.finished).toEqual(['debug.noop failed']);
    const failed = lines.find((line) => line.msg === 'task failed');
    expect(failed).toMatchObject({ taskId: 'task-1', stepId: 'step-2', step: 'debug.sleep' });
    for (const line of lines) expect(line.taskId).toBe('task-1');
  });

  it('reports each ended phase once, with its recorded start and end', async () => {
    const store = new MemoryWorkflowStore(done);
    const metrics = new RecordingMetrics();
    await run(store, phased, { metrics });

    expect(metrics.finished).toEqual(['debug.noop succeeded']);
    expect(metrics.phases.map(({ phase }) => phase.name)).toEqual(['backup', 'offline window']);
    expect(metrics.phases.map(({ phase }) => phase)).toEqual(store.phases);
  });

  it('on a replay after a restart, reports only the phases that end in this run', async () => {
    // The master stopped inside the offline window: backup ended, the window had started.
    const recorded: TaskPhase[] = [
      { name: 'backup', startedAt: '2026-11-22T02:00:00.000Z', endedAt: '2026-11-22T02:00:05.000Z' },
      { name: 'offline window', startedAt: '2026-11-22T02:00:06.000Z', endedAt: null },
    ];
    const store = new MemoryWorkflowStore(done);
    const metrics = new RecordingMetrics();
    await run(store, phased, { phases: recorded, metrics });

    expect(metrics.phases).toHaveLength(1);
    expect(metrics.phases[0]?.phase).toMatchObject({
      name: 'offline window',
      startedAt: '2026-11-22T02:00:06.000Z',
    });
    expect(metrics.phases[0]?.phase.endedAt).toBe(store.phases[1]?.endedAt);
  });

  it("publishes the task's own progress, with no step name, to its followers", async () => {
    const events: unknown[] = [];
    const recording = { publish: (_id: string, event: unknown) => events.push(event) } as Pick<
      TaskLogBus,
      'publish'
    >;
    const counting: Workflow<'debug.noop'> = (context) => {
      context.progress({ phase: 'sites', done: 2, total: 5, unit: 'sites' });
      return Promise.resolve({ at: 0 });
    };
    await new WorkflowRun(
      task(),
      registerWorkflow('debug.noop', 1, counting),
      new MemoryWorkflowStore(done),
      engine,
      recording,
      pino({ level: 'silent' }),
    ).execute();
    expect(events[0]).toEqual({
      kind: 'progress',
      progress: { stepName: '', phase: 'sites', done: 2, total: 5, unit: 'sites' },
    });
  });
});

describe('TaskContext.record', () => {
  it('runs an effect once: a replay returns what was recorded, as JSON, the same as the first run saw', async () => {
    const effects: string[] = [];
    const seen: unknown[] = [];
    const workflow: Workflow<'debug.noop'> = async (context) => {
      const row = await context.record('rows.create', () => {
        effects.push('create');
        return Promise.resolve({ id: 'row-1', createdAt: new Date('2026-12-01T00:00:00.000Z') });
      });
      seen.push(row);
      await context.step('web', 'debug.noop', {});
      await context.step('web', 'debug.noop', {});
      return { at: 0 };
    };
    const harness = new WorkflowHarness(workflow, { type: 'debug.noop', params: {} });
    expect(await harness.stopBeforeStep(2)).toBe('stopped');
    const trace = await harness.resume();

    expect(trace.state).toBe('succeeded');
    expect(effects).toEqual(['create']);
    expect(seen).toEqual([
      { id: 'row-1', createdAt: '2026-12-01T00:00:00.000Z' },
      { id: 'row-1', createdAt: '2026-12-01T00:00:00.000Z' },
    ]);
    expect(trace.calls.map((call) => call.seq)).toEqual([1, 2]);
  });

  it('fails a replay whose workflow now records something else at the same place', async () => {
    const store = new MemoryWorkflowStore(done);
    store.records.push({ seq: 1, name: 'sites.remove', output: null });
    let thrown: unknown;
    await run(store, async (context) => {
      try {
        await context.record('sites.setStatus', () => Promise.resolve());
      } catch (error) {
        thrown = error;
        throw error;
      }
      return { at: 0 };
    });
    expect(thrown).toBeInstanceOf(NonDeterministicWorkflowError);
    expect(store.finished?.state).toBe('failed');
  });
});

describe('scopes and undo', () => {
  it('undoes a failed scope newest first while it holds its servers, then the task, and says it rolled back', async () => {
    const order: string[] = [];
    let heldDuringUndo: readonly string[] = [];
    const harness = new WorkflowHarness<'debug.noop'>(
      async (context) => {
        context.onRollback('task: first', () => Promise.resolve(void order.push('task: first')));
        await context.scope(
          'window',
          async () => {
            context.onRollback('window: a', () => {
              heldDuringUndo = harness.store.held;
              order.push('window: a');
              return Promise.resolve();
            });
            context.cleanup('window: clean', () => Promise.resolve(void order.push('window: clean')));
            context.onRollback('window: b', () => Promise.resolve(void order.push('window: b')));
            await context.step('web', 'debug.noop', {});
          },
          { servers: ['web', 'db'] },
        );
        return { at: 0 };
      },
      { type: 'debug.noop', params: {}, fail: () => stepFailure('boom') },
    );
    const trace = await harness.run();

    expect(order).toEqual(['window: b', 'window: clean', 'window: a', 'task: first']);
    expect(heldDuringUndo).toEqual(['web', 'db']);
    expect(harness.store.held).toEqual([]);
    expect(trace.state).toBe('failed');
    expect(trace.outcome.rollbackCompleted).toBe(true);
    expect(trace.logs.at(-1)).toMatch(/^failed: step debug\.noop failed: boom \(rolled back\)$/);
  });

  it('keeps what a scope that completed did: its rollbacks no longer apply, its clean-ups ran', async () => {
    const order: string[] = [];
    const trace = await new WorkflowHarness<'debug.noop'>(
      async (context) => {
        context.onRollback('task', () => Promise.resolve(void order.push('task')));
        await context.scope('backup', () => {
          context.onRollback('discard the archive', () => Promise.resolve(void order.push('discard')));
          context.cleanup('temp file', () => Promise.resolve(void order.push('temp file')));
          return Promise.resolve();
        });
        await context.step('web', 'debug.noop', {});
        return { at: 0 };
      },
      { type: 'debug.noop', params: {}, fail: () => stepFailure('later') },
    ).run();

    expect(order).toEqual(['temp file', 'task']);
    expect(trace.outcome.rollbackCompleted).toBe(true);
  });

  it('runs every undo action even when one fails, and reports the rollback incomplete', async () => {
    const order: string[] = [];
    const trace = await new WorkflowHarness<'debug.noop'>(
      async (context) => {
        context.onRollback('first', () => Promise.resolve(void order.push('first')));
        context.onRollback('second', () => Promise.reject(new Error('disk full')));
        context.onRollback('third', () => Promise.resolve(void order.push('third')));
        await context.step('web', 'debug.noop', {});
        return { at: 0 };
      },
      { type: 'debug.noop', params: {}, fail: () => stepFailure('boom') },
    ).run();

    expect(order).toEqual(['third', 'first']);
    expect(trace.outcome.rollbackCompleted).toBe(false);
    expect(trace.logs).toContain('rollback "second" failed: disk full');
    expect(trace.logs.at(-1)).toMatch(/\(ROLLBACK INCOMPLETE\)$/);
  });

  it('leaves rollbackCompleted null when nothing had to be undone', async () => {
    const trace = await new WorkflowHarness<'debug.noop'>(
      async (context) => {
        await context.step('web', 'debug.noop', {});
        return { at: 0 };
      },
      { type: 'debug.noop', params: {}, fail: () => stepFailure('boom') },
    ).run();
    expect(trace.outcome.rollbackCompleted).toBeNull();
  });

  it('runs the undo steps of a cancelled task, and no step before them', async () => {
    const trace = await new WorkflowHarness<'debug.noop'>(
      async (context) => {
        context.onRollback('undo', async () => {
          await context.step('web', 'debug.sleep', { ms: 0 });
        });
        await context.step('web', 'debug.noop', {});
        return { at: 0 };
      },
      { type: 'debug.noop', params: {}, cancelled: true },
    ).run();
    expect(trace.state).toBe('cancelled');
    expect(trace.calls.map((call) => call.step)).toEqual(['debug.sleep']);
    expect(trace.outcome.rollbackCompleted).toBe(true);
  });

  it('makes a scope with phase a phase of its own, undo included', async () => {
    const trace = await new WorkflowHarness<'debug.noop'>(
      async (context) => {
        await context.scope(
          'offline window',
          async () => {
            context.onRollback('undo', async () => {
              await context.step('web', 'debug.sleep', { ms: 0 });
            });
            await context.step('web', 'debug.noop', {});
          },
          { phase: true, servers: ['web'] },
        );
        return { at: 0 };
      },
      { type: 'debug.noop', params: {}, fail: (call) => (call.seq === 1 ? stepFailure('boom') : undefined) },
    ).run();
    expect(trace.phases.map((phase) => phase.name)).toEqual(['offline window']);
    expect(trace.phases[0]?.endedAt).not.toBeNull();
    expect(trace.calls.map((call) => call.step)).toEqual(['debug.noop', 'debug.sleep']);
  });
});
