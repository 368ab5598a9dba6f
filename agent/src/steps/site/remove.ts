import { rm, unlink } from 'node:fs/promises';
import { relative } from 'node:path';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { pathKind } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { domainValue } from './common.js';
import { linksTo } from './link.js';
import { removeSitePool } from '../php/pool-files.js';

/**
 * Removes the site directory, its config and HTTPS directories, and the platforms' links to it (they would
 * point nowhere). Both paths are built from a validated domain as direct children of
 * `<root>/sites` and `<root>/config/sites`, and checked again here before anything is deleted.
 */
export const siteRemove: StepHandler<'site.remove'> = {
  name: 'site.remove',
  parseParams: (input) =>
    parseWith(input, ['domain'], [], (params) => ({ domain: domainValue('domain', params.domain) })),
  async run({ domain }, context) {
    const layout = new HostLayout(context.host.root);
    const removed: string[] = [];
    for (const link of await linksTo(layout, domain)) {
      await unlink(link);
      removed.push(link);
    }
    // Its own PHP-FPM pool and user first: no pool is left serving a directory that is gone.
    if (await removeSitePool(context, domain, { reown: false })) removed.push(layout.phpPoolPath(domain));
    // Its HTTPS key and certificate too, unless a vhost still names them: nginx would refuse
    // every later change on this server while a vhost names a missing certificate.
    const vhostLeft = (await pathKind(layout.vhostPath(domain))) !== 'missing';
    if (vhostLeft) context.note(`${layout.vhostPath(domain)} is still there: its HTTPS files are kept`);
    for (const [parent, path] of [
      [layout.sitesDir, layout.siteDir(domain)],
      [layout.siteConfigsDir, layout.siteConfigDir(domain)],
      ...(vhostLeft
        ? []
        : ([
            [layout.tlsDir, layout.siteTlsDir(domain)],
            [layout.acmeDir, layout.siteAcmeRoot(domain)],
          ] as const)),
    ] as const) {
      if (relative(parent, path) !== domain) {
        throw new StepError({
          code: StepErrorCode.Refused,
          message: `${path} is not directly under ${parent}: not removed`,
          retryable: false,
        });
      }
      if ((await pathKind(path)) === 'missing') continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    }
    context.note(removed.length > 0 ? `removed ${removed.join(', ')}` : `nothing to remove for ${domain}`);
    return { removed };
  },
};
