import { randomBytes } from 'node:crypto';
import {
  chmod,
  chown,
  copyFile,
  lstat,
  mkdir,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The owner files are given (the web user), or undefined to keep the agent's. */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** A name for a work file beside `path`, on the same filesystem so that a rename is atomic. */
export function besidePath(path: string, tag: string): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${randomBytes(6).toString('hex')}`);
}

/**
 * Puts the directory `fresh` where `target` is: two renames (the old one put back if the second
 * fails), the old directory removed only after — or kept as `keepOldAs`.
 */
export async function replaceDirectory(
  fresh: string,
  target: string,
  targetExists: boolean,
  keepOldAs?: string,
): Promise<void> {
  if (!targetExists) {
    await rename(fresh, target);
    return;
  }
  const old = keepOldAs ?? besidePath(target, 'old');
  await rename(target, old);
  try {
    await rename(fresh, target);
  } catch (error) {
    await rename(old, target);
    throw error;
  }
  if (!keepOldAs) await rm(old, { recursive: true, force: true });
}

/**
 * Writes a file so that readers see either the old content or the new, never a part: a temp file
 * beside it, with its mode (and owner) set before the rename.
 */
export async function writeFileAtomic(
  path: string,
  content: string | Buffer,
  options: { mode: number; owner?: { uid: number; gid: number } },
): Promise<void> {
  const temp = besidePath(path, 'new');
  try {
    await writeFile(temp, content, { mode: options.mode, flag: 'wx' });
    // The umask may have taken bits away: the mode is what was asked, exactly.
    await chmod(temp, options.mode);
    if (options.owner) await chown(temp, options.owner.uid, options.owner.gid);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Creates a directory (and its parents) and sets its mode, also when it existed. */
export async function ensureDir(path: string, mode: number, owner?: Owner): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  await chmod(path, mode);
  if (owner) await chown(path, owner.uid, owner.gid);
}

/** Points `link` at `target`, replacing an existing link atomically (a temp link renamed over it). */
export async function symlinkAtomic(target: string, link: string): Promise<void> {
  const temp = besidePath(link, 'link');
  await symlink(target, temp);
  try {
    await rename(temp, link);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export type PathKind = 'missing' | 'file' | 'directory' | 'symlink' | 'other';

export async function pathKind(path: string): Promise<PathKind> {
  try {
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) return 'symlink';
    if (stats.isDirectory()) return 'directory';
    if (stats.isFile()) return 'file';
    return 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}

export async function readLinkOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch {
    return undefined;
  }
}

/**
 * A server's configuration file replaced (or, with undefined, removed), then `apply` (a test and a
 * reload); when either fails the previous file is put back and the error goes on. The new file is
 * written beside and renamed in: the server never reads half of it. How nginx's vhosts and PHP-FPM's
 * pools are changed.
 */
export async function swapConfigFile(
  path: string,
  content: string | undefined,
  apply: () => Promise<void>,
  note: (text: string) => void,
): Promise<void> {
  const backup = `${path}.old`;
  const hadOld = (await pathKind(path)) === 'file';
  if (hadOld) await copyFile(path, backup);
  const restore = async () => {
    if (hadOld) await rename(backup, path);
    else await rm(path, { force: true });
  };
  try {
    if (content === undefined) {
      await rm(path, { force: true });
    } else {
      const fresh = `${path}.new`;
      await rm(fresh, { force: true });
      await writeFileAtomic(fresh, content, { mode: 0o644 });
      await rename(fresh, path);
    }
  } catch (error) {
    await restore();
    throw error;
  }
  try {
    await apply();
  } catch (error) {
    await restore();
    note(`${path} put back as it was`);
    throw error;
  }
  await rm(backup, { force: true });
}
