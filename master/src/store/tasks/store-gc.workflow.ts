import type { StoreGcReport } from '../../../../shared/src/tasks.js';
import { registerWorkflow, type WorkflowRegistration } from '../../tasks/workflow.js';
import type { CollectionPlan } from '../store-collector.js';

/** What the collector's task may do: plan (read only), then carry the plan out. */
export interface StoreWorkflowDependencies {
  collector: {
    plan(now?: Date): Promise<CollectionPlan>;
    collect(plan: CollectionPlan): Promise<StoreGcReport>;
  };
}

/**
 * store.gc: the plan is recorded before anything is removed, so a master restarted half-way carries
 * the same plan out (removing twice is a no-op) instead of deciding again on a half-collected store.
 */
export function storeWorkflows({ collector }: StoreWorkflowDependencies): WorkflowRegistration[] {
  return [
    registerWorkflow('store.gc', 1, async (context) => {
      const plan = await context.record('store.plan', () => collector.plan());
      await context.log(
        `to remove: ${plan.expired.length} backups past retention, ${plan.unreferenced.length} archives nothing ` +
          `names, ${plan.broken.length} backups whose archive is gone, ${plan.strayFiles.length} stray files`,
      );
      const report = await context.record('store.collect', () => collector.collect(plan));
      for (const broken of report.brokenBackups) {
        await context.log(
          `backup ${broken.backupId} of ${broken.domain} lost archive ${broken.archiveId}: its record was removed`,
        );
      }
      for (const kept of report.offsiteOnly ?? []) {
        await context.log(
          `backup ${kept.backupId} of ${kept.domain} lost archive ${kept.archiveId} from the store; kept: ` +
            'it is copied off-site, and a restore or a restore test puts it back',
        );
      }
      await context.log(`freed ${report.bytesFreed} bytes`);
      return report;
    }),
  ];
}
