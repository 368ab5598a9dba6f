import { copyFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { renderDrupalVhost, validateProxyTarget } from '../../../../shared/src/nginx-vhost.js';
import type { StepParams } from '../../../../shared/src/steps.js';
import {
  must,
  validateDatabaseName,
  validatePlatformName,
  ValidationError,
} from '../../../../shared/src/validation.js';
import { ensureDir, pathKind, swapConfigFile, writeFileAtomic } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { Nginx } from '../../adapters/nginx.js';
import { readSitePoolFile } from '../../adapters/site-pool.js';
import { postMaxMegabytes } from '../../../../shared/src/php-pool.js';
import { booleanValue, listValue, parseWith } from '../params.js';
import { SiteTlsFiles } from '../tls/tls-files.js';
import type { StepContext } from '../step.js';
import { domainValue, requireDirectory } from '../site/common.js';

/** A site's vhost as http.write-vhost and http.prepare-vhost take it. */
export type VhostParams = StepParams<'http.write-vhost'>;

export function vhostParams(input: unknown) {
  return parseWith(
    input,
    ['domain', 'platform'],
    ['disabled', 'redirectFrom', 'aliases', 'https', 'proxyTo', 'database'],
    (params) => ({
      domain: domainValue('domain', params.domain),
      platform: must(validatePlatformName('platform', params.platform)),
      ...(params.disabled !== undefined ? { disabled: booleanValue('disabled', params.disabled) } : {}),
      ...(params.redirectFrom !== undefined
        ? { redirectFrom: listValue('redirectFrom', params.redirectFrom, 50, domainValue) }
        : {}),
      ...(params.aliases !== undefined
        ? { aliases: listValue('aliases', params.aliases, 50, domainValue) }
        : {}),
      ...(params.https !== undefined ? { https: httpsValue(params.https) } : {}),
      ...(params.proxyTo !== undefined ? { proxyTo: validateProxyTarget(params.proxyTo) } : {}),
      ...(params.database !== undefined
        ? { database: must(validateDatabaseName('database', params.database)) }
        : {}),
    }),
  );
}

function httpsValue(input: unknown): { redirect: boolean; hsts: boolean } {
  const parsed = parseWith(input, ['redirect', 'hsts'], [], (https) => ({
    redirect: booleanValue('https.redirect', https.redirect),
    hsts: booleanValue('https.hsts', https.hsts),
  }));
  if (!parsed.ok) throw new ValidationError({ ...parsed.failure, field: `https.${parsed.failure.field}` });
  return parsed.value;
}

/** The site's certificate and key on this server, when tls.install put them there. */
export async function installedCertificate(
  layout: HostLayout,
  domain: string,
): Promise<{ certificate: string; key: string } | undefined> {
  const { certificate, key } = new SiteTlsFiles(layout.root, domain);
  const present = (await pathKind(certificate)) === 'file' && (await pathKind(key)) === 'file';
  return present ? { certificate, key } : undefined;
}

/**
 * The text of a site's vhost on this server, and where it goes; `https`: whether it serves HTTPS
 * (asked for, and this server has the site's certificate).
 */
export async function renderVhost(
  { domain, platform, disabled, redirectFrom, aliases, https, proxyTo, database }: VhostParams,
  context: StepContext,
): Promise<{ path: string; content: string; https: boolean }> {
  const layout = new HostLayout(context.host.root);
  await requireDirectory(layout.platformDocroot(platform), `the docroot of platform ${platform}`);
  // PHP goes to the site's own pool when it has one here, else to the server's shared one.
  const pool = await readSitePoolFile(context.host, domain);
  const socket = pool?.socket ?? context.host.phpFpmSocket;
  if (!socket) {
    throw new StepError({
      code: StepErrorCode.MissingDependency,
      message:
        'no PHP-FPM socket: none was found in /run/php; install php-fpm (`apt-get install php-fpm`) or start the agent with --php-fpm-socket',
      retryable: false,
    });
  }
  const certificate = https ? await installedCertificate(layout, domain) : undefined;
  if (https && !certificate)
    context.note(
      `HTTPS is on for ${domain} but this server has no certificate for it yet: plain HTTP until one is installed`,
    );
  const content = renderDrupalVhost({
    domain,
    acmeRoot: layout.siteAcmeRoot(domain),
    credentials: join(layout.siteConfigDir(domain), 'credentials.php'),
    ...(aliases ? { aliases } : {}),
    ...(https && certificate ? { tls: { ...certificate, ...https, listen: context.host.httpsListen } } : {}),
    docroot: layout.platformDocroot(platform),
    phpFpmSocket: socket,
    // nginx takes a request body as large as the site's PHP does (post_max_size).
    ...(pool ? { maxBodyMegabytes: postMaxMegabytes(pool.settings) } : {}),
    listen: context.host.httpListen,
    disabled: disabled ?? false,
    redirectFrom: redirectFrom ?? [],
    ...(proxyTo ? { proxyTo } : {}),
    ...(database ? { database } : {}),
  });
  await ensureDir(layout.nginxDir, 0o755);
  return { path: layout.vhostPath(domain), content, https: certificate !== undefined };
}

/**
 * Where a prepared vhost waits for its commit (http.prepare-vhost): beside the live one under a
 * name nginx does not include (it includes `*.conf`).
 */
export function preparedPath(path: string): string {
  return `${path}.next`;
}

/**
 * Puts `content` (or, with undefined, no file) at `path`, then `nginx -t` and a reload; puts the
 * previous state back if either fails. One change at a time per nginx (Nginx.exclusive).
 */
export async function replaceConfig(
  context: StepContext,
  path: string,
  content: string | undefined,
  options: ReplaceOptions = {},
): Promise<void> {
  const nginx = new Nginx(context);
  await nginx.exclusive(async () => {
    await recoverInterruptedTests(context, path);
    await replaceAndReload(context, nginx, path, content, options);
  });
}

export interface ReplaceOptions {
  /**
   * The whole configuration with `content` passed `nginx -t` already (testCandidate): no test
   * again, and the reload must renew nginx's workers (else nginx refused it after all, and the
   * old file is put back).
   */
  tested?: boolean;
}

/**
 * `nginx -t` of the configuration as it would be with `content` at `path`, which stays as it was.
 * nginx includes `*.conf`, so the candidate must stand at the live name for the test: the live file
 * is kept aside (`.live`, or a `.none` marker when there is none) and put back right after, with no
 * reload in between, so the running nginx never reads the candidate. An agent stopped in the
 * middle leaves the aside file, and the next change to this nginx puts it back first.
 */
export async function testCandidate(context: StepContext, path: string, content: string): Promise<void> {
  const nginx = new Nginx(context);
  await nginx.exclusive(async () => {
    await recoverInterruptedTests(context, path);
    const hadLive = (await pathKind(path)) === 'file';
    if (hadLive) await copyFile(path, `${path}${LIVE}`);
    else await writeFile(`${path}${NONE}`, '');
    try {
      await writeFileAtomic(path, content, { mode: 0o644 });
      await nginx.test();
    } finally {
      await putBack(path);
    }
  });
}

const LIVE = '.live';
const NONE = '.none';

async function putBack(path: string): Promise<boolean> {
  if ((await pathKind(`${path}${LIVE}`)) === 'file') {
    await rename(`${path}${LIVE}`, path);
    return true;
  }
  if ((await pathKind(`${path}${NONE}`)) === 'file') {
    await rm(path, { force: true });
    await rm(`${path}${NONE}`, { force: true });
    return true;
  }
  return false;
}

/** Every vhost a stopped test left in the live place is put back (see testCandidate). */
async function recoverInterruptedTests(context: StepContext, path: string): Promise<void> {
  const dir = join(path, '..');
  const names = await readdir(dir).catch(() => [] as string[]);
  const aside = names.filter((name) => name.endsWith(`.conf${LIVE}`) || name.endsWith(`.conf${NONE}`));
  for (const name of new Set(aside.map((entry) => entry.replace(/\.(live|none)$/, '')))) {
    if (await putBack(join(dir, name)))
      context.note(`${join(dir, name)} put back after an interrupted nginx test`);
  }
}

async function replaceAndReload(
  context: StepContext,
  nginx: Nginx,
  path: string,
  content: string | undefined,
  options: ReplaceOptions,
): Promise<void> {
  await swapConfigFile(
    path,
    content,
    async () => {
      if (!options.tested) await nginx.test();
      await nginx.reload({ mustRenew: options.tested === true });
    },
    (text) => context.note(text),
  );
}
