import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

/**
 * The rules for symlinks in a site directory, one piece of code for both directions: a backup
 * leaves out a link that a restore would refuse (site-archive.ts), and a restore refuses it.
 */

/** Links followed in one resolution before it counts as a loop (Linux's own limit). */
const MAX_LINK_HOPS = 40;

/**
 * Why a link at `path` (relative to the site directory) with this target can never be restored,
 * from its text alone; null when its text keeps it inside.
 */
export function linkTargetProblem(path: string, target: string): string | null {
  if (target === '' || target.includes('\0')) return 'its target is empty or not text';
  if (target.startsWith('/')) {
    return `it points to ${JSON.stringify(target)}: only relative links inside the site directory are restored`;
  }
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  if (resolved === '..' || resolved.startsWith('../')) {
    return `it points outside the site directory (${JSON.stringify(target)})`;
  }
  return null;
}

/**
 * Whether the link at `path` (relative to `root`) resolves inside `root` when every link on its
 * way is followed as the kernel would, against what is on disk now. A chain of links that are
 * each "inside" by their text (`l -> .`, `u -> l/..`, `u2 -> u/..`) can still end outside; so can
 * a link through an absolute one. A part that does not exist (yet) is taken as written.
 */
export async function resolvesInside(root: string, path: string): Promise<boolean> {
  const at = path.split('/').slice(0, -1);
  const target = await readlink(join(root, path));
  return walk(root, at, target.split('/'));
}

async function walk(root: string, start: string[], segments: string[]): Promise<boolean> {
  const at = [...start];
  const queue = [...segments];
  let hops = 0;
  let missing = false;
  while (queue.length > 0) {
    const segment = queue.shift()!;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (at.length === 0) return false;
      at.pop();
      continue;
    }
    if (!missing) {
      // Every part of `at` is a real directory (or missing): lstat here follows no link.
      const stats = await lstat(join(root, ...at, segment)).catch(() => undefined);
      if (!stats) {
        missing = true;
      } else if (stats.isSymbolicLink()) {
        hops += 1;
        if (hops > MAX_LINK_HOPS) return false;
        const next = await readlink(join(root, ...at, segment));
        if (next.startsWith('/')) return false;
        queue.unshift(...next.split('/'));
        continue;
      }
    }
    at.push(segment);
  }
  return true;
}
