import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { domainValue } from '../site/common.js';
import { removeSitePool } from './pool-files.js';

/**
 * Removes a site's pool from this server (PHP-FPM reloaded without it), and its user and group when
 * no other pool names them; nothing to do when it has none.
 */
export const phpRemovePool: StepHandler<'php.remove-pool'> = {
  name: 'php.remove-pool',
  parseParams: (input) =>
    parseWith(input, ['domain'], [], (params) => ({ domain: domainValue('domain', params.domain) })),
  async run({ domain }, context) {
    const removed = await removeSitePool(context, domain);
    if (!removed) context.note(`${domain} has no PHP-FPM pool of its own here: nothing to remove`);
    return { removed };
  },
};
