/**
 * `berth site aliases --all`: Drush alias files for every site (or a client's), read from the
 * master a page of 500 at a time. Every file is planned and read first; when one cannot be merged
 * (not YAML, not a map, a symlink) nothing at all is written.
 */
import { join, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { ApiClient } from '../api-client.js';
import type { Platform } from '../api-types.js';
import type { CliContext } from '../context.js';
import {
  type AliasSite,
  defaultAliasDirectory,
  mergeAliasFile,
  placeFile,
  planAliasFiles,
  readAliasFile,
} from '../drush-alias.js';
import { CliError, ExitCode } from '../errors.js';
import { MAX_PAGE_LIMIT } from '../parsers.js';
import { readPages } from '../paging.js';

export interface EveryAliasOptions {
  client?: string;
  dir?: string;
  environment: string;
  oneFile?: string;
  local?: boolean;
  user?: string;
}

/** What --json prints for each site: where its alias is and how drush names it. */
export interface WrittenAlias {
  domain: string;
  path: string;
  name: string;
  environment: string;
  alias: object;
}

export interface EveryAliasResult {
  directory: string;
  /** Files written, and of those the ones that were there and were merged. */
  files: number;
  updated: number;
  /** Deleted sites, which get no alias. */
  deletedSkipped: number;
  written: WrittenAlias[];
}

export async function writeEveryAlias(
  ctx: CliContext,
  client: ApiClient,
  options: EveryAliasOptions,
): Promise<EveryAliasResult> {
  const { items } = await readPages({ all: true, limit: MAX_PAGE_LIMIT }, (page) =>
    client.pageSites({ ...page, ...(options.client !== undefined ? { client: options.client } : {}) }),
  );
  // A deleted site has no code anywhere to run drush in.
  const sites = items.filter((site) => site.status !== 'deleted');
  // Sites share a few platforms: each is asked for once.
  const platforms = new Map<string, Promise<Platform>>();
  const platformOf = (name: string) => {
    let found = platforms.get(name);
    if (!found) platforms.set(name, (found = client.getPlatform(name)));
    return found;
  };
  const sources: AliasSite[] = [];
  for (const site of sites) {
    const platform = await platformOf(site.platform);
    sources.push({
      domain: site.domain,
      url: site.url,
      platformPath: platform.path,
      docroot: platform.docroot,
      ...(options.local ? {} : { host: platform.serverName }),
      ...(options.local || options.user === undefined ? {} : { user: options.user }),
    });
  }
  const plan = planAliasFiles(sources, {
    environment: options.environment,
    ...(options.oneFile !== undefined ? { oneFile: options.oneFile } : {}),
  });

  const directory = resolve(options.dir ?? defaultAliasDirectory(ctx.env.HOME));
  const files: Array<{ path: string; text: string; existing?: { mode: number } }> = [];
  const refused: string[] = [];
  for (const file of plan) {
    const path = join(directory, `${file.name}.site.yml`);
    try {
      const existing = await readAliasFile(path);
      files.push({
        path,
        text: mergeAliasFile(existing?.text, file.environments, file.header, { path }),
        ...(existing ? { existing } : {}),
      });
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      refused.push(error.message);
    }
  }
  if (refused.length > 0) {
    throw new CliError(
      `${refused.length} of ${plan.length} alias files cannot be merged: nothing was written`,
      ExitCode.Usage,
      { details: [...refused, 'Fix or move them, then run this again.'] },
    );
  }

  await mkdir(directory, { recursive: true, mode: 0o700 });
  for (const file of files) {
    await placeFile(file.path, file.text, {
      replace: file.existing !== undefined,
      ...(file.existing ? { mode: file.existing.mode } : {}),
    });
  }
  return {
    directory,
    files: files.length,
    updated: files.filter((file) => file.existing).length,
    deletedSkipped: items.length - sites.length,
    written: plan.flatMap((file) =>
      file.sites.map((site) => ({
        domain: site.domain,
        path: join(directory, `${file.name}.site.yml`),
        name: file.name,
        environment: site.environment,
        alias: site.alias,
      })),
    ),
  };
}
