import { registerWorkflow, TaskRefusedError, type WorkflowRegistration } from '../../tasks/workflow.js';

/** What a cluster verify changes in the registry. */
export interface ClusterWorkflowDependencies {
  clusters: { recordSitesShared(clusterId: string, shared: boolean): Promise<void> };
}

/**
 * cluster.verify: do the heads share one site directory (an NFS or GlusterFS mount at each one's
 * `<root>/sites`)? A marker written through the first head must be read, token and all, through
 * every other; it is removed whatever happens. A file uploaded through one head is then served by
 * all of them.
 */
export function clusterWorkflows({ clusters }: ClusterWorkflowDependencies): WorkflowRegistration[] {
  return [
    registerWorkflow('cluster.verify', 1, async (context) => {
      const { heads, marker, token } = context.task.params;
      const clusterId = context.task.targetId;
      const [first, ...others] = heads;
      if (!first) throw new TaskRefusedError(`${context.task.targetName} has no heads`);
      const seen = await context.scope('sites directory', async () => {
        context.cleanup('remove the marker', async () => {
          await context.step(first.serverId, 'sites.marker', { action: 'remove', name: marker });
        });
        const written = await context.step(first.serverId, 'sites.marker', {
          action: 'write',
          name: marker,
          token,
        });
        const dirs: Record<string, string> = { [first.name]: written.dir };
        const missing: string[] = [];
        for (const head of others) {
          const read = await context.step(head.serverId, 'sites.marker', { action: 'read', name: marker });
          dirs[head.name] = read.dir;
          if (read.token !== token) missing.push(`${head.name} (${read.dir})`);
        }
        return { dirs, missing };
      });
      await context.record('clusters.recordSitesShared', () =>
        clusters.recordSitesShared(clusterId, seen.missing.length === 0),
      );
      if (seen.missing.length > 0) {
        throw new TaskRefusedError(
          `the heads do not share one site directory: ${first.name} wrote a marker in ${seen.dirs[first.name]}, ` +
            `which ${seen.missing.join(', ')} does not see; mount the same directory at each head's sites ` +
            'directory and verify again',
        );
      }
      await context.log(`${heads.map((head) => head.name).join(', ')} share one site directory`);
      return { heads: heads.map((head) => head.name), sitesDir: seen.dirs };
    }),
  ];
}
