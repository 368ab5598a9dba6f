import type { AttemptsRepository } from '../attempts.repository.js';
import type { StepLogRepository } from '../step-log.repository.js';
import type { TaskFence } from '../task-fence.js';
import type { TaskLogsRepository } from '../task-logs.repository.js';
import type { TasksRepository } from '../tasks.repository.js';
import type { WorkflowStore } from './workflow-store.js';

/**
 * A workflow run's reads and writes, in the registry (PostgreSQL or PGlite). Made for one task
 * under the owner epoch its master holds it by (forTask), every write is fenced: refused with
 * OwnershipLostError once another master has adopted the task.
 */
export class RegistryWorkflowStore implements WorkflowStore {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly stepLog: StepLogRepository,
    private readonly attempts: AttemptsRepository,
    private readonly logs: TaskLogsRepository,
    private readonly fence?: TaskFence,
  ) {}

  /** The same store, its writes fenced by the epoch this master holds the task under. */
  forTask(fence: TaskFence): RegistryWorkflowStore {
    return new RegistryWorkflowStore(this.tasks, this.stepLog, this.attempts, this.logs, fence);
  }

  findStep = (taskId: string, seq: number) => this.stepLog.findStep(taskId, seq);
  createStep: WorkflowStore['createStep'] = (step) => this.stepLog.createStep(step, this.fence);
  findRecord = (taskId: string, seq: number) => this.stepLog.findRecord(taskId, seq);
  saveRecord: WorkflowStore['saveRecord'] = (taskId, seq, name, output) =>
    this.stepLog.saveRecord(taskId, seq, name, output, this.fence);
  setPhases: WorkflowStore['setPhases'] = (taskId, phases) =>
    this.tasks.setPhases(taskId, phases, this.fence);
  appendMasterLog = (taskId: string, text: string) => this.logs.appendMaster(taskId, text, this.fence);
  holdSlots = (taskId: string, serverIds: readonly string[]) =>
    this.attempts.holdSlots(taskId, serverIds, this.fence);
  releaseSlots = (taskId: string) => this.attempts.releaseSlots(taskId, this.fence);
  finishTask: WorkflowStore['finishTask'] = (taskId, state, outcome) =>
    this.tasks.finishTask(taskId, state, outcome, this.fence);
}
