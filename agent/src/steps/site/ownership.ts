import { chown, lchown, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Owner } from '../../adapters/files.js';

/** Gives the web user the writable parts of a site directory (files/, private/), links included. */
export async function chownTree(root: string, parts: readonly string[], owner: Owner): Promise<void> {
  const walk = async (path: string): Promise<void> => {
    await lchown(path, owner.uid, owner.gid);
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) await walk(child);
      else await lchown(child, owner.uid, owner.gid);
    }
  };
  for (const part of parts) {
    try {
      await chown(join(root, part), owner.uid, owner.gid);
    } catch {
      continue;
    }
    await walk(join(root, part));
  }
}
