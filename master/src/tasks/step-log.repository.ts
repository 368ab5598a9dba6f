import type { DataSource } from 'typeorm';
import { sqlRows } from '../infra/db/sql.js';
import { TaskRecordEntity } from './task-record.entity.js';
import { TaskStepEntity } from './task-step.entity.js';
import type { NewStep } from './engine/workflow-store.js';
import { fencedTransaction, type TaskFence } from './task-fence.js';

/**
 * A task's step log: the agent steps its workflow asked for (each with its attempts) and the
 * master-side effects it recorded, each numbered in the order asked. A replay reads it back.
 */
export class StepLogRepository {
  constructor(private readonly db: DataSource) {}

  findStep(taskId: string, seq: number): Promise<TaskStepEntity | null> {
    return this.db.getRepository(TaskStepEntity).findOneBy({ taskId, seq });
  }

  stepsOfTask(taskId: string): Promise<TaskStepEntity[]> {
    return this.db.getRepository(TaskStepEntity).find({ where: { taskId }, order: { seq: 'ASC' } });
  }

  /** Records a new step and its first attempt (pending), in one transaction; fenced, for its owner only. */
  async createStep(input: NewStep, fence?: TaskFence): Promise<TaskStepEntity> {
    return fencedTransaction(this.db, fence, async (manager) => {
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
      await sqlRows(
        manager,
        `INSERT INTO step_attempts (step_id, task_id, server_id, attempt_no, state)
         VALUES ($1, $2, $3, 1, 'pending') RETURNING id`,
        [step.id, step.taskId, step.serverId],
      );
      return step;
    });
  }

  findRecord(taskId: string, seq: number): Promise<TaskRecordEntity | null> {
    return this.db.getRepository(TaskRecordEntity).findOneBy({ taskId, seq });
  }

  async saveRecord(
    taskId: string,
    seq: number,
    name: string,
    output: unknown,
    fence?: TaskFence,
  ): Promise<void> {
    await fencedTransaction(this.db, fence, async (manager) => {
      await sqlRows(
        manager,
        `INSERT INTO task_records (task_id, seq, name, output) VALUES ($1, $2, $3, $4) RETURNING seq`,
        [taskId, seq, name, JSON.stringify(output ?? null)],
      );
    });
  }
}
