import { copyFile, readFile, rename, rm } from 'node:fs/promises';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { renderDrupalVhost, validateProxyTarget } from '../../../../shared/src/nginx-vhost.js';
import { must, validatePlatformName } from '../../../../shared/src/validation.js';
import { ensureDir, pathKind, writeFileAtomic } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { Nginx } from '../../adapters/nginx.js';
import { booleanValue, listValue, parseWith } from '../params.js';
import type { StepContext, StepHandler } from '../step.js';
import { domainValue, requireDirectory } from '../site/common.js';

/**
 * Writes a site's vhost for a platform and reloads nginx, never leaving a configuration that fails
 * `nginx -t` in place. nginx includes `*.conf`, so the new file cannot be tested beside the old
 * one under another name: it is written beside (`.conf.new`), the old file copied (`.conf.old`),
 * the new one renamed into place, tested, and reloaded; when the test or the reload fails the old
 * file is renamed back (or the new one removed when there was none), and the running nginx, never
 * reloaded with the bad file, still serves every site as before.
 */
export const httpWriteVhost: StepHandler<'http.write-vhost'> = {
  name: 'http.write-vhost',
  parseParams: (input) =>
    parseWith(input, ['domain', 'platform'], ['disabled', 'redirectFrom', 'proxyTo'], (params) => ({
      domain: domainValue('domain', params.domain),
      platform: must(validatePlatformName('platform', params.platform)),
      ...(params.disabled !== undefined ? { disabled: booleanValue('disabled', params.disabled) } : {}),
      ...(params.redirectFrom !== undefined
        ? { redirectFrom: listValue('redirectFrom', params.redirectFrom, 50, domainValue) }
        : {}),
      ...(params.proxyTo !== undefined ? { proxyTo: validateProxyTarget(params.proxyTo) } : {}),
    })),
  async run({ domain, platform, disabled, redirectFrom, proxyTo }, context) {
    const layout = new HostLayout(context.host.root);
    await requireDirectory(layout.platformDocroot(platform), `the docroot of platform ${platform}`);
    const socket = context.host.phpFpmSocket;
    if (!socket) {
      throw new StepError({
        code: StepErrorCode.MissingDependency,
        message:
          'no PHP-FPM socket: none was found in /run/php; install php-fpm (`apt-get install php-fpm`) or start the agent with --php-fpm-socket',
        retryable: false,
      });
    }
    const content = renderDrupalVhost({
      domain,
      docroot: layout.platformDocroot(platform),
      phpFpmSocket: socket,
      listen: context.host.httpListen,
      disabled: disabled ?? false,
      redirectFrom: redirectFrom ?? [],
      ...(proxyTo ? { proxyTo } : {}),
    });
    await ensureDir(layout.nginxDir, 0o755);
    const path = layout.vhostPath(domain);
    const changed = (await readFile(path, 'utf8').catch(() => undefined)) !== content;
    await replaceConfig(context, path, content);
    context.note(
      `${changed ? 'wrote' : 'kept'} ${path}${proxyTo ? ` (passing requests to ${proxyTo})` : ''}; nginx reloaded`,
    );
    return { path, changed, port: context.host.httpPort };
  },
};

/**
 * Puts `content` (or, with undefined, no file) at `path`, then `nginx -t` and a reload; puts the
 * previous state back if either fails. One change at a time per nginx (Nginx.exclusive).
 */
export async function replaceConfig(
  context: StepContext,
  path: string,
  content: string | undefined,
): Promise<void> {
  const nginx = new Nginx(context);
  await nginx.exclusive(() => replaceAndReload(context, nginx, path, content));
}

async function replaceAndReload(
  context: StepContext,
  nginx: Nginx,
  path: string,
  content: string | undefined,
): Promise<void> {
  const backup = `${path}.old`;
  const hadOld = (await pathKind(path)) === 'file';
  if (hadOld) await copyFile(path, backup);
  const restore = async () => {
    if (hadOld) await rename(backup, path);
    else await rm(path, { force: true });
  };
  try {
    if (content === undefined) {
      await rm(path, { force: true });
    } else {
      // Written beside, then renamed: nginx never reads half a file.
      const fresh = `${path}.new`;
      await rm(fresh, { force: true });
      await writeFileAtomic(fresh, content, { mode: 0o644 });
      await rename(fresh, path);
    }
  } catch (error) {
    await restore();
    throw error;
  }
  try {
    await nginx.test();
    await nginx.reload();
  } catch (error) {
    await restore();
    context.note(`${path} put back as it was`);
    throw error;
  }
  await rm(backup, { force: true });
}
