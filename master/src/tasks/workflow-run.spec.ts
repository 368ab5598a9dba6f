import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StepErrorCode, type StepFailure } from '../../../shared/src/errors.js';
import type { TaskState, TaskType } from '../../../shared/src/tasks.js';
import type { TaskLogBus } from './task-log-bus.js';
import type { TaskMetrics } from './task-metrics.js';
import type { TaskEntity, TaskPhase } from './task.entity.js';
import type { TaskStepEntity } from './task-step.entity.js';
import type { TasksRepository } from './tasks.repository.js';
import { WorkflowRun, type StepCoordinator } from './workflow-run.js';
import type { Workflow } from './workflow.js';

/**
 * The registry as a run sees it, in memory: steps settle at once, as `outcomes` says (done unless a
 * failure is given for the step's name).
 */
class MemoryTasks {
  readonly steps: TaskStepEntity[] = [];
  phases: TaskPhase[] = [];
  finished: TaskState | undefined;
  constructor(private readonly failures: Record<string, StepFailure> = {}) {}

  findStep(_taskId: string, seq: number) {
    return Promise.resolve(this.steps.find((step) => step.seq === seq) ?? null);
  }
  createStep(input: { taskId: string; seq: number; serverId: string; name: string }) {
    const failure = this.failures[input.name] ?? null;
    const step = {
      ...input,
      id: `step-${input.seq}`,
      state: failure ? 'failed' : 'done',
      output: failure ? null : { ok: true },
      failure,
    } as unknown as TaskStepEntity;
    this.steps.push(step);
    return Promise.resolve(step);
  }
  setPhases(_id: string, phases: TaskPhase[]) {
    this.phases = structuredClone(phases);
    return Promise.resolve();
  }
  finishTask(_id: string, state: TaskState) {
    this.finished = state;
    return Promise.resolve();
  }
  appendLogs() {
    return Promise.resolve([]);
  }
}

class RecordingMetrics implements TaskMetrics {
  readonly phases: Array<{ taskType: TaskType; phase: TaskPhase }> = [];
  readonly finished: string[] = [];
  attemptSettled() {}
  phaseEnded(taskType: TaskType, phase: TaskPhase & { endedAt: string }) {
    this.phases.push({ taskType, phase });
  }
  taskFinished(taskType: TaskType, state: string) {
    this.finished.push(`${taskType} ${state}`);
  }
}

const engine: StepCoordinator = {
  waitForStep: () => new Promise(() => undefined),
  cancelAttemptsOf: () => Promise.resolve(),
  wake: () => undefined,
};
const bus = { publish: () => undefined } as unknown as TaskLogBus;

function task(phases: TaskPhase[] = []): TaskEntity {
  return {
    id: 'task-1',
    type: 'site.migrate',
    phases,
    params: {},
    cancelRequestedAt: null,
  } as unknown as TaskEntity;
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { lines, logger };
}

const migrateLike: Workflow = async (context) => {
  await context.phase('backup', () => context.step('web', 'site.archive', {} as never));
  await context.phase('offline window', async () => {
    await context.step('web', 'site.link', {} as never);
    await context.step('web', 'app.update', {} as never);
  });
  return undefined;
};

describe('WorkflowRun', () => {
  it('logs a failed task with its id and the failed step, and reports it finished', async () => {
    const tasks = new MemoryTasks({
      'app.update': { code: StepErrorCode.CommandFailed, message: 'drush updatedb failed', retryable: false },
    });
    const metrics = new RecordingMetrics();
    const { lines, logger } = capture();
    await new WorkflowRun(
      task(),
      migrateLike,
      tasks as unknown as TasksRepository,
      engine,
      bus,
      logger,
      metrics,
    ).execute();

    expect(tasks.finished).toBe('failed');
    expect(metrics.finished).toEqual(['site.migrate failed']);
    const failed = lines.find((line) => line.msg === 'task failed');
    expect(failed).toMatchObject({ taskId: 'task-1', stepId: 'step-3', step: 'app.update' });
    for (const line of lines) expect(line.taskId).toBe('task-1');
  });

  it('reports each ended phase once, with its recorded start and end', async () => {
    const tasks = new MemoryTasks();
    const metrics = new RecordingMetrics();
    await new WorkflowRun(
      task(),
      migrateLike,
      tasks as unknown as TasksRepository,
      engine,
      bus,
      pino({ level: 'silent' }),
      metrics,
    ).execute();

    expect(metrics.finished).toEqual(['site.migrate succeeded']);
    expect(metrics.phases.map(({ taskType, phase }) => `${taskType} ${phase.name}`)).toEqual([
      'site.migrate backup',
      'site.migrate offline window',
    ]);
    expect(metrics.phases.map(({ phase }) => phase)).toEqual(tasks.phases);
  });

  it('on a replay after a restart, reports only the phases that end in this run', async () => {
    // The master stopped inside the offline window: backup ended, the window had started.
    const recorded: TaskPhase[] = [
      { name: 'backup', startedAt: '2026-11-22T02:00:00.000Z', endedAt: '2026-11-22T02:00:05.000Z' },
      { name: 'offline window', startedAt: '2026-11-22T02:00:06.000Z', endedAt: null },
    ];
    const tasks = new MemoryTasks();
    const metrics = new RecordingMetrics();
    await new WorkflowRun(
      task(recorded),
      migrateLike,
      tasks as unknown as TasksRepository,
      engine,
      bus,
      pino({ level: 'silent' }),
      metrics,
    ).execute();

    expect(metrics.phases).toHaveLength(1);
    expect(metrics.phases[0]?.phase).toMatchObject({
      name: 'offline window',
      startedAt: '2026-11-22T02:00:06.000Z',
    });
    expect(metrics.phases[0]?.phase.endedAt).toBe(tasks.phases[1]?.endedAt);
  });

  it("publishes the task's own progress, with no step name, to its followers", async () => {
    const events: unknown[] = [];
    const recording = {
      publish: (_id: string, event: unknown) => events.push(event),
    } as unknown as TaskLogBus;
    const counting: Workflow = (context) => {
      context.progress({ phase: 'sites', done: 2, total: 5, unit: 'sites' });
      return Promise.resolve(undefined);
    };
    await new WorkflowRun(
      task(),
      counting,
      new MemoryTasks() as unknown as TasksRepository,
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
