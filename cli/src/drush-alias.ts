/**
 * Drush site alias files (`<name>.site.yml`) for the operator's own drush: what goes in one, the
 * YAML text, and writing it without clobbering anything. Drush 9+ reads these with
 * consolidation/site-alias: the file's base name is the site name (no dots allowed), each top-level
 * key an environment, and with one environment `drush @<name>` selects it.
 */
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, posix } from 'node:path';
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

type YamlValue = string | YamlMap;
interface YamlMap {
  [key: string]: YamlValue | undefined;
}

/**
 * YAML for nested maps of strings. Every value is single-quoted (the one YAML style with no escapes
 * but a doubled quote), so that no value can turn into a number, a boolean, an alias or a comment;
 * keys are plain and must be simple words. Control characters and line breaks are refused.
 */
export function toYaml(map: YamlMap, indent = 0): string {
  let text = '';
  const pad = ' '.repeat(indent);
  for (const [key, value] of Object.entries(map)) {
    if (value === undefined) continue;
    if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new Error(`YAML key "${printable(key)}" is not a plain word`);
    if (typeof value === 'string') text += `${pad}${key}: ${quote(value)}\n`;
    else text += `${pad}${key}:\n${toYaml(value, indent + 2)}`;
  }
  return text;
}

function quote(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw usageError(
      `"${printable(value)}" holds a control character or a line break; it cannot go into YAML`,
    );
  }
  return `'${value.replace(/'/g, "''")}'`;
}

/** The whole file: a comment saying where it came from, then the one environment. */
export function renderAliasFile(
  name: string,
  environmentName: string,
  environment: DrushAliasEnvironment,
  domain: string,
): string {
  const header = [
    `# Drush site alias for ${domain}, written by \`berth site aliases\`.`,
    `# Use it as: drush @${name} status  (or @${name}.${environmentName})`,
    '',
  ].join('\n');
  return header + toYaml({ [environmentName]: { ...environment } });
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
  const temporary = join(directory, `.${name}.site.yml.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(temporary, text, { mode: 0o644, flag: 'wx' });
    if (options.force) {
      await rename(temporary, path);
    } else {
      // link() puts the complete file in place or fails with EEXIST, also when another process
      // wrote the file since the check above.
      await linkNoClobber(temporary, path);
    }
  } finally {
    await rm(temporary, { force: true });
  }
  return path;
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
