import { lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Owner } from '../../adapters/files.js';

/**
 * Gives the web user the writable parts of a site directory (files/, private/) and what is in them.
 * Never through a link: links are lchown'ed, never followed or descended into (a part that is
 * itself a link is left alone), and a directory is given away only after everything in it, so the
 * web user cannot swap a directory for a link while the walk is still below it.
 */
export async function chownTree(root: string, parts: readonly string[], owner: Owner): Promise<void> {
  const walk = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) await walk(child);
      else await lchown(child, owner.uid, owner.gid);
    }
    await lchown(path, owner.uid, owner.gid);
  };
  for (const part of parts) {
    const stats = await lstat(join(root, part)).catch(() => undefined);
    if (stats?.isDirectory()) await walk(join(root, part));
  }
}
