import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
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
export async function scanPackages(docroot: string, coreVersion: string): Promise<PlatformPackage[]> {
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
      found.set(name, {
        name,
        type: type as PlatformPackageType,
        version: info.version === 'VERSION' ? coreVersion : (info.version ?? ''),
        schemaVersion: highestUpdate(name, install),
        path: relative(docroot, dir),
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
