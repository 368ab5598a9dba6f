import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { validateCommitId, validateGitRef, validateGitUrl } from '../../../../shared/src/platform-source.js';
import { must } from '../../../../shared/src/validation.js';
import { CodebaseTools } from '../../adapters/codebase.js';
import { ensureDir, pathKind } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { parseWith } from '../params.js';
import type { StepContext, StepHandler } from '../step.js';
import { domainValue, requireDirectory } from './common.js';

/**
 * What a site repository must never track: what Berth writes in the site directory (settings.php)
 * and what Drupal writes there (files/, private/: uploads, private files, the default sync
 * directory). A checkout would overwrite them, and a deploy's rollback would lose uploads.
 */
const FORBIDDEN_TOP = ['settings.php', 'files', 'private'];

/** Written to .git/info/exclude: git status of a site directory shows only its code. */
const EXCLUDE = FORBIDDEN_TOP.map((name) => `/${name}${name.includes('.') ? '' : '/'}`).join('\n') + '\n';

/**
 * Fetches a site's own repository in its directory (site.code-fetch): made a repository of `url`
 * first when it is none yet (install --repo); the ref resolved to a commit whose tree is checked
 * before anything is checked out. The working tree is untouched, so it runs while the site serves.
 */
export const siteCodeFetch: StepHandler<'site.code-fetch'> = {
  name: 'site.code-fetch',
  parseParams: (input) =>
    parseWith(input, ['domain', 'ref'], ['url'], (params) => ({
      domain: domainValue('domain', params.domain),
      ref: must(validateGitRef('ref', params.ref)),
      ...(params.url !== undefined ? { url: must(validateGitUrl('url', params.url)) } : {}),
    })),
  async run({ domain, ref, url }, context) {
    const layout = new HostLayout(context.host.root);
    const dir = layout.siteDir(domain);
    await requireDirectory(dir, 'the site directory');
    const tools = await openTools(context, layout);
    try {
      const isRepository = (await pathKind(join(dir, '.git'))) === 'directory';
      if (!isRepository) {
        if (!url) {
          throw new StepError({
            code: StepErrorCode.Refused,
            message: `${domain} has no repository of its own (${dir} has no .git): install it with --repo`,
            retryable: false,
          });
        }
        await tools.initRepository(dir, url);
        await writeFile(join(dir, '.git', 'info', 'exclude'), EXCLUDE);
      }
      const current = await tools.headOrNull(dir);
      const commit = await tools.fetch(dir, ref);
      refuseForbidden(await tools.trackedPaths(dir, commit), commit);
      context.note(`${domain}: ${ref} is ${commit}${current ? ` (checked out: ${current})` : ''}`);
      return { commit, current };
    } finally {
      await tools.close();
    }
  },
};

/** What a new site's repository starts with: the places of its own code, and what never goes in it. */
function siteRepositoryLayout(domain: string): Record<string, string> {
  return {
    'README.md': [
      `# ${domain}`,
      '',
      "This site's own code, outside every platform: its modules in `modules/`, its themes in `themes/`,",
      'its configuration in `config/sync/` (`drush config:export`). Never settings.php, files/ or',
      'private/: Berth and Drupal write those, and a deploy refuses a commit that holds them.',
      '',
      `Deploy a branch, tag or commit with: berth site deploy ${domain} --ref REF`,
      '',
    ].join('\n'),
    'modules/.gitkeep': '',
    'themes/.gitkeep': '',
  };
}

/**
 * Makes a new site's repository on this server (site.code-init): `<root>/repositories/<domain>.git`
 * with the layout on main; one already there (a site of that name before) is used as it is.
 */
export const siteCodeInit: StepHandler<'site.code-init'> = {
  name: 'site.code-init',
  parseParams: (input) =>
    parseWith(input, ['domain'], [], (params) => ({ domain: domainValue('domain', params.domain) })),
  async run({ domain }, context) {
    const layout = new HostLayout(context.host.root);
    const dir = layout.siteRepository(domain);
    if ((await pathKind(dir)) === 'directory') {
      context.note(`${dir} exists: the site's repository is the one there`);
      return { url: dir, created: false };
    }
    await ensureDir(layout.repositoriesDir, 0o700);
    const tools = await openTools(context, layout);
    try {
      await tools.createRepository(dir, siteRepositoryLayout(domain), `Site repository of ${domain}`);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    } finally {
      await tools.close();
    }
    context.note(`made ${dir} (main: modules/, themes/, README.md)`);
    return { url: dir, created: true };
  },
};

/** Moves a site directory's code to a fetched commit (site.code-checkout); settings and files stay. */
export const siteCodeCheckout: StepHandler<'site.code-checkout'> = {
  name: 'site.code-checkout',
  parseParams: (input) =>
    parseWith(input, ['domain', 'commit'], [], (params) => ({
      domain: domainValue('domain', params.domain),
      commit: must(validateCommitId('commit', params.commit)),
    })),
  async run({ domain, commit }, context) {
    const layout = new HostLayout(context.host.root);
    const dir = layout.siteDir(domain);
    await requireDirectory(join(dir, '.git'), `the repository of ${domain}`);
    const tools = await openTools(context, layout);
    try {
      // Checked again here: a commit reaches this step from a fetch, a backup or a rollback.
      refuseForbidden(await tools.trackedPaths(dir, commit), commit);
      const previous = await tools.headOrNull(dir);
      await tools.checkout(dir, commit);
      context.note(`${domain}: code at ${commit}${previous ? ` (was ${previous})` : ''}`);
      return { commit, previous };
    } finally {
      await tools.close();
    }
  },
};

function refuseForbidden(paths: readonly string[], commit: string): void {
  const tracked = paths.filter((path) =>
    FORBIDDEN_TOP.some((name) => path === name || path.startsWith(`${name}/`)),
  );
  if (tracked.length === 0) return;
  throw new StepError({
    code: StepErrorCode.Refused,
    message:
      `commit ${commit} tracks ${tracked.slice(0, 3).join(', ')}${tracked.length > 3 ? ' ...' : ''}: a site ` +
      `repository must not hold settings.php, files/ or private/ (Berth and Drupal write them; remove them from the repository)`,
    retryable: false,
  });
}

async function openTools(context: StepContext, layout: HostLayout): Promise<CodebaseTools> {
  // 0711 as everywhere: the sites' own users pass through to their tmp/php/<user>/.
  await ensureDir(layout.tmpDir, 0o711);
  // Sent with site.code-fetch only, when the site's repository has a key.
  const deployKey = context.secrets.deployKey;
  return CodebaseTools.open(context, {
    tmpDir: layout.tmpDir,
    knownHosts: join(layout.root, 'config', 'known_hosts'),
    ...(deployKey ? { deployKey } : {}),
  });
}
