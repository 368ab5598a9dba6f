/**
 * Drush site alias files (`<name>.site.yml`) for the operator's own drush: what goes in one, the
 * YAML text (written with the `yaml` package; an existing file is merged, never clobbered), and
 * writing it. Drush 9+ reads these with consolidation/site-alias: the file's base name is the site
 * name (no dots allowed), each top-level key an environment, and with one environment
 * `drush @<name>` selects it.
 */
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { Document, isMap, parseDocument } from 'yaml';
import { CliError, ExitCode, usageError } from './errors.js';

/** One environment of an alias file, in the keys Drush reads. */
export interface DrushAliasEnvironment {
  host?: string;
  user?: string;
  root: string;
  uri: string;
  paths: { 'drush-script': string };
}

export interface DrushAliasInput {
  url: string;
  platformPath: string;
  /** The docroot inside the platform ("web" for composer layouts, "" when the platform is the docroot). */
  docroot: string;
  /** The web server's name or address for ssh; absent for a site on this machine. */
  host?: string;
  user?: string;
}

const ALIAS_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
// "self" names the current project's aliases and "none" the empty alias in Drush.
const RESERVED_NAMES = new Set(['self', 'none']);

/** A site name for drush from a domain: dots (not allowed in alias names) become "-". */
export function aliasNameForDomain(domain: string): string {
  return domain
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

/**
 * Checks an alias or environment name: it becomes a file name and part of `@name.env`, so it holds
 * no dot, slash or anything else that could leave the directory or confuse drush.
 */
export function checkAliasName(field: string, name: string): string {
  if (!ALIAS_NAME.test(name)) {
    throw usageError(
      `${field} "${printable(name)}" is not valid: use 1-63 lowercase letters, digits, "-" or "_" ` +
        '(no dots: drush reads a dot as the separator of @site.environment)',
    );
  }
  if (RESERVED_NAMES.has(name)) throw usageError(`${field} "${name}" is reserved by drush; choose another`);
  return name;
}

/** The alias environment for a site: its platform's docroot, its URL and, when remote, where to ssh. */
export function buildAliasEnvironment(input: DrushAliasInput): DrushAliasEnvironment {
  const root = input.docroot ? posix.join(input.platformPath, input.docroot) : input.platformPath;
  // Keys in the order of drush's own example.site.yml.
  return {
    ...(input.host ? { host: input.host } : {}),
    ...(input.user ? { user: input.user } : {}),
    root,
    // Drush wants the URI as a browser would use it; "http://example.com/" and without the slash are
    // the same site, and the plain form is what drush prints back.
    uri: input.url.replace(/\/+$/, ''),
    paths: { 'drush-script': posix.join(input.platformPath, 'vendor', 'bin', 'drush') },
  };
}

/**
 * How Berth writes alias YAML: every value single-quoted (the one YAML style with no escapes but a
 * doubled quote), so that no value can turn into a number, a boolean, an alias or a comment.
 */
const ALIAS_YAML = { defaultStringType: 'QUOTE_SINGLE', defaultKeyType: 'PLAIN', lineWidth: 0 } as const;

/** The comment a new file starts with: who wrote it and how to use it. */
export function aliasFileHeader(name: string, environmentName: string, domain: string): string[] {
  return [
    `Drush site alias for ${domain}, written by \`berth site aliases\`.`,
    `Use it as: drush @${name} status  (or @${name}.${environmentName})`,
  ];
}

/** The comment of a file with an environment per site (--one-file). */
export function sharedAliasFileHeader(name: string, example: string): string[] {
  return [
    'Drush site aliases written by `berth site aliases --all --one-file`: an environment per site.',
    `Use them as: drush @${name}.<site> status, e.g. drush @${name}.${example} status`,
  ];
}

/** A whole new file: a comment saying where it came from, then the one environment. */
export function renderAliasFile(
  name: string,
  environmentName: string,
  environment: DrushAliasEnvironment,
  domain: string,
): string {
  const header = aliasFileHeader(name, environmentName, domain);
  return mergeAliasFile(undefined, { [environmentName]: environment }, header, { path: `${name}.site.yml` });
}

/**
 * An alias file with `environments` set in it. A new file (`existing` undefined) is the header as
 * a comment, then the environments. An existing file keeps all else: its other environments, its
 * other keys, its comments; only the environments Berth writes are replaced. A file that is not
 * YAML, or whose top level is not a map of environments, is refused (a usage error naming it)
 * rather than overwritten: it may be someone's work.
 */
export function mergeAliasFile(
  existing: string | undefined,
  environments: Record<string, DrushAliasEnvironment>,
  header: readonly string[],
  where: { path: string },
): string {
  for (const environment of Object.values(environments)) checkValues(environment);
  if (existing === undefined) {
    const comment = header.map((line) => `# ${line}\n`).join('');
    // Two sites with equal settings are written out twice, not as a YAML anchor and alias.
    return comment + new Document(environments, { aliasDuplicateObjects: false }).toString(ALIAS_YAML);
  }
  const document: Document = parseDocument(existing, { prettyErrors: false });
  const error = document.errors[0];
  if (error) {
    const line = existing.slice(0, error.pos[0]).split('\n').length;
    throw usageError(
      `${where.path} is not valid YAML (line ${line}: ${error.message.split('\n')[0]}): not touched`,
    );
  }
  // An empty file, or one of comments only, holds no map yet.
  if (document.contents === null) document.contents = document.createNode({});
  if (!isMap(document.contents)) {
    throw usageError(`${where.path} does not hold a map of environments at its top level: not touched`);
  }
  for (const [name, environment] of Object.entries(environments)) {
    document.set(name, document.createNode(environment, { aliasDuplicateObjects: false }));
  }
  return document.toString(ALIAS_YAML);
}

/** Values go into YAML and onto drush's command line: no control characters, no line breaks. */
function checkValues(value: object): void {
  for (const item of Object.values(value) as unknown[]) {
    if (typeof item === 'object' && item !== null) checkValues(item);
    // eslint-disable-next-line no-control-regex
    else if (typeof item === 'string' && /[\x00-\x1f\x7f]/.test(item)) {
      throw usageError(
        `"${printable(item)}" holds a control character or a line break; it cannot go into YAML`,
      );
    }
  }
}

/** A site to write an alias for, with what its platform says. */
export interface AliasSite extends DrushAliasInput {
  domain: string;
}

/** One file to write: its name (<name>.site.yml), the environments Berth sets in it, and for whom. */
export interface PlannedAliasFile {
  name: string;
  header: string[];
  environments: Record<string, DrushAliasEnvironment>;
  sites: Array<{ domain: string; environment: string; alias: DrushAliasEnvironment }>;
}

/**
 * The files for many sites: a file per site named after its domain with the one environment
 * `environment`, or with `oneFile` a single file with an environment per site. Two domains that
 * make one alias name (a-b.example and a.b-example) are refused before anything is written.
 */
export function planAliasFiles(
  sites: readonly AliasSite[],
  options: { environment: string; oneFile?: string },
): PlannedAliasFile[] {
  const byName = new Map<string, AliasSite[]>();
  for (const site of sites) {
    const name = checkAliasName(`the alias name of ${site.domain}`, aliasNameForDomain(site.domain));
    byName.set(name, [...(byName.get(name) ?? []), site]);
  }
  const clashes = [...byName].filter(([, same]) => same.length > 1);
  if (clashes.length > 0) {
    throw usageError(
      'some sites make the same alias name (dots and other characters become "-"): nothing was written',
      [
        ...clashes.map(([name, same]) => `${name}: ${same.map((site) => site.domain).join(', ')}`),
        'Write those one at a time: berth site aliases DOMAIN --name NAME',
      ],
    );
  }
  const entries = [...byName].map(([name, [site]]) => ({
    name,
    site: site!,
    alias: buildAliasEnvironment(site!),
  }));
  if (options.oneFile !== undefined) {
    const file = checkAliasName('--one-file', options.oneFile);
    if (entries.length === 0) return [];
    return [
      {
        name: file,
        header: sharedAliasFileHeader(file, entries[0]!.name),
        environments: Object.fromEntries(entries.map((entry) => [entry.name, entry.alias])),
        sites: entries.map((entry) => ({
          domain: entry.site.domain,
          environment: entry.name,
          alias: entry.alias,
        })),
      },
    ];
  }
  return entries.map((entry) => ({
    name: entry.name,
    header: aliasFileHeader(entry.name, options.environment, entry.site.domain),
    environments: { [options.environment]: entry.alias },
    sites: [{ domain: entry.site.domain, environment: options.environment, alias: entry.alias }],
  }));
}

/**
 * Where Drush users keep their own alias files. Drush 9+ does not search it by itself: it has to be
 * listed under drush.paths.alias-path in ~/.drush/drush.yml (the help says how).
 */
export function defaultAliasDirectory(home: string | undefined): string {
  return join(home || homedir(), '.drush', 'sites');
}

/**
 * Writes `<dir>/<name>.site.yml` atomically: the text goes to a temporary file in the same
 * directory, which is then linked into place (refused when the file exists, so nothing is
 * clobbered by a race either) or, with `force`, renamed over it.
 */
export async function writeAliasFile(
  directory: string,
  name: string,
  text: string,
  options: { force: boolean },
): Promise<string> {
  checkAliasName('alias name', name);
  const path = join(directory, `${name}.site.yml`);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  if (!options.force) {
    const existing = await lstat(path).catch(() => undefined);
    if (existing) throw exists(path);
  }
  await placeFile(path, text, { replace: options.force });
  return path;
}

/** An existing alias file's text and mode; undefined when there is none. A symlink is refused. */
export async function readAliasFile(path: string): Promise<{ text: string; mode: number } | undefined> {
  const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!stats) return undefined;
  if (!stats.isFile()) throw usageError(`${path} is not a regular file (a symlink?): not touched`);
  return { text: await readFile(path, 'utf8'), mode: stats.mode & 0o777 };
}

/**
 * Puts `text` at `path` through a temporary file: a new file linked into place (never over one
 * that appeared meanwhile), or with `replace` renamed over the old one, keeping its mode.
 */
export async function placeFile(
  path: string,
  text: string,
  options: { replace: boolean; mode?: number },
): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(temporary, text, { mode: options.mode ?? 0o644, flag: 'wx' });
    if (options.replace) {
      await rename(temporary, path);
    } else {
      // link() puts the complete file in place or fails with EEXIST, also when another process
      // wrote the file since it was looked for.
      await linkNoClobber(temporary, path);
    }
  } finally {
    await rm(temporary, { force: true });
  }
}

async function linkNoClobber(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw exists(to);
    // Filesystems without hard links: an exclusive copy still never overwrites.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EXDEV') {
      try {
        await copyFile(from, to, constants.COPYFILE_EXCL);
      } catch (copyError) {
        if ((copyError as NodeJS.ErrnoException).code === 'EEXIST') throw exists(to);
        throw copyError;
      }
      return;
    }
    throw error;
  }
}

function exists(path: string): CliError {
  return new CliError(`${path} exists already`, ExitCode.Usage, {
    details: ['Pass --force to replace it, or --name to write another file.'],
  });
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, '?');
}
