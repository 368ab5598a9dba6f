import { readFile } from 'node:fs/promises';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import { type PhpPoolFile, readPhpPool } from '../../../shared/src/php-pool.js';
import type { HostSettings } from '../config.js';
import type { Owner } from './files.js';
import { HostLayout } from './layout.js';
import { readGroups, readUsers } from './unix-users.js';

/** A site's own PHP-FPM pool on this server, as its pool file and the local accounts say. */
export interface SitePool extends PhpPoolFile {
  /** The pool file, `<root>/config/php-fpm/<domain>.conf`. */
  readonly path: string;
  readonly uid: number;
  readonly gid: number;
}

/**
 * The pool file of a site, read back (whoever's user it names); undefined when the site has none.
 * A file in its place that Berth could not have written is refused: the agent would not know
 * whose the site's files are.
 */
export async function readSitePoolFile(
  host: Pick<HostSettings, 'root'>,
  domain: string,
): Promise<(PhpPoolFile & { path: string }) | undefined> {
  const path = new HostLayout(host.root).phpPoolPath(domain);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const pool = readPhpPool(text);
  if (!pool) {
    throw new StepError({
      code: StepErrorCode.Refused,
      message: `${path} is not a pool file Berth wrote (no pool, user or socket in it): remove it or write it again (php.write-pool)`,
      retryable: false,
    });
  }
  return { ...pool, path };
}

/**
 * The site's own pool, its user and its group: the one place that says whom a site's PHP runs as
 * on this server. Undefined when the site has no pool of its own: it runs in the server's shared
 * pool, as the web user (--web-user), as before pools existed.
 */
export async function sitePool(
  host: Pick<HostSettings, 'root'>,
  domain: string,
): Promise<SitePool | undefined> {
  const pool = await readSitePoolFile(host, domain);
  if (!pool) return undefined;
  const user = (await readUsers()).find((entry) => entry.name === pool.user);
  const group = (await readGroups()).find((entry) => entry.name === pool.group);
  if (!user || !group) {
    throw new StepError({
      code: StepErrorCode.NotFound,
      message: `the PHP-FPM pool of ${domain} (${pool.path}) runs as ${pool.user}:${pool.group}, but ${!user ? `user ${pool.user}` : `group ${pool.group}`} does not exist on this server: write the pool again (php.write-pool)`,
      retryable: false,
    });
  }
  return { ...pool, uid: user.uid, gid: group.gid };
}

/** Who owns what of a site directory on this server. */
export interface SiteOwners {
  /** files/ and private/, and everything in them: what PHP writes. */
  readonly writer: Owner | undefined;
  /**
   * root and the group that reads the site's settings.php and credentials (and, with a pool of its
   * own, enters the site directory); undefined: files keep the agent's owner, readable by all.
   */
  readonly reader: Owner | undefined;
  /** The site directory itself: root:<site group> 0750 with a pool of its own, else 0755. */
  readonly siteDir: { readonly owner: Owner | undefined; readonly mode: number };
  /** The site's pool, when it has one of its own. */
  readonly pool: SitePool | undefined;
}

/** The owners of a site: its pool's user and group when it has a pool, else the web user's. */
export async function siteOwners(
  host: Pick<HostSettings, 'root' | 'webUser'>,
  domain: string,
): Promise<SiteOwners> {
  const pool = await sitePool(host, domain);
  return pool ? poolOwners(pool) : sharedOwners(host);
}

export function poolOwners(pool: SitePool): SiteOwners {
  const reader = { uid: 0, gid: pool.gid };
  // Other sites' users are not in the group: they cannot even look inside the directory.
  return { writer: { uid: pool.uid, gid: pool.gid }, reader, siteDir: { owner: reader, mode: 0o750 }, pool };
}

/** The shared pool: PHP runs as the web user, which owns files/ and private/ and reads the rest. */
export function sharedOwners(host: Pick<HostSettings, 'webUser'>): SiteOwners {
  const web = host.webUser;
  const agent = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  return {
    writer: web ? { uid: web.uid, gid: web.gid } : undefined,
    reader: web ? { uid: 0, gid: web.gid } : undefined,
    siteDir: { owner: agent, mode: 0o755 },
    pool: undefined,
  };
}
