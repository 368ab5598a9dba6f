import { mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { pathKind } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { siteOwners } from '../../adapters/site-pool.js';
import { SITE_EXCLUDED } from '../../adapters/site-archive.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { domainValue, requireDirectory } from './common.js';
import { ownSiteDirectory } from './ownership.js';

/**
 * A site's directory copied into a new site's on this server (a migrate's rehearsal copy beside the
 * live site), nothing through the network or the master's store: `cp -a --reflink=auto` into a new
 * directory beside the target (symlinks as symlinks, modes, times and owners kept, a reflink where
 * the filesystem can), without what a site archive leaves out (settings.php: the copy gets its
 * own; sockets, FIFOs and devices; setuid and setgid bits), then renamed into place. The copy's
 * files/ and private/ are then its own site's (its pool's user, or the web user while it has no
 * pool: a clone runs in the shared pool until php.write-pool gives it one). The target must not
 * exist; a copy that fails is removed.
 */
export const siteCopy: StepHandler<'site.copy'> = {
  name: 'site.copy',
  parseParams: (input) =>
    parseWith(input, ['domain', 'targetDomain'], [], (params) => ({
      domain: domainValue('domain', params.domain),
      targetDomain: domainValue('targetDomain', params.targetDomain),
    })),
  async run({ domain, targetDomain }, context) {
    const layout = new HostLayout(context.host.root);
    const source = layout.siteDir(domain);
    const target = layout.siteDir(targetDomain);
    await requireDirectory(source, 'the site directory');
    const targetKind = await pathKind(target);
    if (targetKind !== 'missing') {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `${target} exists (a ${targetKind}): a copy goes into a new site directory only`,
        retryable: false,
      });
    }
    context.note(`copying ${source} to ${target}`);
    const temp = await mkdtemp(join(layout.sitesDir, `.copy-${targetDomain}-`));
    try {
      // `source/.`: the directory's content into temp, hidden entries included.
      await context.exec({ file: 'cp', args: ['-a', '--reflink=auto', '--', `${source}/.`, temp] });
      for (const excluded of SITE_EXCLUDED) await rm(join(temp, excluded), { recursive: true, force: true });
      // As a restore of an archive would have it: no special file, no setuid or setgid bit (one walk).
      const special = ['-type', 'p', '-o', '-type', 's', '-o', '-type', 'b', '-o', '-type', 'c'];
      await context.exec({
        file: 'find',
        args: [
          temp,
          '(',
          ...special,
          ')',
          '-delete',
          '-o',
          '-perm',
          '/6000',
          '-exec',
          'chmod',
          'ug-s',
          '{}',
          '+',
        ],
      });
      // The copy's owners are its own site's (its pool, else the web user), not the source's.
      await ownSiteDirectory(temp, await siteOwners(context.host, targetDomain));
      const { stdout } = await context.exec({
        file: 'du',
        args: ['--summarize', '--bytes', '--', temp],
        captureStdoutBytes: 4096,
      });
      const bytes = Number(stdout.split('\t')[0]) || 0;
      await rename(temp, target);
      context.note(`copied ${source} to ${target}: ${bytes} bytes`);
      return { bytes };
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  },
};
