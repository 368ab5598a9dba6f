import type { AttemptsRepository } from '../attempts.repository.js';
import type { StepLogRepository } from '../step-log.repository.js';
import type { TaskLogsRepository } from '../task-logs.repository.js';
import type { TasksRepository } from '../tasks.repository.js';
import type { WorkflowStore } from './workflow-store.js';

/** A workflow run's reads and writes, in the registry (PostgreSQL or PGlite). */
export class RegistryWorkflowStore implements WorkflowStore {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly stepLog: StepLogRepository,
    private readonly attempts: AttemptsRepository,
    private readonly logs: TaskLogsRepository,
  ) {}

  findStep = (taskId: string, seq: number) => this.stepLog.findStep(taskId, seq);
  createStep: WorkflowStore['createStep'] = (step) => this.stepLog.createStep(step);
  findRecord = (taskId: string, seq: number) => this.stepLog.findRecord(taskId, seq);
  saveRecord: WorkflowStore['saveRecord'] = (taskId, seq, name, output) =>
    this.stepLog.saveRecord(taskId, seq, name, output);
  setPhases: WorkflowStore['setPhases'] = (taskId, phases) => this.tasks.setPhases(taskId, phases);
  appendMasterLog = (taskId: string, text: string) => this.logs.appendMaster(taskId, text);
  holdSlots = (taskId: string, serverIds: readonly string[]) => this.attempts.holdSlots(taskId, serverIds);
  releaseSlots = (taskId: string) => this.attempts.releaseSlots(taskId);
  finishTask: WorkflowStore['finishTask'] = (taskId, state, outcome) =>
    this.tasks.finishTask(taskId, state, outcome);
}
