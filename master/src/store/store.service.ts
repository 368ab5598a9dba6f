import type * as api from '../../../shared/src/api.js';
import type { Principal } from '../auth/auth.service.js';
import { STORE_TARGET_ID } from '../schedules/firings.repository.js';
import type { TaskQueue } from '../tasks/task-queue.js';
import { TASK_PRIORITY, type NewTask } from '../tasks/tasks.repository.js';
import type { StoreCollector } from './store-collector.js';

/** The store as people see it: what it holds, and its collector run now or on its schedule. */
export class StoreService {
  constructor(
    private readonly collector: Pick<StoreCollector, 'usage'>,
    private readonly queue: Pick<TaskQueue, 'queue'>,
  ) {}

  usage(): Promise<api.StoreUsage> {
    return this.collector.usage();
  }

  /** Runs the collector now (a run already queued or running comes first: one at a time). */
  collect(principal: Principal): Promise<api.Task> {
    return this.queue.queue(gcTask(principal.name, TASK_PRIORITY.person));
  }

  /** The scheduled run, queued in its firing's transaction by the scheduler. */
  scheduledCollect(): NewTask<'store.gc'> {
    return gcTask('scheduler', TASK_PRIORITY.scheduled);
  }
}

function gcTask(createdBy: string, priority: number): NewTask<'store.gc'> {
  return {
    type: 'store.gc',
    targetId: STORE_TARGET_ID,
    targetName: 'store',
    lockKey: 'store',
    params: {},
    createdBy,
    priority,
  };
}
