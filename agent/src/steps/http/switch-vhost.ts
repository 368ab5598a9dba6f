import { readFile, rm } from 'node:fs/promises';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { writeFileAtomic } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { domainValue } from '../site/common.js';
import { linkAliases } from '../site/link.js';
import { preparedPath, renderVhost, replaceConfig, testCandidate, vhostParams } from './vhost-files.js';

/*
 * The two phases of a switch on a cluster (master: SiteSteps.switchVhosts): every head prepares
 * the site's new vhost and tests its whole nginx configuration with it, and only when every head
 * did does any of them commit, all at once. A commit is a rename and a graceful reload of a file
 * that was already tested, so it is short and the same on every head.
 */

function domainParams(input: unknown) {
  return parseWith(input, ['domain'], [], (params) => ({ domain: domainValue('domain', params.domain) }));
}

/**
 * Writes the site's vhost beside the live one (`<domain>.conf.next`, which nginx does not
 * include) and runs `nginx -t` on the configuration as it will be once committed; nginx goes on
 * serving the live file. Fails with CONFIG_REJECTED (and nothing prepared) when nginx refuses it.
 */
export const httpPrepareVhost: StepHandler<'http.prepare-vhost'> = {
  name: 'http.prepare-vhost',
  parseParams: vhostParams,
  async run(params, context) {
    const { path, content } = await renderVhost(params, context);
    if (!params.disabled && !params.proxyTo)
      await linkAliases(
        new HostLayout(context.host.root),
        params.platform,
        params.domain,
        params.aliases ?? [],
        (text) => context.note(text),
      );
    const prepared = preparedPath(path);
    await rm(prepared, { force: true });
    await testCandidate(context, path, content);
    await writeFileAtomic(prepared, content, { mode: 0o644 });
    context.note(`prepared ${prepared}: nginx -t passed with it in place`);
    return { path: prepared, port: context.host.httpPort };
  },
};

/**
 * Puts the prepared vhost in place and reloads nginx gracefully: no `nginx -t` again (the prepare
 * tested the whole configuration with it, and a commit must take the same short time on every
 * head), but the reload must renew the workers, else the live file is put back and the step
 * fails. `reloadedAt` is when this server's nginx serves with it (this server's clock).
 */
export const httpCommitVhost: StepHandler<'http.commit-vhost'> = {
  name: 'http.commit-vhost',
  parseParams: domainParams,
  async run({ domain }, context) {
    const path = new HostLayout(context.host.root).vhostPath(domain);
    const prepared = preparedPath(path);
    const content = await readFile(prepared, 'utf8').catch(() => undefined);
    if (content === undefined) {
      throw new StepError({
        code: StepErrorCode.NotFound,
        message: `no vhost of ${domain} is prepared here (${prepared}): prepare it first`,
        retryable: false,
      });
    }
    await replaceConfig(context, path, content, { tested: true });
    const reloadedAt = new Date().toISOString();
    await rm(prepared, { force: true });
    context.note(`${path} committed; nginx reloaded`);
    return { path, reloadedAt };
  },
};

/** Removes a prepared vhost that will not be committed; the live one is untouched. */
export const httpDiscardVhost: StepHandler<'http.discard-vhost'> = {
  name: 'http.discard-vhost',
  parseParams: domainParams,
  async run({ domain }, context) {
    const prepared = preparedPath(new HostLayout(context.host.root).vhostPath(domain));
    const existed = (await readFile(prepared, 'utf8').catch(() => undefined)) !== undefined;
    await rm(prepared, { force: true });
    context.note(existed ? `discarded ${prepared}` : `${prepared} is not there: nothing to discard`);
    return { discarded: existed };
  },
};
