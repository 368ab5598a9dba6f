import { rm } from 'node:fs/promises';
import { must, validateName } from '../../../../shared/src/validation.js';
import { pathKind, replaceDirectory } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { domainValue } from './common.js';

/** The name of a set-aside site directory (`<root>/sites/.aside-<name>`). */
export function asideValue(field: string, value: unknown): string {
  return must(validateName(field, value));
}

/**
 * The site directory a restore set aside (site.extract setAsideAs) put back in place of the one it
 * restored: the restored one renamed away, the set-aside one renamed in, the restored one removed.
 * Nothing set aside (put back already) does nothing: a rollback may run it again.
 */
export const sitePutBack: StepHandler<'site.put-back'> = {
  name: 'site.put-back',
  parseParams: (input) =>
    parseWith(input, ['domain', 'aside'], [], (params) => ({
      domain: domainValue('domain', params.domain),
      aside: asideValue('aside', params.aside),
    })),
  async run({ domain, aside }, context) {
    const layout = new HostLayout(context.host.root);
    const setAside = layout.asideDir(aside);
    const target = layout.siteDir(domain);
    if ((await pathKind(setAside)) !== 'directory') {
      context.note(`nothing of ${domain} is set aside as ${aside}: nothing to put back`);
      return { putBack: false };
    }
    await replaceDirectory(setAside, target, (await pathKind(target)) !== 'missing');
    context.note(`put ${target} back as it was before the restore`);
    return { putBack: true };
  },
};

/** Removes a set-aside site directory (once its archive is in the store); none there is fine. */
export const siteDropAside: StepHandler<'site.drop-aside'> = {
  name: 'site.drop-aside',
  parseParams: (input) =>
    parseWith(input, ['aside'], [], (params) => ({ aside: asideValue('aside', params.aside) })),
  async run({ aside }, context) {
    const dir = new HostLayout(context.host.root).asideDir(aside);
    const existed = (await pathKind(dir)) !== 'missing';
    if (existed) {
      await rm(dir, { recursive: true, force: true });
      context.note(`removed ${dir}`);
    }
    return { removed: existed };
  },
};
