import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { pathKind } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { domainValue } from './common.js';
import { linksTo } from './link.js';

/**
 * Refuses (REFUSED) when this server already has something of the site: its directory, its config
 * directory, its vhost, or a platform's link to it. What a site moving here must not land on
 * (the move would replace it, and its rollback remove it). Changes nothing.
 */
export const siteAbsent: StepHandler<'site.absent'> = {
  name: 'site.absent',
  parseParams: (input) =>
    parseWith(input, ['domain'], [], (params) => ({ domain: domainValue('domain', params.domain) })),
  async run({ domain }, context) {
    const layout = new HostLayout(context.host.root);
    const found: string[] = [];
    for (const path of [layout.siteDir(domain), layout.siteConfigDir(domain), layout.vhostPath(domain)]) {
      if ((await pathKind(path)) !== 'missing') found.push(path);
    }
    found.push(...(await linksTo(layout, domain)));
    if (found.length > 0) {
      throw new StepError({
        code: StepErrorCode.Refused,
        message:
          `this server already has ${domain}: ${found.join(', ')} (left from an earlier copy?); ` +
          'remove them here, or choose another server',
        retryable: false,
      });
    }
    context.note(`nothing of ${domain} here yet`);
    return { domain };
  },
};
