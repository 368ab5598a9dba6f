import { lstat, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { validateGitRef, validatePlatformSource } from '../../../../shared/src/platform-source.js';
import { must, validatePlatformName } from '../../../../shared/src/validation.js';
import { CodebaseTools } from '../../adapters/codebase.js';
import { ensureDir, pathKind } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { parseWith } from '../params.js';
import { requireDirectory } from '../site/common.js';
import type { StepContext, StepHandler } from '../step.js';

/** Commits listed by platform.commits at most. */
const COMMITS_MAX = 200;

/**
 * Builds a platform from its source (platform.build): cloned or created in a hidden directory beside
 * `<root>/platforms/<platform>`, `composer install --no-dev` when it has a composer.json, then renamed
 * into place. Nothing is ever built over an existing directory, and on any failure the build
 * directory is removed: a failed build leaves nothing behind.
 */
export const platformBuild: StepHandler<'platform.build'> = {
  name: 'platform.build',
  parseParams: (input) =>
    parseWith(input, ['platform', 'source'], [], (params) => ({
      platform: must(validatePlatformName('platform', params.platform)),
      source: must(validatePlatformSource('source', params.source)),
    })),
  async run({ platform, source }, context) {
    const layout = new HostLayout(context.host.root);
    const target = layout.platformDir(platform);
    await refuseExisting(target);
    await ensureDir(layout.platformsDir, 0o755);
    // 0711 as everywhere: the sites' own users pass through to their tmp/php/<user>/.
    await ensureDir(layout.tmpDir, 0o711);
    const tools = await openTools(context, layout);
    const building = await mkdtemp(join(layout.platformsDir, `.build-${platform}-`));
    // The clone and create-project make the directory themselves.
    const tree = join(building, 'tree');
    let placed = false;
    try {
      let commit: string | null = null;
      if (source.kind === 'git') {
        context.progress('clone', 0, 3, 'phases');
        commit = await tools.clone(source.url, source.ref, tree);
        context.note(`checked out ${source.ref} at ${commit}`);
        context.progress('composer', 1, 3, 'phases');
      } else {
        context.progress('composer', 0, 3, 'phases');
        await tools.createProject(source, tree);
      }
      const composer = source.kind === 'composer-project' || (await tools.composerInstall(tree));
      context.progress('place', 2, 3, 'phases');
      await refuseExisting(target);
      await rename(tree, target);
      placed = true;
      context.progress('place', 3, 3, 'phases');
      context.note(
        `built platform ${platform} in ${target}${composer ? ' (composer install --no-dev)' : ''}`,
      );
      return { path: target, commit, composer };
    } finally {
      await rm(building, { recursive: true, force: true });
      await tools.close();
      if (!placed) context.note(`the build of ${platform} left nothing behind`);
    }
  },
};

/**
 * Moves a git platform's checkout to another ref in place (platform.pull): fetched from its origin,
 * checked out, `composer install` again. Refused while a site is linked into the platform: code
 * must not change under a site (leap-frog instead: a new platform, then migrate the sites).
 */
export const platformPull: StepHandler<'platform.pull'> = {
  name: 'platform.pull',
  parseParams: (input) =>
    parseWith(input, ['platform', 'ref'], [], (params) => ({
      platform: must(validatePlatformName('platform', params.platform)),
      ref: must(validateGitRef('ref', params.ref)),
    })),
  async run({ platform, ref }, context) {
    const layout = new HostLayout(context.host.root);
    const dir = await gitPlatform(layout, platform);
    await refuseLinkedSites(dir, platform, 'change its code');
    const tools = await openTools(context, layout);
    try {
      const previous = await tools.head(dir);
      const commit = await tools.pull(dir, ref);
      const composer = await tools.composerInstall(dir);
      context.note(`platform ${platform}: ${previous} -> ${commit} (${ref})`);
      return { commit, previous, composer };
    } finally {
      await tools.close();
    }
  },
};

/** The commits of a git platform's checkout between two (what a leap-frog brings), newest first. */
export const platformCommits: StepHandler<'platform.commits'> = {
  name: 'platform.commits',
  parseParams: (input) =>
    parseWith(input, ['platform', 'from', 'to'], [], (params) => ({
      platform: must(validatePlatformName('platform', params.platform)),
      from: must(validateGitRef('from', params.from)),
      to: must(validateGitRef('to', params.to)),
    })),
  async run({ platform, from, to }, context) {
    const layout = new HostLayout(context.host.root);
    const dir = await gitPlatform(layout, platform);
    const tools = await openTools(context, layout);
    try {
      const commits = await tools.commitsBetween(dir, from, to, COMMITS_MAX + 1);
      return { commits: commits.slice(0, COMMITS_MAX), truncated: commits.length > COMMITS_MAX };
    } finally {
      await tools.close();
    }
  },
};

/** Removes a platform's codebase (a failed or retired build); refused while a site is linked into it. */
export const platformRemove: StepHandler<'platform.remove'> = {
  name: 'platform.remove',
  parseParams: (input) =>
    parseWith(input, ['platform'], ['leftLinks'], (params) => ({
      platform: must(validatePlatformName('platform', params.platform)),
      ...(params.leftLinks === true ? { leftLinks: true } : {}),
    })),
  async run({ platform, leftLinks }, context) {
    const dir = new HostLayout(context.host.root).platformDir(platform);
    const kind = await pathKind(dir);
    if (kind === 'missing') return { removed: false };
    if (kind !== 'directory') {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `${dir} is not a directory: it was not made by a build`,
        retryable: false,
      });
    }
    if (!leftLinks) await refuseLinkedSites(dir, platform, 'be removed');
    await rm(dir, { recursive: true, force: true });
    context.note(`removed platform ${platform} from ${dir}`);
    return { removed: true };
  },
};

function openTools(context: StepContext, layout: HostLayout): Promise<CodebaseTools> {
  const deployKey = context.secrets.deployKey;
  return CodebaseTools.open(context, {
    tmpDir: layout.tmpDir,
    knownHosts: join(layout.root, 'config', 'known_hosts'),
    ...(deployKey ? { deployKey } : {}),
  });
}

async function refuseExisting(target: string): Promise<void> {
  if ((await pathKind(target)) !== 'missing') {
    throw new StepError({
      code: StepErrorCode.Refused,
      message: `${target} exists already: a platform is built only where there is none (pick another name)`,
      retryable: false,
    });
  }
}

/** A platform directory that is a git checkout. */
async function gitPlatform(layout: HostLayout, platform: string): Promise<string> {
  const dir = layout.platformDir(platform);
  await requireDirectory(dir, 'the platform');
  if ((await pathKind(join(dir, '.git'))) !== 'directory') {
    throw new StepError({
      code: StepErrorCode.Refused,
      message: `platform ${platform} is not a git checkout (${dir} has no .git): it was not built from a repository`,
      retryable: false,
    });
  }
  return dir;
}

/** The sites linked into a platform (`web/sites/<domain>` links, as site.link makes them). */
async function refuseLinkedSites(dir: string, platform: string, what: string): Promise<void> {
  const sitesDir = join(dir, 'web', 'sites');
  const names = await readdir(sitesDir).catch(() => [] as string[]);
  const linked: string[] = [];
  for (const name of names) {
    if ((await lstat(join(sitesDir, name))).isSymbolicLink()) linked.push(name);
  }
  if (linked.length > 0) {
    throw new StepError({
      code: StepErrorCode.Refused,
      message: `platform ${platform} has sites linked into it (${linked.slice(0, 5).join(', ')}): it cannot ${what}`,
      retryable: false,
    });
  }
}
