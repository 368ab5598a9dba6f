import type { PackageType } from '../../packages/package.entity.js';
import type { PackageRelease, PackagesRepository } from '../../packages/packages.repository.js';
import type { PlatformsRepository } from '../../platforms/platforms.repository.js';
import type { Workflow } from '../workflow.js';

export interface PlatformWorkflowDependencies {
  platforms: PlatformsRepository;
  packages: PackagesRepository;
}

/** platform.verify: a static scan on its server; the registry takes its packages and schema versions. */
export function platformVerifyWorkflow({ platforms, packages }: PlatformWorkflowDependencies): Workflow {
  return async (context) => {
    const { platform, serverId } = context.task.params as { platform: string; serverId: string };
    let scan;
    try {
      scan = await context.phase('scan', () => context.step(serverId, 'platform.scan', { platform }));
    } catch (error) {
      await platforms.recordFailed(context.task.targetId);
      throw error;
    }
    // The scan lists core itself as the package "drupal" (as Aegir does), compared like any other.
    const releases: PackageRelease[] = scan.packages.map((found) => ({
      name: found.name,
      type: packageType(found.type),
      version: found.version || null,
      schemaVersion: found.schemaVersion,
      path: found.path,
    }));
    await packages.replace({ platformId: context.task.targetId }, releases);
    await platforms.recordVerified(context.task.targetId, scan.coreVersion);
    await context.log(`core ${scan.coreVersion ?? 'unknown'}, ${scan.packages.length} packages`);
    return { coreVersion: scan.coreVersion, packages: scan.packages.length };
  };
}

const KNOWN_TYPES: readonly PackageType[] = ['core', 'module', 'theme', 'profile', 'theme_engine'];

function packageType(type: string): PackageType {
  return (KNOWN_TYPES as readonly string[]).includes(type) ? (type as PackageType) : 'module';
}
