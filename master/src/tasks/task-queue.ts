import type * as api from '../../../shared/src/api.js';
import type { TaskType } from '../../../shared/src/tasks.js';
import { isUniqueViolation, type SqlExecutor } from '../infra/db/sql.js';
import type { TaskEntity } from './task.entity.js';
import { taskView } from './task-view.js';
import { TasksError, TasksErrorCode } from './tasks.errors.js';
import type { NewTask, TasksRepository } from './tasks.repository.js';

/**
 * How features queue their tasks (and look at tasks they queued): the task goes into the registry
 * and the engine is woken to start it. Params are typed by the task type's definition.
 */
export class TaskQueue {
  constructor(
    private readonly tasks: Pick<
      TasksRepository,
      | 'insertTask'
      | 'findTask'
      | 'findChildTask'
      | 'isDomainClaimed'
      | 'hasOpenTask'
      | 'recentOfTarget'
      | 'latestOfTargets'
    >,
    private readonly wake: () => void,
  ) {}

  async queue<T extends TaskType>(task: NewTask<T>): Promise<api.Task> {
    let entity: TaskEntity;
    try {
      entity = await this.tasks.insertTask(task);
    } catch (error) {
      if (isUniqueViolation(error, 'uq_tasks_claimed_domain')) {
        throw new TasksError(
          TasksErrorCode.DomainClaimed,
          `another task is already giving ${task.claimedDomain} to a site`,
        );
      }
      throw error;
    }
    this.wake();
    return taskView(entity, null);
  }

  /**
   * Inserts a task inside the caller's transaction (a schedule's firing claims itself in the same
   * one). The engine finds it on its next pass after the commit, or when the caller wakes it.
   */
  insertIn<T extends TaskType>(executor: SqlExecutor, task: NewTask<T>): Promise<TaskEntity> {
    return this.tasks.insertTask(task, executor);
  }

  find(id: string): Promise<TaskEntity | null> {
    return this.tasks.findTask(id);
  }

  /** The task `parentTaskId` queued for `targetId`, if any (found again on a replay). */
  findChild(parentTaskId: string, targetId: string): Promise<TaskEntity | null> {
    return this.tasks.findChildTask(parentTaskId, targetId);
  }

  /** The latest tasks of a type for a target, newest first (a site's cron runs). */
  recent(targetId: string, type: TaskType, limit: number): Promise<TaskEntity[]> {
    return this.tasks.recentOfTarget(targetId, type, limit);
  }

  /** The latest task of a type of each of these targets, by target id (a page of projects' syncs). */
  async latest(targetIds: readonly string[], type: TaskType): Promise<Map<string, TaskEntity>> {
    const tasks = await this.tasks.latestOfTargets(targetIds, type);
    return new Map(tasks.map((task) => [task.targetId, task]));
  }

  /** Whether a task of this type is queued or running for this target. */
  hasOpen(targetId: string, type: TaskType): Promise<boolean> {
    return this.tasks.hasOpenTask(targetId, type);
  }

  /** Whether a queued or running task will give this domain to a site. */
  isDomainClaimed(domain: string): Promise<boolean> {
    return this.tasks.isDomainClaimed(domain);
  }
}
