import { createHash } from 'node:crypto';
import { access, constants, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import {
  type PhpPoolFile,
  type PhpSettings,
  readPhpPool,
  renderPhpPool,
} from '../../../../shared/src/php-pool.js';
import { ensureDir, pathKind, swapConfigFile } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { Nginx } from '../../adapters/nginx.js';
import { PhpFpm, type ReloadWait, socketAnswers, usersOfRunningPools } from '../../adapters/php-fpm.js';
import { readSitePoolFile, sitePool, siteOwners } from '../../adapters/site-pool.js';
import { readGroups, readUsers, SITE_USER_COMMENT } from '../../adapters/unix-users.js';
import type { StepContext } from '../step.js';
import { ownSiteConfig, ownSiteDirectory } from '../site/ownership.js';

/** The longest path a unix socket may have (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * Puts `content` (or, with undefined, no file) at `path` in the pools directory, then `php-fpm -t`
 * and a graceful reload that waits for `wait`; puts the previous file back (or removes the new
 * one) when the test or the reload fails, so that PHP-FPM, never reloaded with the bad file,
 * serves every site as before. Runs inside PhpFpm.exclusive.
 *
 * PHP-FPM includes `*.conf` of the directory, so the new file cannot be tested beside the old one
 * under another name: it is written beside (`.conf.new`, not included), the old one copied
 * (`.conf.old`), the new one renamed into place, tested, and reloaded.
 */
export async function replacePool(
  context: StepContext,
  fpm: PhpFpm,
  path: string,
  content: string | undefined,
  wait: ReloadWait,
): Promise<void> {
  await swapConfigFile(
    path,
    content,
    async () => {
      await fpm.test();
      await fpm.reload(wait);
    },
    (text) => context.note(text),
  );
}

/** A pool file of this server, with the domain it is named after. */
export type PoolFileOf = PhpPoolFile & { path: string; domain: string };

/** Every pool file of this server (`<root>/config/php-fpm/<domain>.conf`) that Berth could have written. */
export async function poolFiles(layout: HostLayout): Promise<PoolFileOf[]> {
  const names = await readdir(layout.phpPoolsDir).catch(() => [] as string[]);
  const pools: PoolFileOf[] = [];
  for (const name of names.filter((entry) => entry.endsWith('.conf')).sort()) {
    const path = join(layout.phpPoolsDir, name);
    const pool = readPhpPool(await readFile(path, 'utf8').catch(() => ''));
    if (pool) pools.push({ ...pool, path, domain: name.slice(0, -'.conf'.length) });
  }
  return pools;
}

export interface PoolRequest {
  domain: string;
  user: string;
  uid: number;
  settings: PhpSettings;
  /** The domain of the same site whose pool may run as `user` too (see StepDefinitions). */
  sharesWith?: string;
}

/**
 * php.write-pool's work: the site's user and group, the pool file, the reload, then the site's
 * files given to them. See StepDefinitions['php.write-pool'].
 */
export async function writeSitePool(
  context: StepContext,
  { domain, user, uid, settings, sharesWith }: PoolRequest,
): Promise<{ path: string; socket: string; changed: boolean; user: string }> {
  const layout = new HostLayout(context.host.root);
  const fpm = new PhpFpm(context);
  const path = layout.phpPoolPath(domain);
  // Beside another pool of the same user: a pool name and socket of its own, as a twin's.
  // Named by the domain, not the user: the socket a vhost names stays the same whatever user runs
  // the pool (a rename's new name runs as the site's user beside the old name's pool), and it is
  // short (a domain may be 253 characters, a socket path 107).
  const poolName = `site-${createHash('sha256').update(domain).digest('hex').slice(0, 16)}`;
  const socket = layout.phpSocket(poolName);
  const tmpDir = layout.phpUserTmpDir(user);
  if (socket.length > MAX_SOCKET_PATH) {
    throw new StepError({
      code: StepErrorCode.Refused,
      message: `the pool's socket ${socket} would be ${socket.length} characters; a unix socket's path has at most ${MAX_SOCKET_PATH}: use a shorter --root`,
      retryable: false,
    });
  }
  await requireTraversable(context.host.root);
  await requirePoolsIncluded(fpm, layout);

  const result = await fpm.exclusive(async () => {
    const others = (await poolFiles(layout)).filter(
      (pool) => pool.domain !== domain && pool.twinOf !== domain && pool.domain !== sharesWith,
    );
    const taken = others.find((pool) => pool.user === user || pool.pool === user || pool.socket === socket);
    if (taken) {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `user ${user} runs the pool of ${taken.domain} already (${taken.path}): each site has a user of its own`,
        retryable: false,
      });
    }
    const previous = await readSitePoolFile(context.host, domain);
    const { created } = await ensureSiteUser(context, user, uid);
    const joined = await joinSiteGroup(context, user);

    await ensureDir(layout.phpPoolsDir, 0o755);
    await ensureDir(layout.phpSocketsDir, 0o755);
    await ensureTmpDirs(layout);
    await ensureDir(tmpDir, 0o700, { uid, gid: uid });

    const content = renderPhpPool({
      pool: poolName,
      user,
      group: user,
      socket,
      ...socketOwner(context),
      openBasedir: await realPaths([
        layout.siteDir(domain),
        layout.siteConfigDir(domain),
        layout.platformsDir,
      ]),
      tmpDir,
      settings,
      domain,
    });
    const changed = (await readFile(path, 'utf8').catch(() => undefined)) !== content;
    const gone = previous && previous.socket !== socket ? [previous.socket] : [];
    // An unchanged pool that answers is loaded already (a file left by a run cut short between
    // its rename and its reload leaves `.old` beside it): a reload would empty the opcache of
    // every site of this PHP-FPM for nothing.
    if (changed || !(await socketAnswers(socket)) || (await pathKind(`${path}.old`)) === 'file') {
      await replacePool(context, fpm, path, content, { answers: [socket], gone });
      context.note(
        `${changed ? 'wrote' : 'kept'} ${path} (user ${user}, socket ${socket}); PHP-FPM reloaded`,
      );
    } else {
      context.note(
        `kept ${path} (user ${user}, socket ${socket}): unchanged and serving, PHP-FPM not reloaded`,
      );
    }
    if (created) context.note(`made user and group ${user} (uid and gid ${uid})`);
    if (previous && previous.user !== user) await dropSiteUser(context, layout, previous.user);
    return { changed, joined };
  });

  if (result.joined) await reloadNginxForGroups(context);
  await ownSite(context, layout, domain);
  return { path, socket, changed: result.changed, user };
}

/**
 * The pool of a twin (site.write-settings `sameAs`, a blue-green copy): the same user, group and
 * settings as the site it is a twin of, its own socket, and open_basedir over its own directories
 * (its settings and credentials) and the other site's (its files). Written only when that site has
 * a pool of its own; otherwise a twin pool left from before goes, and the twin runs in the shared
 * pool as its site does. A pool the master wrote for the twin itself (php.write-pool) is left alone.
 */
export async function syncTwinPool(context: StepContext, twin: string, original: string): Promise<void> {
  const layout = new HostLayout(context.host.root);
  const own = await readSitePoolFile(context.host, twin);
  if (own && own.twinOf === undefined) return;
  const origin = await sitePool(context.host, original);
  if (!origin) {
    if (own) await removeSitePool(context, twin);
    return;
  }
  const fpm = new PhpFpm(context);
  const hash = createHash('sha256').update(twin).digest('hex').slice(0, 8);
  const pool = `${origin.user.slice(0, 21)}-t${hash}`;
  const socket = layout.phpSocket(pool);
  const path = layout.phpPoolPath(twin);
  const content = renderPhpPool({
    pool,
    user: origin.user,
    group: origin.group,
    socket,
    ...socketOwner(context),
    openBasedir: await realPaths([
      layout.siteDir(twin),
      layout.siteConfigDir(twin),
      layout.siteDir(original),
      layout.platformsDir,
    ]),
    tmpDir: origin.tmpDir ?? layout.phpUserTmpDir(origin.user),
    settings: origin.settings,
    domain: twin,
    twinOf: original,
  });
  await fpm.exclusive(async () => {
    await ensureDir(layout.phpSocketsDir, 0o755);
    const changed = (await readFile(path, 'utf8').catch(() => undefined)) !== content;
    if (!changed && (await socketAnswers(socket))) return;
    await replacePool(context, fpm, path, content, { answers: [socket] });
    context.note(`wrote ${path}: ${twin} runs as ${origin.user}, the user of ${original}; PHP-FPM reloaded`);
  });
}

/**
 * php.remove-pool's work (site.remove's too): the pool file removed and PHP-FPM reloaded, then the
 * user and group when no other pool names them. A site directory still there goes back to the web
 * user. False when the site had no pool.
 */
export async function removeSitePool(
  context: StepContext,
  domain: string,
  options: { reown?: boolean } = {},
): Promise<boolean> {
  const layout = new HostLayout(context.host.root);
  const pool = await readSitePoolFile(context.host, domain);
  if (!pool) return false;
  const fpm = new PhpFpm(context);
  await fpm.exclusive(async () => {
    await replacePool(context, fpm, pool.path, undefined, { gone: [pool.socket] });
    context.note(`removed ${pool.path}; PHP-FPM reloaded`);
    await dropSiteUser(context, layout, pool.user);
  });
  const vhost = await readFile(layout.vhostPath(domain), 'utf8').catch(() => '');
  if (vhost.includes(`unix:${pool.socket};`)) {
    context.note(
      `${layout.vhostPath(domain)} still passes PHP to ${pool.socket}: write it again (http.write-vhost) for the shared pool`,
    );
  }
  // site.remove deletes the directory right after: no walk through it first.
  if (options.reown !== false) await ownSite(context, layout, domain);
  return true;
}

/**
 * The site's directory and config directory given to their owners as they are now (its pool's
 * user, or the web user without one): whatever of them exists.
 */
async function ownSite(context: StepContext, layout: HostLayout, domain: string): Promise<void> {
  const owners = await siteOwners(context.host, domain);
  if ((await pathKind(layout.siteDir(domain))) === 'directory') {
    await ownSiteDirectory(layout.siteDir(domain), owners);
    context.note(
      `${layout.siteDir(domain)}: files/ and private/ owned by ${owners.pool?.user ?? context.host.webUser?.name ?? 'the agent'}`,
    );
  }
  await ownSiteConfig(layout.siteConfigDir(domain), owners);
}

/** Who may connect to a pool's socket besides its user: nginx's (the web user). */
function socketOwner(context: StepContext): { socketOwner?: string } {
  const web = context.host.webUser;
  return web ? { socketOwner: web.name } : {};
}

/**
 * The site's user and group: made when missing (`groupadd -g UID`, `useradd -u UID -g NAME`, no
 * home, no shell, marked as Berth's by its comment); refused when the name or the uid is
 * another's, or when the user was not made by Berth.
 */
async function ensureSiteUser(
  context: StepContext,
  name: string,
  uid: number,
): Promise<{ created: boolean }> {
  const refuse = (message: string) =>
    new StepError({
      code: StepErrorCode.Refused,
      message: `${message}: not used for a site`,
      retryable: false,
    });
  const users = await readUsers();
  const groups = await readGroups();
  const user = users.find((entry) => entry.name === name);
  const uidHolder = users.find((entry) => entry.uid === uid);
  const group = groups.find((entry) => entry.name === name);
  const gidHolder = groups.find((entry) => entry.gid === uid);
  if (user && user.uid !== uid)
    throw refuse(`user ${name} exists on this server with uid ${user.uid}, not ${uid}`);
  if (!user && uidHolder) throw refuse(`uid ${uid} belongs to user ${uidHolder.name} on this server`);
  if (user && user.comment !== SITE_USER_COMMENT)
    throw refuse(
      `user ${name} exists on this server and was not made by Berth (its comment is not "${SITE_USER_COMMENT}")`,
    );
  if (group && group.gid !== uid)
    throw refuse(`group ${name} exists on this server with gid ${group.gid}, not ${uid}`);
  if (!group && gidHolder) throw refuse(`gid ${uid} belongs to group ${gidHolder.name} on this server`);
  if (user && user.gid !== uid)
    throw refuse(`user ${name}'s group is gid ${user.gid}, not its own group ${uid}`);
  if (user) return { created: false };

  if (!group) {
    await context.exec({ file: 'groupadd', args: ['-g', String(uid), name], debianPackage: 'passwd' });
  }
  try {
    await context.exec({
      file: 'useradd',
      args: [
        ...['-u', String(uid), '-g', name],
        // No home (nothing of the site's lives in one), no login, no lastlog entry for a high uid.
        ...['-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', '-l'],
        ...['-c', SITE_USER_COMMENT, name],
      ],
      debianPackage: 'passwd',
    });
  } catch (error) {
    // Nothing half-made: the group made for this user goes with it.
    if (!group) await context.exec({ file: 'groupdel', args: [name] }).catch(() => undefined);
    throw error;
  }
  return { created: true };
}

/**
 * nginx's user (the web user) in the site's group: nginx serves the site's static files (files/)
 * through it, the site directory being 0750 root:<site group>. True when it was added now.
 */
async function joinSiteGroup(context: StepContext, group: string): Promise<boolean> {
  const web = context.host.webUser;
  // Root reads everything anyway (test stacks run nginx and PHP as root).
  if (!web || web.uid === 0) return false;
  const found = (await readGroups()).find((entry) => entry.name === group);
  if (found?.members.includes(web.name)) return false;
  await context.exec({ file: 'gpasswd', args: ['-a', web.name, group], debianPackage: 'passwd' });
  return true;
}

/**
 * nginx's workers take their groups when they start: after the web user joined a group, a reload
 * gives them the new one (when nginx runs; the site's vhost write reloads it anyway).
 */
async function reloadNginxForGroups(context: StepContext): Promise<void> {
  const nginx = new Nginx(context);
  await nginx.exclusive(async () => {
    if (await nginx.running()) {
      await nginx.reload();
      context.note(`nginx reloaded: its workers are in the new group`);
    }
  });
}

/**
 * Deletes a site's user and group, and its temporary directory, when no pool names the user any
 * more, and only a user Berth made.
 */
async function dropSiteUser(context: StepContext, layout: HostLayout, name: string): Promise<void> {
  const still = (await poolFiles(layout)).find((pool) => pool.user === name);
  if (still) {
    context.note(`user ${name} kept: the pool of ${still.domain} runs as it`);
    return;
  }
  const user = (await readUsers()).find((entry) => entry.name === name);
  if (user && user.comment !== SITE_USER_COMMENT) {
    context.note(`user ${name} kept: Berth did not make it`);
    return;
  }
  if ((await usersOfRunningPools()).has(name)) {
    context.note(`user ${name} kept: a pool of another PHP-FPM of this machine runs as it`);
    return;
  }
  if (user) await context.exec({ file: 'userdel', args: [name], debianPackage: 'passwd' });
  const group = (await readGroups()).find((entry) => entry.name === name);
  if (group && (!user || group.gid === user.gid)) {
    await context.exec({ file: 'groupdel', args: [name], debianPackage: 'passwd' });
  }
  await rm(layout.phpUserTmpDir(name), { recursive: true, force: true });
  if (user) context.note(`deleted user and group ${name}`);
}

/** `<root>/tmp` and `<root>/tmp/php`: others pass through (to their own directory), never list. */
async function ensureTmpDirs(layout: HostLayout): Promise<void> {
  await ensureDir(layout.tmpDir, 0o711);
  await ensureDir(layout.phpTmpDir, 0o711);
}

/**
 * The pools' users reach the site through the root: every directory above it must let others
 * pass (a root in a 0700 temp directory would make every pool fail on its first request).
 */
async function requireTraversable(root: string): Promise<void> {
  for (let dir = root; ; dir = dirname(dir)) {
    const mode = (await stat(dir).catch(() => undefined))?.mode;
    if (mode !== undefined && (mode & 0o001) === 0) {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `${dir} does not let other users pass (mode ${(mode & 0o777).toString(8)}): the sites' own users could not reach ${root}; run \`chmod o+x ${dir}\``,
        retryable: false,
      });
    }
    if (dir === dirname(dir)) return;
  }
}

async function requirePoolsIncluded(fpm: PhpFpm, layout: HostLayout): Promise<void> {
  await access(fpm.conf, constants.R_OK).catch(() => {
    throw new StepError({
      code: StepErrorCode.MissingDependency,
      message: `PHP-FPM's main configuration ${fpm.conf} cannot be read: install php-fpm or start the agent with --php-fpm-conf`,
      retryable: false,
    });
  });
  if (await fpm.includes(layout.phpPoolsDir)) return;
  throw new StepError({
    code: StepErrorCode.MissingDependency,
    message:
      `PHP-FPM's configuration ${fpm.conf} does not include the sites' pools: add the line ` +
      `"include=${layout.phpPoolsDir}/*.conf" to it (or to a file it includes, as ops/web-services.sh ` +
      `does with pool.d/berth.conf), then run the step again`,
    retryable: false,
  });
}

/**
 * open_basedir compares PHP's resolved paths: a site directory reached through a link (a cluster
 * head whose `<root>/sites` links to the shared one) must be named by where it really is.
 */
async function realPaths(paths: readonly string[]): Promise<string[]> {
  return Promise.all(paths.map((path) => realpath(path).catch(() => path)));
}
