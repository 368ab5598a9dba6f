import { chmod, chown, lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Owner } from '../../adapters/files.js';
import type { SiteOwners } from '../../adapters/site-pool.js';

/**
 * Gives the web user (or the site's pool user) the writable parts of a site directory (files/,
 * private/) and what is in them.
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

/**
 * Gives a site directory (or a new one about to take its place) the owners of the site on this
 * server (siteOwners): files/ and private/ to the writer, all the way down (chownTree);
 * settings.php root's, readable by the reader group only; the directory itself as the owners say
 * (0750 root:<site group> for a site with a pool of its own: no other site's user enters). What
 * is not there is left alone; links are never followed.
 */
export async function ownSiteDirectory(
  dir: string,
  owners: SiteOwners,
  /** false: files/ and private/ were given already (chownTree), only the rest is done. */
  options: { writable?: boolean } = {},
): Promise<void> {
  if (owners.writer && options.writable !== false) await chownTree(dir, ['files', 'private'], owners.writer);
  const settings = join(dir, 'settings.php');
  if ((await lstat(settings).catch(() => undefined))?.isFile()) {
    if (owners.reader) await lchown(settings, owners.reader.uid, owners.reader.gid);
    await chmod(settings, owners.reader ? 0o440 : 0o444);
  }
  if (owners.siteDir.owner) await chown(dir, owners.siteDir.owner.uid, owners.siteDir.owner.gid);
  await chmod(dir, owners.siteDir.mode);
}

/** The site's config directory (credentials.php): root's, readable by the reader group only. */
export async function ownSiteConfig(dir: string, owners: SiteOwners): Promise<void> {
  if (!(await lstat(dir).catch(() => undefined))?.isDirectory()) return;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    if (owners.reader) await lchown(join(dir, entry.name), owners.reader.uid, owners.reader.gid);
    await chmod(join(dir, entry.name), 0o640);
  }
  if (owners.reader) await chown(dir, owners.reader.uid, owners.reader.gid);
  await chmod(dir, 0o750);
}
