import type { PlatformPackage } from '../../../../shared/src/steps.js';
import type { PackageType } from '../../packages/package.entity.js';
import type { PackageRelease } from '../../packages/package-release.js';
import { registerWorkflow, type WorkflowRegistration } from '../../tasks/workflow.js';

/** What a platform verify changes in the registry. */
export interface PlatformWorkflowDependencies {
  platforms: {
    recordVerified(platformId: string, coreVersion: string | null): Promise<void>;
    recordFailed(platformId: string): Promise<void>;
  };
  packages: { replace(owner: { platformId: string }, releases: PackageRelease[]): Promise<void> };
}

/** platform.verify: a static scan on its server; the registry takes its packages and schema versions. */
export function platformWorkflows({
  platforms,
  packages,
}: PlatformWorkflowDependencies): WorkflowRegistration[] {
  return [
    registerWorkflow('platform.verify', 1, async (context) => {
      const { platform, serverId } = context.task.params;
      const platformId = context.task.targetId;
      let scan;
      try {
        scan = await context.phase('scan', () => context.step(serverId, 'platform.scan', { platform }));
      } catch (error) {
        await context.record('platforms.recordFailed', () => platforms.recordFailed(platformId));
        throw error;
      }
      // The scan lists core itself as the package "drupal" (as Aegir does), compared like any other.
      await context.record('packages.replace', () =>
        packages.replace({ platformId }, scan.packages.map(release)),
      );
      await context.record('platforms.recordVerified', () =>
        platforms.recordVerified(platformId, scan.coreVersion),
      );
      await context.log(`core ${scan.coreVersion ?? 'unknown'}, ${scan.packages.length} packages`);
      return { coreVersion: scan.coreVersion, packages: scan.packages.length };
    }),
  ];
}

const KNOWN_TYPES: readonly PackageType[] = ['core', 'module', 'theme', 'profile', 'theme_engine'];

function release(found: PlatformPackage): PackageRelease {
  return {
    name: found.name,
    type: (KNOWN_TYPES as readonly string[]).includes(found.type) ? found.type : 'module',
    version: found.version || null,
    schemaVersion: found.schemaVersion,
    lastRemovedSchema: found.lastRemovedSchema ?? 0,
    postUpdates: found.postUpdates ?? [],
    removedPostUpdates: found.removedPostUpdates ?? [],
    path: found.path,
  };
}
