import { HostLayout } from '../../adapters/layout.js';
import { pathKind } from '../../adapters/files.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { domainValue } from '../site/common.js';
import { replaceConfig } from './vhost-files.js';

/** Removes a site's vhost and reloads nginx; the file comes back if nginx refuses the result. */
export const httpRemoveVhost: StepHandler<'http.remove-vhost'> = {
  name: 'http.remove-vhost',
  parseParams: (input) =>
    parseWith(input, ['domain'], [], (params) => ({ domain: domainValue('domain', params.domain) })),
  async run({ domain }, context) {
    const path = new HostLayout(context.host.root).vhostPath(domain);
    if ((await pathKind(path)) === 'missing') {
      context.note(`${path} is not there: nothing to remove`);
      return { path, removed: false };
    }
    await replaceConfig(context, path, undefined);
    context.note(`removed ${path}; nginx reloaded`);
    return { path, removed: true };
  },
};
