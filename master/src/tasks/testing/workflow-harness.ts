import { pino } from 'pino';
import type { TaskPhase } from '../../../../shared/src/api.js';
import type { StepFailure } from '../../../../shared/src/errors.js';
import { isStepName, type StepName } from '../../../../shared/src/steps.js';
import type { TaskParams, TaskType } from '../../../../shared/src/tasks.js';
import type { StepCoordinator } from '../engine/workflow-run.js';
import { WorkflowRun } from '../engine/workflow-run.js';
import type { TaskOutcome } from '../engine/workflow-store.js';
import type { TaskMetrics } from '../task-metrics.js';
import type { TaskEntity } from '../task.entity.js';
import { registerWorkflow, type Workflow } from '../workflow.js';
import { MemoryWorkflowStore, type ScriptedOutcome, type StepCall } from './memory-workflow-store.js';
import { DEFAULT_STEP_OUTPUTS, type StepOutputs } from './step-outputs.js';

export type { StepCall } from './memory-workflow-store.js';

export interface HarnessOptions<T extends TaskType> {
  type: T;
  params: TaskParams<T>;
  targetId?: string;
  targetName?: string;
  /** Outputs of steps by name, over DEFAULT_STEP_OUTPUTS. */
  outputs?: StepOutputs;
  /** The failure of a step call, when it is to fail. */
  fail?: (call: StepCall) => StepFailure | undefined;
  /** The task was cancelled before the run started. */
  cancelled?: boolean;
  metrics?: TaskMetrics;
  /** The workflow version the task started with (default 1). */
  version?: number;
}

/** What a run did, for assertions. */
export interface WorkflowTrace {
  state: 'succeeded' | 'failed' | 'cancelled';
  outcome: TaskOutcome;
  /** Every step asked for, in order, each once (a replay does not ask again for a recorded one). */
  calls: StepCall[];
  records: Array<{ seq: number; name: string; output: unknown }>;
  logs: string[];
  phases: TaskPhase[];
}

const NO_ENGINE: StepCoordinator = {
  // Steps of the memory store are settled when they are created: nothing is ever waited for.
  waitForStep: () => new Promise(() => undefined),
  cancelAttemptsOf: () => Promise.resolve(),
  wake: () => undefined,
};

/**
 * Runs a workflow the way the engine does (the real WorkflowRun: step log, records, phases, scopes
 * and undo) against a stand-in agent and an in-memory registry. Each step's output comes from
 * `outputs`, and any step can be made to fail. `stopBeforeStep` and `resume` play a master that
 * stops and a restarted one that replays the task.
 */
export class WorkflowHarness<T extends TaskType> {
  readonly store: MemoryWorkflowStore;
  private readonly entity: TaskEntity;

  constructor(
    private readonly workflow: Workflow<T>,
    private readonly options: HarnessOptions<T>,
  ) {
    this.store = new MemoryWorkflowStore((call) => this.settle(call));
    this.entity = {
      id: 'task-1',
      type: options.type,
      state: 'running',
      targetKind: 'site',
      targetId: options.targetId ?? 'target-1',
      targetName: options.targetName ?? 'target',
      lockKey: null,
      priority: 0,
      retryOf: null,
      params: options.params,
      workflowVersion: options.version ?? 1,
      parentTaskId: null,
      claimedDomain: null,
      result: null,
      error: null,
      errorCode: null,
      rollbackCompleted: null,
      phases: [],
      runnerId: 'test',
      ownerEpoch: '1',
      ownerExpiresAt: null,
      clientId: null,
      createdBy: 'test',
      createdAt: new Date('2026-12-01T00:00:00.000Z'),
      startedAt: new Date('2026-12-01T00:00:01.000Z'),
      finishedAt: null,
      cancelRequestedAt: options.cancelled ? new Date() : null,
    };
  }

  /** Runs the task to its end. */
  async run(): Promise<WorkflowTrace> {
    await this.newRun().execute();
    return this.trace();
  }

  /** Runs the task until it asks for step `seq`, where its master stops. */
  async stopBeforeStep(seq: number): Promise<'stopped' | 'finished'> {
    const stopped = this.store.stopBeforeStep(seq);
    return Promise.race([
      stopped.then(() => 'stopped' as const),
      this.newRun()
        .execute()
        .then(() => 'finished' as const),
    ]);
  }

  /** A restarted master replays the task to its end. */
  async resume(): Promise<WorkflowTrace> {
    this.store.restart();
    return this.run();
  }

  private newRun(): WorkflowRun {
    return new WorkflowRun(
      { ...this.entity, phases: structuredClone(this.store.phases) },
      registerWorkflow(this.options.type, this.options.version ?? 1, this.workflow),
      this.store,
      NO_ENGINE,
      { publish: () => undefined },
      pino({ level: 'silent' }),
      this.options.metrics,
    );
  }

  private trace(): WorkflowTrace {
    if (!this.store.finished) throw new Error('the task did not finish');
    return {
      state: this.store.finished.state,
      outcome: this.store.finished.outcome,
      calls: this.store.steps.map(({ seq, server, step, params }) => ({ seq, server, step, params })),
      records: [...this.store.records],
      logs: [...this.store.logs],
      phases: structuredClone(this.store.phases),
    };
  }

  private settle(call: StepCall): ScriptedOutcome {
    const failure = this.options.fail?.(call);
    if (failure) return { failure };
    if (!isStepName(call.step)) throw new Error(`a workflow asked for an unknown step ${call.step}`);
    const name: StepName = call.step;
    const produce = (this.options.outputs?.[name] ?? DEFAULT_STEP_OUTPUTS[name]) as (
      params: unknown,
    ) => unknown;
    return { output: produce(call.params) };
  }
}

/** A step failure as an agent reports it. */
export function stepFailure(message: string, code: StepFailure['code'] = 'COMMAND_FAILED'): StepFailure {
  return { code, message, retryable: false };
}
