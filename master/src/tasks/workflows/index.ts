import type { ServersRepository } from '../../servers/servers.repository.js';
import { platformVerifyWorkflow, type PlatformWorkflowDependencies } from './platform.workflows.js';
import { cloneWorkflow } from './clone.workflow.js';
import { migrateWorkflow } from './migrate.workflow.js';
import { platformUpgradeWorkflow, type PlatformUpgradeDependencies } from './platform-upgrade.workflow.js';
import { renameWorkflow } from './rename.workflow.js';
import { SiteSteps } from './site-steps.js';
import { siteWorkflows, type SiteWorkflowDependencies } from './site.workflows.js';
import type { Workflow, WorkflowRegistry } from '../workflow.js';

export interface WorkflowDependencies extends PlatformWorkflowDependencies, SiteWorkflowDependencies {
  platformUpgrade: PlatformUpgradeDependencies;
  servers: ServersRepository;
  archives: { remove(archiveId: string): Promise<void> };
}

/** Every task type's workflow. Each is plain code over its TaskContext (see workflow.ts). */
export function createWorkflows(dependencies: WorkflowDependencies): WorkflowRegistry {
  const { servers, archives } = dependencies;
  const serverVerify: Workflow = async (context) => {
    const serverId = context.task.targetId;
    const probe = await context.phase('probe', () =>
      context.step(serverId, 'server.probe', {}, { timeoutMs: 60_000 }),
    );
    await servers.recordVerified(serverId, probe.services);
    const found = probe.services.map((service) => `${service.name} ${service.version}`.trim()).join(', ');
    await context.log(
      `${probe.hostname} (${probe.os}), agent ${probe.agentVersion}: ${found || 'no services found'}`,
    );
    return {
      hostname: probe.hostname,
      os: probe.os,
      agentVersion: probe.agentVersion,
      services: probe.services,
    };
  };

  const transferCheck: Workflow = async (context) => {
    const { archiveId, bytes } = context.task.params as { archiveId: string; bytes: number };
    // The bytes only prove the link; they are not kept in the store either way.
    context.onRollback('remove the test archive', () => archives.remove(archiveId));
    const output = await context.phase('transfer', () =>
      context.step(
        context.task.targetId,
        'link.transfer-check',
        { archiveId, bytes },
        { timeoutMs: 60 * 60_000 },
      ),
    );
    await archives.remove(archiveId);
    const megabytes = output.bytes / 1024 / 1024;
    await context.log(
      `${megabytes.toFixed(1)} MiB up in ${output.uploadMs} ms, down in ${output.downloadMs} ms; sha256 ${output.sha256} matched`,
    );
    return output;
  };

  const debugSleep: Workflow = async (context) => {
    const { ms } = context.task.params as { ms: number };
    return context.step(context.task.targetId, 'debug.sleep', { ms }, { timeoutMs: ms + 60_000 });
  };

  const debugNoop: Workflow = async (context) => context.step(context.task.targetId, 'debug.noop', {});

  return {
    'server.verify': serverVerify,
    'server.transfer-check': transferCheck,
    'platform.verify': platformVerifyWorkflow(dependencies),
    ...siteWorkflows(dependencies),
    'platform.migrate-sites': platformUpgradeWorkflow(dependencies.platformUpgrade),
    'site.migrate': migrateWorkflow({
      steps: new SiteSteps(dependencies),
      targetPlatform: async (id) => {
        const platform = await dependencies.platforms.findByNameOrId(id);
        if (!platform) throw new Error(`the target platform ${id} is no longer in the registry`);
        return platform;
      },
      commit: async (context, where, target) => {
        // Packages first, the platform last: a replay after a restart still finds the site where it was.
        const moved = {
          ...where,
          platform: target,
          on: { domain: where.site.domain, platform: target.name },
        };
        const recorded = await new SiteSteps(dependencies).recordPackages(context, moved);
        await dependencies.sites.setPlatform(where.site.id, target.id);
        return recorded;
      },
    }),
    'site.clone': cloneWorkflow({
      steps: new SiteSteps(dependencies),
      sites: dependencies.sites,
      packages: dependencies.packages,
      archives,
    }),
    'site.rename': renameWorkflow({
      steps: new SiteSteps(dependencies),
      sites: dependencies.sites,
      archives,
    }),
    'debug.sleep': debugSleep,
    'debug.noop': debugNoop,
  };
}
