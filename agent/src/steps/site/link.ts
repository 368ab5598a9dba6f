import { readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** The links of every platform to a site directory (site.remove cleans them up). */
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
    let link: string;
    try {
      link = layout.platformSiteLink(platform, domain);
    } catch {
      continue;
    }
    if ((await readLinkOrUndefined(link)) === target) links.push(link);
  }
  return links;
}
