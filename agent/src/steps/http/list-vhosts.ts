import { readdir } from 'node:fs/promises';
import { validateSiteDomain } from '../../../../shared/src/validation.js';
import { HostLayout } from '../../adapters/layout.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';

/**
 * The domains this server has a vhost of: each `<domain>.conf` in Berth's vhost directory whose
 * name is a site domain (work files and anything else there are not listed).
 */
export const httpListVhosts: StepHandler<'http.list-vhosts'> = {
  name: 'http.list-vhosts',
  parseParams: (input) => parseWith(input, [], [], () => ({})),
  async run(_params, context) {
    const dir = new HostLayout(context.host.root).nginxDir;
    const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    const domains = names
      .filter((name) => name.endsWith('.conf'))
      .map((name) => name.slice(0, -'.conf'.length))
      .filter((domain) => validateSiteDomain('domain', domain).ok)
      .sort();
    context.note(`${domains.length} vhosts in ${dir}`);
    return { domains };
  },
};
