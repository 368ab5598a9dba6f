import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** What a platform's codebase is, file for file: the same on every head of a cluster, or not. */
export interface PlatformContent {
  /** sha256 over every entry's kind, path, mode and content (a link: its target), in path order. */
  sha256: string;
  files: number;
  bytes: number;
}

/**
 * Hashes the codebase under `platformDir`: every regular file (its content and permission bits)
 * and symlink (its target), by path relative to the platform, sorted. Left out: what is under
 * `web/sites/` but for the files directly in it (sites.php and the examples), since each head links
 * its sites in there itself; and anything that is neither a file, a directory nor a link.
 */
export async function platformContent(platformDir: string): Promise<PlatformContent> {
  const total = createHash('sha256');
  let files = 0;
  let bytes = 0;
  const walk = async (relative: string): Promise<void> => {
    const entries = (await readdir(join(platformDir, relative))).sort();
    for (const name of entries) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const stats = await lstat(join(platformDir, path));
      const perSite = relative === 'web/sites';
      if (stats.isDirectory()) {
        if (!perSite) await walk(path);
      } else if (stats.isSymbolicLink()) {
        if (!perSite) total.update(`link\0${path}\0${await readlink(join(platformDir, path))}\n`);
      } else if (stats.isFile()) {
        const mode = (stats.mode & 0o777).toString(8);
        total.update(`file\0${path}\0${mode}\0${await fileSha256(join(platformDir, path))}\n`);
        files += 1;
        bytes += stats.size;
      }
    }
  };
  await walk('');
  return { sha256: total.digest('hex'), files, bytes };
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
