import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { PlatformPackage, PlatformPackageType } from '../../../shared/src/steps.js';

/**
 * The few top-level scalar keys of an .info.yml (name, type, version, hidden ...), without a YAML
 * library: `key: value` lines at column 0, a value plain, 'single-quoted' ('' for a quote) or
 * "double-quoted" (backslash escapes); a ` #` comment after a plain value is dropped. Lists, maps
 * and nested keys are skipped. A key given twice takes its last value, which is how drupal.org's
 * packaging lines (`version: '8.x-1.13'`, appended at the end) override the ones above them.
 */
export function parseInfoYml(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^([A-Za-z_][A-Za-z0-9_ ]*?):(?:[ \t]+(.*))?$/.exec(line);
    if (!match?.[1]) continue;
    const raw = (match[2] ?? '').trim();
    if (raw === '' || raw.startsWith('[') || raw.startsWith('{') || raw === '|' || raw === '>') continue;
    const value = scalar(raw);
    if (value !== undefined) values[match[1]] = value;
  }
  return values;
}

function scalar(raw: string): string | undefined {
  if (raw.startsWith("'")) {
    const match = /^'((?:[^']|'')*)'\s*(?:#.*)?$/.exec(raw);
    return match ? (match[1] ?? '').replaceAll("''", "'") : undefined;
  }
  if (raw.startsWith('"')) {
    const match = /^"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$/.exec(raw);
    return match
      ? (match[1] ?? '').replace(/\\(.)/g, (_all, character: string) =>
          character === 'n' ? '\n' : character,
        )
      : undefined;
  }
  return raw.replace(/\s+#.*$/, '');
}

/** The highest N of `function <module>_update_N(` in a .install file; 0 when there is none. */
export function highestUpdate(module: string, installPhp: string): number {
  const pattern = new RegExp(`function\\s+${module}_update_(\\d+)\\s*\\(`, 'g');
  let highest = 0;
  for (const match of installPhp.matchAll(pattern)) highest = Math.max(highest, Number(match[1]));
  return highest;
}

/** The number `<module>_update_last_removed()` returns in a .install file; 0 when it has none. */
export function lastRemovedUpdate(module: string, installPhp: string): number {
  const body = functionBody(`${module}_update_last_removed`, installPhp);
  const match = body === undefined ? null : /return\s+(\d+)\s*;/.exec(body);
  return match ? Number(match[1]) : 0;
}

/** The `<module>_post_update_NAME()` functions of a .post_update.php file, by function name. */
export function postUpdates(module: string, postUpdatePhp: string): string[] {
  const pattern = new RegExp(`function\\s+(${module}_post_update_[A-Za-z0-9_]+)\\s*\\(`, 'g');
  return [...new Set([...postUpdatePhp.matchAll(pattern)].map((match) => match[1]!))].sort();
}

/**
 * The post-updates `<module>_removed_post_updates()` lists (`'name' => '9.0.0'` pairs of the array
 * it returns), by function name.
 */
export function removedPostUpdates(module: string, postUpdatePhp: string): string[] {
  const body = functionBody(`${module}_removed_post_updates`, postUpdatePhp);
  if (body === undefined) return [];
  const names = [...body.matchAll(/['"]([A-Za-z0-9_]+)['"]\s*=>/g)].map((match) => match[1]!);
  return [...new Set(names)].sort();
}

/** The text of a top-level function, from its name to the next top-level `function` (or the end). */
function functionBody(name: string, php: string): string | undefined {
  const start = new RegExp(`function\\s+${name}\\s*\\(`).exec(php);
  if (!start) return undefined;
  const rest = php.slice(start.index + start[0].length);
  const next = /\n\s*function\s+[A-Za-z_]/.exec(rest);
  return next ? rest.slice(0, next.index) : rest;
}

/**
 * The exact versions of a Composer-built platform's Drupal packages, from
 * `vendor/composer/installed.json` (Composer 2's `{ packages }` or Composer 1's list): each
 * `drupal/*` package's install path, relative to the docroot, with its version. A module, theme
 * or profile inside one of these directories reports that version instead of its `.info.yml`'s.
 */
export function composerVersions(
  installedJson: string,
  platformRoot: string,
  docroot: string,
): Array<{ path: string; version: string }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(installedJson);
  } catch {
    return [];
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { packages?: unknown } | null)?.packages;
  if (!Array.isArray(list)) return [];
  const vendorComposer = join(platformRoot, 'vendor', 'composer');
  const found: Array<{ path: string; version: string }> = [];
  for (const item of list as Array<Record<string, unknown>>) {
    const { name, version } = item;
    const installPath = item['install-path'];
    if (typeof name !== 'string' || !name.startsWith('drupal/') || name === 'drupal/core') continue;
    if (typeof version !== 'string' || typeof installPath !== 'string') continue;
    const path = relative(docroot, resolve(vendorComposer, installPath));
    // Only packages inside the docroot hold extensions; never a path that climbs out of it.
    if (path === '' || path.startsWith('..') || isAbsolute(path)) continue;
    found.push({ path, version: version.replace(/^v(?=\d)/, '') });
  }
  return found;
}

/** `const VERSION = '10.3.0';` of core/lib/Drupal.php. */
export function coreVersionOf(drupalPhp: string): string | undefined {
  return /const\s+VERSION\s*=\s*['"]([^'"]+)['"]/.exec(drupalPhp)?.[1];
}

const PACKAGE_TYPES: ReadonlySet<string> = new Set<PlatformPackageType>(['module', 'theme', 'profile']);
/** Directories never scanned: test extensions (Drupal skips them too), dependencies, VCS data. */
const SKIPPED_DIRS: ReadonlySet<string> = new Set(['tests', 'node_modules', 'vendor']);
const machineName = /^[a-z][a-z0-9_]*$/;

/**
 * Scans a docroot for packages, in Drupal's order of precedence (core, then profiles, then
 * modules and themes): a later one of the same name replaces an earlier one. Symlinks are not
 * followed (no cycles, nothing outside the platform).
 */
export async function scanPackages(
  docroot: string,
  coreVersion: string,
  composer: ReadonlyArray<{ path: string; version: string }> = [],
): Promise<PlatformPackage[]> {
  // The longest install path that holds a package's directory is its Composer package.
  const byDepth = [...composer].sort((a, b) => b.path.length - a.path.length);
  const composerVersion = (dir: string) =>
    byDepth.find((item) => dir === item.path || dir.startsWith(`${item.path}/`))?.version;
  const found = new Map<string, PlatformPackage>();
  const roots = ['core/modules', 'core/themes', 'core/profiles', 'profiles', 'modules', 'themes'];
  for (const root of roots) {
    for (const infoFile of await infoFiles(join(docroot, root))) {
      const name = infoFile.slice(infoFile.lastIndexOf('/') + 1, -'.info.yml'.length);
      if (!machineName.test(name)) continue;
      const info = parseInfoYml(await readFile(infoFile, 'utf8'));
      const type = info.type ?? '';
      if (!PACKAGE_TYPES.has(type)) continue;
      const dir = infoFile.slice(0, infoFile.lastIndexOf('/'));
      const install = await readFile(join(dir, `${name}.install`), 'utf8').catch(() => '');
      const postUpdate = await readFile(join(dir, `${name}.post_update.php`), 'utf8').catch(() => '');
      const lastRemoved = lastRemovedUpdate(name, install);
      const path = relative(docroot, dir);
      found.set(name, {
        name,
        type: type as PlatformPackageType,
        version: info.version === 'VERSION' ? coreVersion : (composerVersion(path) ?? info.version ?? ''),
        schemaVersion: Math.max(highestUpdate(name, install), lastRemoved),
        lastRemovedSchema: lastRemoved,
        postUpdates: postUpdates(name, postUpdate),
        removedPostUpdates: removedPostUpdates(name, postUpdate),
        path,
      });
    }
  }
  return [...found.values()].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}

async function infoFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) files.push(...(await infoFiles(path)));
    } else if (entry.isFile() && entry.name.endsWith('.info.yml')) {
      files.push(path);
    }
  }
  return files;
}
