import type { PlatformPackage, StepOutput } from '../../../../shared/src/steps.js';
import type { PackageType } from '../../packages/package.entity.js';
import type { PackageRelease } from '../../packages/package-release.js';
import {
  registerWorkflow,
  TaskRefusedError,
  type TaskContext,
  type WorkflowRegistration,
} from '../../tasks/workflow.js';

/** What a platform verify changes in the registry. */
export interface PlatformWorkflowDependencies {
  platforms: {
    recordVerified(platformId: string, coreVersion: string | null): Promise<void>;
    /** `evenIfVerified`: the code itself is wrong (the heads of its cluster differ). */
    recordFailed(platformId: string, evenIfVerified?: boolean): Promise<void>;
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
      const { platform, serverId, heads } = context.task.params;
      const platformId = context.task.targetId;
      let scan;
      try {
        scan = await context.phase('scan', () =>
          heads ? scanHeads(context, platform, heads) : context.step(serverId, 'platform.scan', { platform }),
        );
      } catch (error) {
        const diverged = error instanceof HeadsDiffer;
        await context.record('platforms.recordFailed', () => platforms.recordFailed(platformId, diverged));
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
      return {
        coreVersion: scan.coreVersion,
        packages: scan.packages.length,
        ...(scan.content ? { sha256: scan.content.sha256 } : {}),
      };
    }),
  ];
}

type Scan = StepOutput<'platform.scan'>;

/** The heads of a cluster hold different code under one platform's name. */
class HeadsDiffer extends TaskRefusedError {}

/**
 * A platform on a cluster, scanned on every head (one after the other): their codebases must hash
 * the same, file for file, or the platform is refused with each head's hash named.
 */
async function scanHeads(
  context: TaskContext<'platform.verify'>,
  platform: string,
  heads: ReadonlyArray<{ serverId: string; name: string }>,
): Promise<Scan> {
  const scans: Array<{ name: string; scan: Scan }> = [];
  for (const head of heads) {
    scans.push({ name: head.name, scan: await context.step(head.serverId, 'platform.scan', { platform }) });
  }
  const hashes = new Set(scans.map(({ scan }) => scan.content?.sha256 ?? 'unknown'));
  if (hashes.size > 1 || hashes.has('unknown')) {
    const each = scans
      .map(({ name, scan }) =>
        scan.content
          ? `${name} ${scan.content.sha256.slice(0, 12)} (${scan.content.files} files, ${scan.content.bytes} bytes)`
          : `${name} unknown (an agent too old to hash it)`,
      )
      .join('; ');
    throw new HeadsDiffer(
      `the heads' codebases of ${platform} differ: ${each}; make them the same and verify again`,
    );
  }
  await context.log(
    `the same codebase on ${heads.map((head) => head.name).join(', ')}: sha256 ${[...hashes][0]}`,
  );
  return scans[0]!.scan;
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
