import type { LogLine, TaskPhase } from '../../../../shared/src/api.js';
import type { StepFailure } from '../../../../shared/src/errors.js';
import type { LoggedStep, NewStep, TaskOutcome, WorkflowStore } from '../engine/workflow-store.js';

/** A step as a workflow asked for it: which server's agent, which step, which parameters. */
export interface StepCall {
  seq: number;
  server: string;
  step: string;
  params: Record<string, unknown>;
}

/** How a scripted step ends: its output, or its failure. */
export type ScriptedOutcome = { output: unknown } | { failure: StepFailure };

export interface StoredStep extends LoggedStep, StepCall {}

/**
 * The registry as a workflow run sees it, in memory, for unit tests. A step settles as soon as it
 * is created, as `settle` says. `stopBeforeStep(n)` stands for a master that stops: the run that
 * asks for step n waits forever, and a second run on the same store replays what the first recorded.
 */
export class MemoryWorkflowStore implements WorkflowStore {
  readonly steps: StoredStep[] = [];
  readonly records: Array<{ seq: number; name: string; output: unknown }> = [];
  readonly logs: string[] = [];
  phases: TaskPhase[] = [];
  finished: { state: 'succeeded' | 'failed' | 'cancelled'; outcome: TaskOutcome } | undefined;
  /** The servers whose slots the task holds now (a scope with servers). */
  held: readonly string[] = [];
  private stopAt: number | undefined;
  private stoppedNow: (() => void) | undefined;
  private nextLogId = 1;

  constructor(private readonly settle: (call: StepCall) => ScriptedOutcome) {}

  /** The next run stops (waits forever) when it asks for step `seq`; resolves when it does. */
  stopBeforeStep(seq: number): Promise<void> {
    this.stopAt = seq;
    return new Promise((resolve) => {
      this.stoppedNow = resolve;
    });
  }

  /** The master comes back: runs on this store go on past the stop. */
  restart(): void {
    this.stopAt = undefined;
  }

  findStep(_taskId: string, seq: number): Promise<LoggedStep | null> {
    return Promise.resolve(this.steps.find((step) => step.seq === seq) ?? null);
  }

  createStep(input: NewStep): Promise<LoggedStep> {
    if (this.stopAt !== undefined && input.seq >= this.stopAt) {
      this.stoppedNow?.();
      return new Promise(() => undefined);
    }
    const call: StepCall = { seq: input.seq, server: input.serverId, step: input.name, params: input.params };
    const outcome = this.settle(call);
    const step: StoredStep = {
      ...call,
      id: `step-${input.seq}`,
      name: input.name,
      state: 'failure' in outcome ? 'failed' : 'done',
      output: 'failure' in outcome ? null : structuredClone(outcome.output ?? null),
      failure: 'failure' in outcome ? outcome.failure : null,
    };
    this.steps.push(step);
    return Promise.resolve(step);
  }

  findRecord(_taskId: string, seq: number) {
    return Promise.resolve(this.records.find((record) => record.seq === seq) ?? null);
  }

  saveRecord(_taskId: string, seq: number, name: string, output: unknown): Promise<void> {
    if (this.records.some((record) => record.seq === seq)) throw new Error(`record ${seq} saved twice`);
    this.records.push({ seq, name, output: structuredClone(output) });
    return Promise.resolve();
  }

  setPhases(_taskId: string, phases: TaskPhase[]): Promise<void> {
    this.phases = structuredClone(phases);
    return Promise.resolve();
  }

  appendMasterLog(_taskId: string, text: string): Promise<LogLine | undefined> {
    this.logs.push(text);
    const id = String(this.nextLogId++);
    return Promise.resolve({ id, at: new Date().toISOString(), stream: 'master', text, stepId: null });
  }

  holdSlots(_taskId: string, serverIds: readonly string[]): Promise<boolean> {
    this.held = [...serverIds];
    return Promise.resolve(true);
  }

  releaseSlots(): Promise<void> {
    this.held = [];
    return Promise.resolve();
  }

  finishTask(
    _taskId: string,
    state: 'succeeded' | 'failed' | 'cancelled',
    outcome: TaskOutcome,
  ): Promise<void> {
    this.finished = { state, outcome };
    return Promise.resolve();
  }
}
