import type { ServerRole } from '../../../../shared/src/server-roles.js';
import type { ServiceInfo } from '../../../../shared/src/steps.js';
import { registerWorkflow, type WorkflowRegistration } from '../../tasks/workflow.js';

/** What the server tasks change in the registry and the backup store. */
export interface ServerWorkflowDependencies {
  servers: {
    recordVerified(
      serverId: string,
      probe: { services: ServiceInfo[]; address: string; roles: ServerRole[] },
    ): Promise<void>;
  };
  archives: { remove(archiveId: string): Promise<void> };
}

/** The tasks that run on a server itself: verify, the transfer check, and the debug tasks. */
export function serverWorkflows({ servers, archives }: ServerWorkflowDependencies): WorkflowRegistration[] {
  return [
    registerWorkflow('server.verify', 1, async (context) => {
      const serverId = context.task.targetId;
      const probe = await context.phase('probe', () =>
        context.step(serverId, 'server.probe', {}, { timeoutMs: 60_000 }),
      );
      await context.record('servers.recordVerified', () =>
        servers.recordVerified(serverId, {
          services: probe.services,
          address: probe.address,
          roles: probe.roles,
        }),
      );
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
    }),

    registerWorkflow('server.transfer-check', 1, async (context) => {
      const { archiveId, bytes } = context.task.params;
      // The bytes only prove the link; they are not kept in the store either way.
      context.cleanup('remove the test archive', () =>
        context.record('archives.remove', () => archives.remove(archiveId)),
      );
      const output = await context.phase('transfer', () =>
        context.step(
          context.task.targetId,
          'link.transfer-check',
          { archiveId, bytes },
          { timeoutMs: 60 * 60_000 },
        ),
      );
      const megabytes = output.bytes / 1024 / 1024;
      await context.log(
        `${megabytes.toFixed(1)} MiB up in ${output.uploadMs} ms, down in ${output.downloadMs} ms; sha256 ${output.sha256} matched`,
      );
      return output;
    }),

    registerWorkflow('debug.sleep', 1, (context) =>
      context.step(
        context.task.targetId,
        'debug.sleep',
        { ms: context.task.params.ms },
        { timeoutMs: context.task.params.ms + 60_000 },
      ),
    ),

    registerWorkflow('debug.noop', 1, (context) => context.step(context.task.targetId, 'debug.noop', {})),
  ];
}
