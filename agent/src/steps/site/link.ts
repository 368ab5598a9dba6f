import { readdir, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { must, validatePlatformName } from '../../../../shared/src/validation.js';
import { pathKind, readLinkOrUndefined, symlinkAtomic } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { domainValue, requireDirectory } from './common.js';

export function siteOnPlatformParams(input: unknown) {
  return parseWith(input, ['domain', 'platform'], [], (params) => ({
    domain: domainValue('domain', params.domain),
    platform: must(validatePlatformName('platform', params.platform)),
  }));
}

/**
 * Drupal looks for `sites/<host>` (then the host's parent domains) only when `sites/sites.php`
 * exists; without it every request goes to `sites/default`. The link is named after the domain,
 * so that lookup finds it and sites.php needs no entry per site. That matters: sites.php is one
 * file per platform while tasks lock one site at a time, so two site tasks editing it at once
 * could lose an entry. Berth only makes sure the file exists (Composer's scaffold ships
 * example.sites.php, not sites.php), and never rewrites one that does.
 */
const SITES_PHP = `<?php

/**
 * @file
 * Created by Berth. Its presence turns on Drupal's multi-site lookup: a request for a host is
 * served by the site directory sites/<host>, which Berth links to the site's own directory.
 */
`;

async function ensureSitesPhp(sitesDir: string): Promise<boolean> {
  try {
    await writeFile(join(sitesDir, 'sites.php'), SITES_PHP, { flag: 'wx', mode: 0o644 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Links the site directory into a platform: `<platform>/web/sites/<domain>` -> `<root>/sites/<domain>`. */
export const siteLink: StepHandler<'site.link'> = {
  name: 'site.link',
  parseParams: siteOnPlatformParams,
  async run({ domain, platform }, context) {
    const layout = new HostLayout(context.host.root);
    const sitesDir = join(layout.platformDocroot(platform), 'sites');
    await requireDirectory(sitesDir, `the sites directory of platform ${platform}`);
    const target = layout.siteDir(domain);
    await requireDirectory(target, 'the site directory (write its settings or extract it first)');
    const link = layout.platformSiteLink(platform, domain);

    const kind = await pathKind(link);
    if (kind === 'symlink' && (await readLinkOrUndefined(link)) === target) {
      context.note(`${link} already points to ${target}`);
    } else if (kind === 'missing' || kind === 'symlink') {
      // A link elsewhere (a stale one) is replaced in one rename: no moment without a link.
      await symlinkAtomic(target, link);
      context.note(`linked ${link} -> ${target}`);
    } else {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `${link} exists and is not a symlink (a ${kind}): Berth does not replace a site directory inside a platform; move it away first`,
        retryable: false,
      });
    }
    if (await ensureSitesPhp(sitesDir))
      context.note(`created ${join(sitesDir, 'sites.php')} (multi-site lookup)`);
    return { link, target };
  },
};

/** Removes the platform's link to the site directory; a link that is not there is fine. */
export const siteUnlink: StepHandler<'site.unlink'> = {
  name: 'site.unlink',
  parseParams: siteOnPlatformParams,
  async run({ domain, platform }, context) {
    const layout = new HostLayout(context.host.root);
    const link = layout.platformSiteLink(platform, domain);
    const target = layout.siteDir(domain);
    const kind = await pathKind(link);
    if (kind === 'missing') return { link, removed: false };
    const pointsTo = kind === 'symlink' ? await readLinkOrUndefined(link) : undefined;
    if (pointsTo !== target) {
      throw new StepError({
        code: StepErrorCode.Refused,
        message:
          kind === 'symlink'
            ? `${link} points to ${pointsTo ?? '?'}, not to ${target}: not removed`
            : `${link} is a ${kind}, not Berth's link to ${target}: not removed`,
        retryable: false,
      });
    }
    await unlink(link);
    context.note(`removed ${link}`);
    return { link, removed: true };
  },
};

/**
 * The links of every platform to a site directory (site.remove cleans them up): the one named by
 * its domain and those named by the names it serves (syncAliasLinks).
 */
export async function linksTo(layout: HostLayout, domain: string): Promise<string[]> {
  const target = layout.siteDir(domain);
  let platforms: string[];
  try {
    platforms = await readdir(layout.platformsDir);
  } catch {
    return [];
  }
  const links: string[] = [];
  for (const platform of platforms) {
    let sitesDir: string;
    try {
      sitesDir = join(layout.platformDocroot(platform), 'sites');
    } catch {
      continue;
    }
    for (const name of await readdir(sitesDir).catch(() => [] as string[])) {
      if ((await readLinkOrUndefined(join(sitesDir, name))) === target) links.push(join(sitesDir, name));
    }
  }
  return links;
}

/**
 * The names a site serves beside its domain, linked in the platform that serves it as Aegir does:
 * `<platform>/web/sites/<alias>` -> the site directory, so that Drupal's multi-site lookup (which
 * tries the whole host first) finds the site for each of them. A name that is a directory
 * (another site's, made by hand) is never replaced.
 */
export async function linkAliases(
  layout: HostLayout,
  platform: string,
  domain: string,
  aliases: readonly string[],
  note: (text: string) => void,
): Promise<void> {
  const target = layout.siteDir(domain);
  for (const alias of aliases) {
    const link = layout.platformSiteLink(platform, alias);
    const kind = await pathKind(link);
    if (kind === 'symlink' && (await readLinkOrUndefined(link)) === target) continue;
    if (kind !== 'missing' && kind !== 'symlink') {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `${link} exists and is not a symlink (a ${kind}): it cannot name ${domain}; move it away first`,
        retryable: false,
      });
    }
    await symlinkAtomic(target, link);
    note(`linked ${link} -> ${target}`);
  }
}

/**
 * The links of names the site no longer serves there, in every platform (once the vhost that no
 * longer names them serves): only the domain's own links and `aliases` in `platform` stay.
 */
export async function unlinkOtherAliases(
  layout: HostLayout,
  platform: string,
  domain: string,
  aliases: readonly string[],
  note: (text: string) => void,
): Promise<void> {
  const kept = new Set(aliases.map((alias) => layout.platformSiteLink(platform, alias)));
  for (const link of await linksTo(layout, domain)) {
    if (kept.has(link) || basename(link) === domain) continue;
    await unlink(link);
    note(`removed ${link}: ${basename(link)} is no longer a name ${domain} serves there`);
  }
}
