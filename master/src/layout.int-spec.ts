import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = dirname(new URL(import.meta.url).pathname);
/** Infrastructure, not a feature: the registry's entity list and the gRPC server name features. */
const NOT_FEATURES = new Set(['infra']);

/** Every non-test TypeScript file under master/src/<folder>/. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sources(path);
    return /\.ts$/.test(entry.name) && !/\.(int-)?spec\.ts$/.test(entry.name) ? [path] : [];
  });
}

const featureOf = (path: string): string | undefined => {
  const [top, ...rest] = relative(SRC, path).split('/');
  return rest.length > 0 && top && !NOT_FEATURES.has(top) ? top : undefined;
};

/**
 * The master's features depend on one another in one direction only (sites on platforms, servers
 * and tasks, and so on): where one needs another's answer, it declares an interface the other
 * implements and master.ts wires in. Read from the import statements of the code itself.
 */
describe('master/src layout', () => {
  it('has no pair of features that import each other', () => {
    const edges = new Map<string, Set<string>>();
    for (const file of sources(SRC)) {
      const from = featureOf(file);
      if (!from) continue;
      for (const match of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const to = featureOf(resolve(dirname(file), match[1]!));
        if (to && to !== from) edges.set(from, new Set([...(edges.get(from) ?? []), to]));
      }
    }
    const pairs = [...edges].flatMap(([from, targets]) =>
      [...targets].filter((to) => from < to && edges.get(to)?.has(from)).map((to) => `${from} <-> ${to}`),
    );
    expect(edges.get('sites')?.has('tasks')).toBe(true);
    expect(pairs).toEqual([]);
  });
});
