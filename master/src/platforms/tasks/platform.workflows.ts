import { describeSource } from '../../../../shared/src/platform-source.js';
import type { PlatformPackage, StepOutput } from '../../../../shared/src/steps.js';
import type {
  PlatformBuilt,
  PlatformDiff,
  PlatformPlacement,
  TaskParams,
  TaskResult,
  TaskType,
} from '../../../../shared/src/tasks.js';
import type { PackageType } from '../../packages/package.entity.js';
import type { PackageRelease, PackageRow } from '../../packages/package-release.js';
import {
  registerWorkflow,
  TaskRefusedError,
  type TaskContext,
  type WorkflowRegistration,
} from '../../tasks/workflow.js';

/** What the platform tasks change in the registry and the store. */
export interface PlatformWorkflowDependencies {
  platforms: {
    recordVerified(platformId: string, coreVersion: string | null): Promise<void>;
    /** `evenIfVerified`: the code itself is wrong (the heads of its cluster differ). */
    recordFailed(platformId: string, evenIfVerified?: boolean): Promise<void>;
    /** A build or pull put its codebase in place: where, at which commit. */
    recordBuilt(platformId: string, built: { path: string; commit: string | null }): Promise<void>;
    /** A build undone: the platform's row and packages go (nothing of it is left anywhere). */
    remove(platformId: string): Promise<void>;
    commitOf(platformId: string): Promise<string | null>;
    pathOf(platformId: string): Promise<string | null>;
  };
  packages: {
    replace(owner: { platformId: string }, releases: PackageRelease[]): Promise<void>;
    list(owner: { platformId: string }): Promise<PackageRow[]>;
  };
  archives: {
    reserve(serverId: string, purpose: string): Promise<string>;
    remove(archiveId: string): Promise<void>;
  };
}

/**
 * The platform tasks: verify (a static scan into packages and schema versions), build (from a git
 * repository or a Composer project), pull (a platform without sites to another ref) and diff.
 */
export function platformWorkflows(deps: PlatformWorkflowDependencies): WorkflowRegistration[] {
  const { platforms } = deps;
  return [
    registerWorkflow('platform.verify', 1, async (context) => {
      const platformId = context.task.targetId;
      let scanned;
      try {
        scanned = await context.phase('scan', () => scanPlatform(context, context.task.params));
      } catch (error) {
        const diverged = error instanceof HeadsDiffer;
        await context.record('platforms.recordFailed', () => platforms.recordFailed(platformId, diverged));
        throw error;
      }
      return recordScan(context, deps, platformId, scanned);
    }),
    registerWorkflow('platform.build', 1, async (context) =>
      buildPlatform(context, deps, context.task.targetId, context.task.params),
    ),
    registerWorkflow('platform.pull', 1, async (context) => pullPlatform(context, deps)),
    registerWorkflow('platform.diff', 1, async (context) => diffPlatforms(context, deps)),
  ];
}

/**
 * Builds a platform (platform.build, and the new platform of a leap-frog): the agent of its server
 * builds it from its source; the other heads of its cluster get a copy of that build through the
 * store (so every head holds the same code, file for file); then it is scanned like a verify. On
 * any failure the codebase is removed from every server and the platform from the registry.
 */
export async function buildPlatform(
  context: TaskContext<'platform.build' | 'platform.update'>,
  deps: PlatformWorkflowDependencies,
  platformId: string,
  build: TaskParams<'platform.build'>,
): Promise<PlatformBuilt> {
  const { platform, serverId } = build;
  const others = (build.heads ?? []).filter((head) => head.serverId !== serverId);
  context.onRollback('remove what was built', async () => {
    for (const server of [serverId, ...others.map((head) => head.serverId)])
      await context.step(server, 'platform.remove', { platform });
    await context.record('platforms.remove', () => deps.platforms.remove(platformId));
  });
  const copyOf = build.copyOf;
  const built = copyOf
    ? await context.phase('copy', async () => {
        await context.log(`copying ${copyOf.platform} to ${platform}`);
        const copied = await copyPlatformFrom(context, deps, copyOf, serverId, platform);
        return { path: copied.path, commit: copyOf.commit, composer: false };
      })
    : await context.phase('build', async () => {
        await context.log(`building ${platform} from ${describeSource(build.source)}`);
        return context.step(
          serverId,
          'platform.build',
          { platform, source: build.source },
          { timeoutMs: BUILD_TIMEOUT_MS },
        );
      });
  if (others.length > 0) {
    await context.phase('copy to the heads', async () => {
      for (const head of others) await copyPlatform(context, deps, platform, serverId, head);
    });
  }
  await context.record('platforms.recordBuilt', () =>
    deps.platforms.recordBuilt(platformId, { path: built.path, commit: built.commit }),
  );
  const scanned = await context.phase('scan', () => scanPlatform(context, build));
  const recorded = await recordScan(context, deps, platformId, scanned);
  return { path: built.path, commit: built.commit, composer: built.composer, ...recorded };
}

/** platform.pull: a platform without sites to another ref in place; back to its commit on failure. */
async function pullPlatform(
  context: TaskContext<'platform.pull'>,
  deps: PlatformWorkflowDependencies,
): Promise<TaskResult<'platform.pull'>> {
  const params = context.task.params;
  const platformId = context.task.targetId;
  if (params.heads && params.heads.length > 1) {
    throw new TaskRefusedError(
      `${params.platform} is on a cluster: build the new code as a new platform instead (berth platform update)`,
    );
  }
  const before = await context.record('platform.commit', () => deps.platforms.commitOf(platformId));
  if (before) {
    context.onRollback(`back to ${before}`, async () => {
      await context.step(params.serverId, 'platform.pull', { platform: params.platform, ref: before });
    });
  }
  const pulled = await context.phase('pull', () =>
    context.step(
      params.serverId,
      'platform.pull',
      { platform: params.platform, ref: params.ref },
      {
        timeoutMs: BUILD_TIMEOUT_MS,
      },
    ),
  );
  const path = await context.record('platform.path', () => deps.platforms.pathOf(platformId));
  await context.record('platforms.recordBuilt', () =>
    deps.platforms.recordBuilt(platformId, { path: path ?? '', commit: pulled.commit }),
  );
  const scanned = await context.phase('scan', () => scanPlatform(context, params));
  const recorded = await recordScan(context, deps, platformId, scanned);
  return {
    path: path ?? '',
    commit: pulled.commit,
    composer: pulled.composer,
    previous: pulled.previous,
    ...recorded,
  };
}

/** platform.diff: the packages that differ (from the registry) and the commits between. */
async function diffPlatforms(
  context: TaskContext<'platform.diff'>,
  deps: PlatformWorkflowDependencies,
): Promise<PlatformDiff> {
  const { to, commits } = context.task.params;
  const listed = await context.record('packages.list', async () => ({
    mine: await deps.packages.list({ platformId: context.task.targetId }),
    theirs: await deps.packages.list({ platformId: to.id }),
  }));
  const between = commits
    ? await context.step(commits.serverId, 'platform.commits', {
        platform: commits.platform,
        from: commits.from,
        to: commits.to,
      })
    : null;
  return {
    from: context.task.targetName,
    to: to.name,
    packages: packageChanges(listed.mine, listed.theirs),
    commits: between ? { list: between.commits, truncated: between.truncated } : null,
  };
}

/** The packages whose version or schema version differ between two platforms, by name. */
export function packageChanges(
  from: ReadonlyArray<Pick<PackageRow, 'name' | 'version' | 'schemaVersion'>>,
  to: ReadonlyArray<Pick<PackageRow, 'name' | 'version' | 'schemaVersion'>>,
): PlatformDiff['packages'] {
  const before = new Map(from.map((row) => [row.name, row]));
  const after = new Map(to.map((row) => [row.name, row]));
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const shown = (row: Pick<PackageRow, 'version' | 'schemaVersion'> | undefined) =>
    row ? { version: row.version, schema: row.schemaVersion } : null;
  return names
    .filter((name) => {
      const a = before.get(name);
      const b = after.get(name);
      return !a || !b || a.version !== b.version || a.schemaVersion !== b.schemaVersion;
    })
    .map((name) => ({ name, from: shown(before.get(name)), to: shown(after.get(name)) }));
}

/**
 * Another server's platform copied under a new name (build --from-platform), through the store
 * (removed from it after): the same checks on every entry as a backup's.
 */
async function copyPlatformFrom(
  context: TaskContext<'platform.build' | 'platform.update'>,
  deps: PlatformWorkflowDependencies,
  from: { serverId: string; platform: string },
  serverId: string,
  platform: string,
): Promise<StepOutput<'platform.extract'>> {
  const archiveId = await context.record('archives.reserve', () =>
    deps.archives.reserve(from.serverId, 'transfer'),
  );
  context.cleanup('remove the copy from the store', () =>
    context.record('archives.remove', () => deps.archives.remove(archiveId)),
  );
  await context.step(from.serverId, 'platform.archive', { platform: from.platform, archiveId });
  return context.step(serverId, 'platform.extract', { platform, archiveId, from: from.platform });
}

/** A build's copy for another head of its cluster, through the store (removed from it after). */
async function copyPlatform(
  context: TaskContext<'platform.build' | 'platform.update'>,
  deps: PlatformWorkflowDependencies,
  platform: string,
  from: string,
  head: { serverId: string; name: string },
): Promise<void> {
  await context.scope(`copy to ${head.name}`, async () => {
    const archiveId = await context.record('archives.reserve', () => deps.archives.reserve(from, 'transfer'));
    context.cleanup('remove the copy from the store', () =>
      context.record('archives.remove', () => deps.archives.remove(archiveId)),
    );
    await context.step(from, 'platform.archive', { platform, archiveId });
    await context.step(head.serverId, 'platform.extract', { platform, archiveId });
  });
  await context.log(`copied ${platform} to ${head.name}`);
}

/** A scan recorded: the platform's packages, then verified with its core version. */
async function recordScan(
  context: TaskContext<'platform.verify' | 'platform.build' | 'platform.pull' | 'platform.update'>,
  deps: PlatformWorkflowDependencies,
  platformId: string,
  scan: Scan,
): Promise<{ coreVersion: string | null; packages: number; sha256?: string }> {
  // The scan lists core itself as the package "drupal" (as Aegir does), compared like any other.
  await context.record('packages.replace', () =>
    deps.packages.replace({ platformId }, scan.packages.map(release)),
  );
  await context.record('platforms.recordVerified', () =>
    deps.platforms.recordVerified(platformId, scan.coreVersion),
  );
  await context.log(`core ${scan.coreVersion ?? 'unknown'}, ${scan.packages.length} packages`);
  return {
    coreVersion: scan.coreVersion,
    packages: scan.packages.length,
    ...(scan.content ? { sha256: scan.content.sha256 } : {}),
  };
}

/** A platform scanned on its server, or on every head of its cluster (which must hash the same). */
function scanPlatform(context: TaskContext<TaskType>, place: PlatformPlacement): Promise<Scan> {
  return place.heads
    ? scanHeads(context, place.platform, place.heads)
    : context.step(place.serverId, 'platform.scan', { platform: place.platform });
}

type Scan = StepOutput<'platform.scan'>;

/** A build or a pull may take a while on a large codebase (the agent stops its own after an hour). */
const BUILD_TIMEOUT_MS = 3600_000 + 60_000;

/** The heads of a cluster hold different code under one platform's name. */
class HeadsDiffer extends TaskRefusedError {}

/**
 * A platform on a cluster, scanned on every head (one after the other): their codebases must hash
 * the same, file for file, or the platform is refused with each head's hash named.
 */
async function scanHeads(
  context: TaskContext<TaskType>,
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
