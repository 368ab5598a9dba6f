import type { DeployHook } from './deploy-hooks.js';
import type { PlatformSource } from './platform-source.js';
import type { ServerRole } from './server-roles.js';

/**
 * The agent's fixed step vocabulary and each step's parameters and output. The master only ever
 * names a step from this list with parameters of its shape; the agent validates them again.
 */

export interface ServiceInfo {
  /** "http", "db", "php" or "tool". */
  kind: 'http' | 'db' | 'php' | 'tool';
  name: string;
  version: string;
  running: boolean;
  path: string;
}

/** A module, theme, profile or core as a static scan of a platform finds it. */
export interface ScannedPackage {
  name: string;
  type: 'core' | 'module' | 'theme' | 'profile';
  version: string | null;
  /** The highest hook_update_N in its .install file; 0 when it has none. */
  schemaVersion: number;
  /** Relative to the platform root. */
  path: string;
}

/** The part of a site archive that holds the site directory (without settings.php). */
export interface SiteArchiveFilesPart {
  /** Entries (files, directories, symlinks) under `site/`. */
  entries: number;
  /** Bytes of regular-file content. */
  bytes: number;
  /**
   * sha256 (hex) of the listing, one line per entry in archive order:
   * `<type> <path> <size> <sha256 of the content | link target>\n` (see agent/src/adapters/site-archive.ts).
   */
  sha256: string;
}

/** A place in a MariaDB server's binary log (SHOW MASTER STATUS): a log file and an offset in it. */
export interface BinlogPosition {
  file: string;
  position: number;
}

/** A binary log's file name as the server names it (`log_bin_basename` + `.000123`), nothing path-like. */
export const BINLOG_FILE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** The `database.sql` entry of a site archive: a plain mariadb-dump. */
export interface SiteArchiveDatabasePart {
  /** The database it was dumped from. */
  database: string;
  bytes: number;
  sha256: string;
}

/** `manifest.json`, the last entry of every site archive. */
export interface SiteArchiveManifest {
  format: 'berth-site-archive/1';
  domain: string;
  /** ISO 8601. */
  createdAt: string;
  files: SiteArchiveFilesPart;
  database: SiteArchiveDatabasePart | null;
  /**
   * What the backup left out of the site directory because a restore would refuse it (sockets,
   * FIFOs, devices, links leaving the site directory), with why. Absent in older archives.
   */
  skipped?: Array<{ path: string; why: string }>;
  /**
   * A delta (site.archive with `changedSince`): only what changed since then, plus `present`, the
   * number of paths present.list holds. Absent in a full archive.
   */
  delta?: { since: string; present: number };
}

export type PlatformPackageType = 'core' | 'module' | 'theme' | 'profile';

/**
 * A package found on a platform by platform.scan: Drupal core itself (name `drupal`, type `core`)
 * and each module, theme and profile (theme engines and test extensions are left out).
 */
export interface PlatformPackage {
  /** Machine name (the `.info.yml` file name); `drupal` for core. */
  name: string;
  type: PlatformPackageType;
  /** Its `version:` (core's own extensions report the core version); "" when absent. */
  version: string;
  /**
   * The schema its code is at: the highest N of `function <name>_update_N(` in `<name>.install`,
   * or its `hook_update_last_removed()` when that is higher (Drupal 11 removed every update of
   * system, node, user ... and kept only the last removed number); 0 when it has neither.
   */
  schemaVersion: number;
  /**
   * `<name>_update_last_removed()`'s number, 0 when it has none: a site whose schema is below it
   * cannot be updated on this code (Drupal: update to an intermediate version first).
   */
  lastRemovedSchema: number;
  /** The `<name>_post_update_NAME()` functions of `<name>.post_update.php`, by function name. */
  postUpdates: string[];
  /** The post-updates `<name>_removed_post_updates()` lists: a site must have run them before. */
  removedPostUpdates: string[];
  /** Directory of the package relative to the docroot (web/), e.g. `modules/contrib/token`, as pm:list gives it. */
  path: string;
}

/** What `drush status --format=json` says of a site (the keys the engine uses). */
export interface AppStatus {
  drupalVersion: string;
  /** "Connected" or "" (drush's `db-status`). */
  dbStatus: string;
  /** "Successful" when Drupal bootstraps fully. */
  bootstrap: string;
  sitePath: string;
  /** Every key drush reported, as it reported it. */
  raw: Record<string, unknown>;
}

export interface PendingUpdate {
  module: string;
  updateId: string;
  description: string;
  type: string;
}

export interface StepDefinitions {
  /** Detects the services this server offers (nginx, apache, php-fpm, MariaDB/MySQL, php, drush). */
  'server.probe': {
    params: Record<string, never>;
    /**
     * `address`: the IP address the other servers reach this one at (agent --address); `roles`:
     * what it offers to sites (agent --roles, else what its running services give).
     */
    output: {
      hostname: string;
      address: string;
      roles: ServerRole[];
      services: ServiceInfo[];
      agentVersion: string;
      os: string;
    };
  };
  /**
   * Checks the archive link: generates `bytes` of pseudo-random data, uploads it to the reserved
   * archive, downloads it back and compares sha256 at both ends.
   */
  'link.transfer-check': {
    params: { archiveId: string; bytes: number };
    output: { sha256: string; bytes: number; uploadMs: number; downloadMs: number };
  };
  /** Does nothing; measures dispatch latency. Only on agents started with debug steps enabled. */
  'debug.noop': {
    params: Record<string, never>;
    output: { at: number };
  };
  /** Runs `sleep` as a child process for `ms`; exercises leases and cancellation. Debug agents only. */
  'debug.sleep': {
    params: { ms: number };
    output: { sleptMs: number };
  };

  /**
   * Creates the database (utf8mb4) and the user, sets the user's password (resetting it when the
   * user exists) and grants it everything on that database only. `host` is the grant's host
   * pattern: `%`, `localhost`, an IP or a name. Idempotent, unless `fresh`: then a database of that
   * name already there refuses the step (REFUSED) before anything is written (a database moved to
   * this server never lands on one that is not its own).
   */
  'db.create': {
    params: { database: string; user: string; host: string; fresh?: boolean };
    secrets: { dbPassword: string };
    output: { database: string; user: string };
  };
  /**
   * Copies a database into another, empty one on the same server (db.create it first), on the db
   * server itself, nothing through the master: InnoDB's transportable tablespaces when every table
   * allows it (the files copied while FLUSH TABLES ... FOR EXPORT holds their writes), else a
   * consistent dump piped into the client. `bytes`: of files, or of SQL.
   */
  'db.copy': {
    params: { from: string; to: string };
    output: { bytes: number; method: 'tablespaces' | 'dump' };
  };
  /**
   * Moves every table of `database` into the database `aside` (made here) with one RENAME TABLE:
   * metadata only, atomic; `database` is left empty. REFUSED with nothing changed when it has
   * views, triggers, routines or events, or `aside` holds tables; done already, it does nothing.
   */
  'db.set-aside': {
    params: { database: string; aside: string };
    output: { tables: number };
  };
  /**
   * Undoes db.set-aside: every table `database` holds now dropped, the set-aside ones renamed
   * back, `aside` dropped. Nothing set aside: nothing done.
   */
  'db.put-back': {
    params: { database: string; aside: string };
    output: { tables: number };
  };
  /** Drops a database, if it exists, and no user: one the site's user no longer needs. */
  'db.drop-database': {
    params: { database: string };
    output: { database: string; dropped: boolean };
  };
  /** Drops the database and the user `user`@`host`, each if it exists. */
  'db.drop': {
    params: { database: string; user: string; host: string };
    output: { database: string; user: string };
  };
  /** Drops one account (`user`@`host`) of a site's user, not its database nor its other accounts. */
  'db.drop-user': {
    params: { user: string; host: string };
    output: { user: string; host: string };
  };
  /**
   * Dumps the database (mariadb-dump --single-transaction --quick --routines --triggers
   * --hex-blob), gzipped, straight into the reserved archive. A rollback point. Where the server
   * keeps a row-based binary log, the dump says where in it its snapshot was taken (`binlog`), read
   * from the consistent snapshot itself (no global lock): a rollback can replay the log from there.
   */
  'db.dump': {
    /**
     * `alsoInto`: an empty database on this server that the dump is imported into as it is read (a
     * migrate's rehearsal copy filled by its backup's own pass over the rows); its import failing
     * fails the dump, as a dump that does not import is no backup.
     */
    params: { database: string; archiveId: string; alsoInto?: string };
    output: { sha256: string; bytes: number; binlog?: BinlogPosition };
  };
  /**
   * Where the server's binary log is now, once the site's writes are held: the end of what a
   * rollback replays (db.rewind). Fails (REFUSED) when the server has no row-based binary log any
   * more, or no longer has the log `since` names (purged): then a dump must be the rollback point.
   */
  'db.binlog-mark': {
    params: { database: string; since: BinlogPosition };
    output: BinlogPosition;
  };
  /**
   * Puts a database back to where it was at `to`: every table and view dropped, the dump (a db.dump
   * whose snapshot was at `from`) imported, then the server's binary log from `from` to `to` replayed,
   * its row events for this database only. Running it again gives the same database, so a lost
   * attempt is simply run again.
   */
  'db.rewind': {
    params: { database: string; archiveId: string; from: BinlogPosition; to: BinlogPosition };
    output: { sha256: string; bytes: number; replayedBytes: number };
  };
  /**
   * Streams a gzipped SQL archive (a db.dump) into the database, which must exist. With
   * `siteArchive`, the archive is a site archive from before dumps were archives of their own
   * (site.archive with includeDatabase): its `database.sql` entry is imported.
   */
  'db.import': {
    params: { database: string; archiveId: string; siteArchive?: boolean };
    output: { sha256: string; bytes: number };
  };
  /**
   * The installed schema version of every module of a Drupal site and the post-updates it ran,
   * read from its database (`key_value`, collections `system.schema` and `post_update`) over the
   * admin connection.
   */
  'db.schema-versions': {
    params: { database: string };
    /**
     * `postUpdates`: the post-update functions the site has run (key_value `post_update`,
     * `existing_updates`), null when its database does not say (never updated by Drupal 8.1+).
     */
    output: { versions: Record<string, number>; postUpdates: string[] | null };
  };

  /**
   * Writes `<root>/sites/<domain>/settings.php` (hash_salt, file paths, trusted hosts, config sync)
   * and `<root>/config/sites/<domain>/credentials.php` (the `$databases` array, mode 0640), which
   * settings.php requires; creates files/ and private/. The hash salt is taken from the parameters,
   * else kept from the existing settings.php, else generated.
   */
  'site.write-settings': {
    params: {
      domain: string;
      /** `<root>/platforms/<platform>`: the platform the site runs on (or `platform`, one of them). */
      platformPath?: string;
      /** The platform by name, under this server's root: how the heads of a cluster are told. */
      platform?: string;
      database: string;
      user: string;
      dbHost: string;
      dbPort: number;
      hashSalt?: string;
      /** Host names the site answers to; `*.example.com` allows any subdomain. */
      trustedHosts: string[];
      /**
       * A twin of this site (a blue-green copy): the settings are that site's (its hash salt, its
       * public, private and config paths) but for the credentials; nothing else is made here.
       */
      sameAs?: string;
    };
    secrets: { dbPassword: string };
    output: {
      settingsPath: string;
      credentialsPath: string;
      hashSaltSource: 'params' | 'kept' | 'generated';
    };
  };
  /** Symlinks `<root>/platforms/<platform>/web/sites/<domain>` to `<root>/sites/<domain>`. */
  'site.link': {
    params: { domain: string; platform: string };
    output: { link: string; target: string };
  };
  /** Removes that symlink (only a symlink to the site's own directory). */
  'site.unlink': {
    params: { domain: string; platform: string };
    output: { link: string; removed: boolean };
  };
  /**
   * Streams a gzipped tar of the site directory (without settings.php), plus the database dump as
   * `database.sql` when asked, plus `manifest.json` (last), into the reserved archive.
   */
  'site.archive': {
    params: {
      domain: string;
      archiveId: string;
      includeDatabase: { database: string } | null;
      /**
       * ISO time: a delta, the final copy of a site moving to another server — every directory,
       * the files and symlinks changed (ctime) since, and present.list (see site-archive.ts).
       */
      changedSince?: string;
      /** Archive the site directory a restore set aside under this name (site.extract setAsideAs). */
      aside?: string;
    };
    /** `startedAt`: when it began reading the site directory, by this server's clock. */
    output: { sha256: string; bytes: number; manifest: SiteArchiveManifest; startedAt: string };
  };
  /**
   * Restores a site archive into `<root>/sites/<targetDomain ?? domain>`: extracted into a new
   * directory beside it (entries that could escape it are refused), `database.sql` streamed into
   * `importDatabase` when given, the manifest checked, then swapped into place. The target's own
   * settings.php, when it has one, is kept.
   */
  'site.extract': {
    params: {
      domain: string;
      archiveId: string;
      targetDomain?: string;
      importDatabase: { database: string } | null;
      /**
       * The archive is a delta: merged into the existing site directory (its files and symlinks
       * replace theirs, what present.list does not name is removed, settings.php is kept).
       */
      delta?: boolean;
      /**
       * Only the archive's `files/` (uploads) swapped into an existing site directory, its code,
       * settings and private files kept: another environment's data synced down (site.sync).
       */
      onlyFiles?: boolean;
      /**
       * The directory replaced is kept as `<root>/sites/.aside-<setAsideAs>` (a restore's state
       * before) instead of removed; REFUSED when that exists.
       */
      setAsideAs?: string;
    };
    output: { files: number; bytes: number; databaseImported: boolean; manifest: SiteArchiveManifest };
  };
  /**
   * The directory site.extract set aside put back in place of the site's (which is removed);
   * nothing set aside: nothing done.
   */
  'site.put-back': {
    params: { domain: string; aside: string };
    output: { putBack: boolean };
  };
  /** Removes a set-aside site directory, if it is there. */
  'site.drop-aside': {
    params: { aside: string };
    output: { removed: boolean };
  };
  /**
   * Copies `<root>/sites/<domain>` to `<root>/sites/<targetDomain>` on this server (`cp -a`, a
   * reflink where the filesystem can), without settings.php; the target must not exist.
   */
  'site.copy': {
    params: { domain: string; targetDomain: string };
    output: { bytes: number };
  };
  /**
   * Removes `<root>/sites/<domain>` and `<root>/config/sites/<domain>`, and the site's own PHP-FPM
   * pool when it has one (as php.remove-pool: its user goes when no other pool names it).
   */
  'site.remove': {
    params: { domain: string };
    output: { removed: string[] };
  };

  /**
   * Writes `<root>/config/nginx/<domain>.conf` for the platform's docroot: written beside, put in
   * place, `nginx -t`, graceful reload; the previous file is back in place when either fails.
   */
  'http.write-vhost': {
    params: {
      domain: string;
      platform: string;
      disabled?: boolean;
      redirectFrom?: string[];
      /** Other names the site serves (its aliases), beside its domain. */
      aliases?: string[];
      /**
       * HTTPS, with the certificate tls.install put in `<root>/config/tls/<domain>/`; a server
       * without one yet serves plain HTTP only and says so in the step's log.
       */
      https?: { redirect: boolean; hsts: boolean };
      /** ADDRESS:PORT: the site moved there; this server passes its requests on (see nginx-vhost.ts). */
      proxyTo?: string;
      /**
       * The database the site runs on while its credentials still name another: a blue-green switch
       * (nginx passes it to PHP; the site's settings.php takes it). One reload switches code and database.
       */
      database?: string;
    };
    /**
     * `port`: the port this server's vhosts listen on (what another server proxies to); `https`:
     * whether it serves HTTPS now (asked for, and it has the certificate).
     */
    output: { path: string; changed: boolean; port: number; https?: boolean };
  };
  /** Removes the site's vhost and reloads nginx. */
  'http.remove-vhost': {
    params: { domain: string };
    output: { path: string; removed: boolean };
  };
  /**
   * The first phase of a switch on a cluster: the site's vhost written beside the live one
   * (`<domain>.conf.next`, not served) and `nginx -t` run on the configuration as it will be.
   */
  'http.prepare-vhost': {
    params: StepDefinitions['http.write-vhost']['params'];
    output: { path: string; port: number };
  };
  /** The second phase: the prepared vhost put in place, tested, and nginx reloaded gracefully. */
  'http.commit-vhost': {
    params: { domain: string };
    /** `reloadedAt`: when this server's nginx serves with it, by its own clock. */
    output: { path: string; reloadedAt: string };
  };
  /**
   * A new private key for the site's HTTPS, made on this server and kept there (`<root>/config/tls/
   * <domain>/`, root only, pending until tls.install), and a certificate signing request for it
   * naming `names` (the domain first): what the master gives the CA. The key never leaves the agent.
   */
  'tls.request': {
    params: { domain: string; names: string[] };
    output: { csrPem: string };
  };
  /** An ACME HTTP-01 challenge answered from the site's vhost (`/.well-known/acme-challenge/<token>`). */
  'tls.put-challenge': {
    params: { domain: string; token: string; keyAuthorization: string };
    output: { path: string };
  };
  'tls.remove-challenge': {
    params: { domain: string; token: string };
    output: { removed: boolean };
  };
  /**
   * The certificate the CA issued for the pending key put in place with it (checked: the key
   * matches, the chain parses, it is valid now); when the site's vhost serves HTTPS already, `nginx
   * -t` and a graceful reload, the previous pair put back if either fails.
   */
  'tls.install': {
    /**
     * `uploaded`: the operator's own certificate, whose key comes with the step as the `tlsKey`
     * secret (never in params or logs) instead of the key tls.request made here.
     */
    params: { domain: string; certificatePem: string; uploaded?: boolean };
    output: { names: string[]; notBefore: string; notAfter: string; serial: string; issuer: string };
  };
  /** The site's key and certificate removed from this server (HTTPS off; the vhost first). */
  'tls.remove': {
    params: { domain: string };
    output: { removed: boolean };
  };
  /** The domains this server has a vhost of (`<root>/config/nginx/<domain>.conf`). */
  'http.list-vhosts': {
    params: Record<string, never>;
    output: { domains: string[] };
  };
  /** A prepared vhost removed without being committed (the live one untouched). */
  'http.discard-vhost': {
    params: { domain: string };
    output: { discarded: boolean };
  };
  /**
   * Gives the site its own PHP-FPM pool on this server (shared/src/php-pool.ts): the Unix group
   * and user `user` with uid and gid `uid` (made when missing; refused when the name or the uid is
   * another's), nginx's user added to that group, `<root>/config/php-fpm/<domain>.conf` written,
   * `php-fpm -t`, graceful reload, the new socket answering; the previous pool file is back in
   * place when the test or the reload fails. Then the site's files are the user's (files/,
   * private/) and the rest root's, readable by the site's group only. From then on every step of
   * this agent runs the site's PHP and drush as `user` and its vhost passes PHP to `socket`. Call
   * it before site.write-settings wherever the site is set up on a server; a site without one
   * runs in the server's shared pool as the web user.
   */
  'php.write-pool': {
    params: {
      domain: string;
      /** The site's Unix user and group name (`[a-z_][a-z0-9_-]{0,31}`), chosen by the master. */
      user: string;
      /** Its uid, also the gid of its group: the same on every server (files keep it across moves). */
      uid: number;
      /** PHP settings of PHP_POOL_SETTINGS (memory_limit, pm.max_children ...); defaults for the rest. */
      settings: Record<string, string>;
      /**
       * The site (domain) whose pool runs as `user` too: the same site under another name (a rename's
       * new name beside the old, a rehearsal copy beside the live site). Its pool then gets a name
       * and socket of its own; without it, a user another domain's pool runs as is refused.
       */
      sharesWith?: string;
    };
    output: { path: string; socket: string; changed: boolean; user: string };
  };
  /**
   * Removes the site's pool (reloaded away), and its user and group when no other pool names
   * them. A site directory still there goes back to the web user (the shared pool).
   */
  'php.remove-pool': {
    params: { domain: string };
    output: { removed: boolean };
  };
  /**
   * Opens a TCP connection from this server to `host:port` and closes it: whether a web server
   * reaches its database server, asked before a task depends on it. Fails with PROBE_FAILED.
   */
  'probe.tcp': {
    params: { host: string; port: number; timeoutMs?: number };
    output: { ms: number };
  };
  /** A static scan of a platform: core version and every package with its schema version. */
  /**
   * A marker file `name` in the sites directory: write it (with `token`), read it (its token, or
   * null when this server does not see it), remove it. Whether the heads of a cluster see one
   * shared site directory.
   */
  /**
   * Fails (REFUSED) when this server has anything of `domain` already: its directory, config
   * directory, vhost or a platform's link to it. Checked before a site moves here.
   */
  'site.absent': {
    params: { domain: string };
    output: { domain: string };
  };
  'sites.marker': {
    params: { action: 'write' | 'read' | 'remove'; name: string; token?: string };
    output: { dir: string; token: string | null };
  };
  'platform.scan': {
    params: { platform: string };
    /**
     * `content`: the codebase hashed file by file (agent/src/adapters/platform-content.ts), so that
     * the heads of a cluster can be compared. Absent from agents older than it.
     */
    output: {
      coreVersion: string;
      packages: PlatformPackage[];
      content?: { sha256: string; files: number; bytes: number };
    };
  };
  /**
   * A platform's codebase into the store (the site archives' format, the sites' links in
   * web/sites/ left out): a copy for another head of its cluster.
   */
  'platform.archive': {
    params: { platform: string; archiveId: string };
    output: { sha256: string; bytes: number; files: number };
  };
  /**
   * A platform built at `<root>/platforms/<platform>`, which must not exist: its source cloned at
   * a ref (the commit recorded) or created by `composer create-project`, then `composer install
   * --no-dev` when the tree has a composer.json; built in a directory beside and renamed into place,
   * removed whole on any failure. `deployKey`: an SSH private key for the repository, in a 0600
   * file for this run only.
   */
  'platform.build': {
    params: { platform: string; source: PlatformSource };
    secrets: { deployKey?: string };
    output: { path: string; commit: string | null; composer: boolean };
  };
  /**
   * A git platform's checkout moved to another ref in place (fetched from its origin), then
   * `composer install` again. Only for a platform no site is on (the master checks; the agent
   * refuses one with a site linked into it).
   */
  'platform.pull': {
    params: { platform: string; ref: string };
    secrets: { deployKey?: string };
    output: { commit: string; previous: string; composer: boolean };
  };
  /**
   * A site's own repository (its modules, themes, config sync directory: code outside every
   * platform) fetched into its directory, made a repository of `url` first when it is none yet;
   * `ref` resolved to a commit, refused when that commit tracks what Berth and Drupal write there
   * (settings.php, files/, private/). The working tree is not changed.
   */
  'site.code-fetch': {
    params: { domain: string; ref: string; url?: string };
    /** The site repository's deploy key, in a 0600 file for this run only (as a platform build's). */
    secrets: { deployKey?: string };
    output: { commit: string; current: string | null };
  };
  /**
   * A site repository made on the web server for a new site (site new without --repo):
   * `<root>/repositories/<domain>.git`, bare, with a first commit on main holding the layout
   * (modules/, themes/, a README); one already there is kept as it is. `url` is its path.
   */
  'site.code-init': {
    params: { domain: string };
    output: { url: string; created: boolean };
  };
  /** A site directory's code moved to `commit` (fetched already), detached; its settings and files left. */
  'site.code-checkout': {
    params: { domain: string; commit: string };
    output: { commit: string; previous: string | null };
  };
  /** The commits of a git platform's checkout between two (`git log from..to`, first parent), newest first. */
  'platform.commits': {
    params: { platform: string; from: string; to: string };
    output: { commits: Array<{ sha: string; subject: string }>; truncated: boolean };
  };
  /**
   * `<root>/platforms/<platform>` removed; refused while a site is linked into it, unless
   * `leftLinks` (a retired platform: the registry has no site on it, and the links left in it are
   * of sites that moved to another platform, whose own links are elsewhere). Gone already: removed false.
   */
  'platform.remove': {
    params: { platform: string; leftLinks?: boolean };
    output: { removed: boolean };
  };
  /** A platform copied by platform.archive, to `<root>/platforms/<platform>` (which must not exist). */
  'platform.extract': {
    /** `from`: the platform the archive was made of, when the copy gets another name (build --from-platform). */
    params: { platform: string; archiveId: string; from?: string };
    output: { files: number; bytes: number; path: string };
  };
  /**
   * GET http://127.0.0.1:<httpPort><path> with `Host: <domain>`; fails with PROBE_FAILED unless the
   * status is one of `expectStatus` (default [200]) and the body holds `expectText` when given.
   */
  'probe.http': {
    params: {
      domain: string;
      path?: string;
      expectStatus?: number[];
      expectText?: string;
      timeoutMs?: number;
    };
    output: { status: number; ms: number; bodyExcerpt: string };
  };

  /**
   * `drush site:install <profile> --sites-subdir=<domain>`: the database comes from the settings
   * already written; the admin password is not set (use app.login-link).
   */
  'app.install': {
    params: {
      domain: string;
      platform: string;
      profile: string;
      siteName?: string;
      accountName?: string;
      accountMail?: string;
      siteMail?: string;
      locale?: string;
    };
    output: { profile: string };
  };
  /** `drush updatedb -y`: runs the pending database updates. */
  'app.update': {
    params: { domain: string; platform: string };
    output: { pendingBefore: PendingUpdate[] };
  };
  /** Turns maintenance mode on or off (state system.maintenance_mode). */
  'app.maintenance': {
    params: { domain: string; platform: string; on: boolean };
    output: { on: boolean };
  };
  /** Turns read-only mode on or off (writes refused, pages served). */
  'app.readonly': {
    params: { domain: string; platform: string; on: boolean };
    output: { on: boolean };
  };
  /** `drush user:login --no-browser`: a one-time login link. */
  'app.login-link': {
    params: { domain: string; platform: string; uid?: number; name?: string };
    output: { url: string };
  };
  /** `drush status --format=json`. */
  'app.status': {
    params: { domain: string; platform: string };
    output: AppStatus;
  };
  /** One deploy hook (shared/src/deploy-hooks.ts): the drush command it names, after the updates. */
  'app.hook': {
    params: { domain: string; platform: string; hook: DeployHook };
    output: { hook: DeployHook; durationMs: number };
  };
  /**
   * A copy synced down scrubbed: `drush sql:sanitize` (user e-mails and passwords), or the
   * project's own `<namespace>:sanitize` (shared/src/environments.ts).
   */
  'app.sanitize': {
    params: { domain: string; platform: string; command: string };
    output: { command: string; durationMs: number };
  };
  /** `drush core:cron`. */
  'app.cron': {
    params: { domain: string; platform: string };
    output: { ran: true };
  };
  /** `drush updatedb:status --format=json`: the pending database updates. */
  'app.update-status': {
    params: { domain: string; platform: string };
    output: { pending: PendingUpdate[] };
  };
  /** `drush pm:list --status=enabled --format=json`: the site's installed packages. */
  'app.packages': {
    params: { domain: string; platform: string };
    output: { packages: { name: string; type: string; version: string; status: string }[] };
  };
}

export type StepName = keyof StepDefinitions;
export type StepParams<S extends StepName> = StepDefinitions[S]['params'];
export type StepOutput<S extends StepName> = StepDefinitions[S]['output'];
/**
 * The secrets a step needs, sent in StepAssign.secrets (resolved at dispatch, never stored with the
 * step, never in its params, argv, logs or output).
 */
export type StepSecrets<S extends StepName> = StepDefinitions[S] extends { secrets: infer T }
  ? T
  : Record<string, never>;

/** The steps agents of this version run (the master may only send these). */
export const STEP_NAMES: readonly StepName[] = [
  'server.probe',
  'link.transfer-check',
  'debug.noop',
  'debug.sleep',
  'db.create',
  'db.drop',
  'db.drop-user',
  'db.dump',
  'db.import',
  'db.binlog-mark',
  'db.rewind',
  'db.copy',
  'db.set-aside',
  'db.put-back',
  'db.drop-database',
  'db.schema-versions',
  'site.write-settings',
  'site.link',
  'site.unlink',
  'site.archive',
  'site.extract',
  'site.put-back',
  'site.drop-aside',
  'site.copy',
  'site.remove',
  'platform.scan',
  'platform.archive',
  'platform.extract',
  'platform.build',
  'platform.pull',
  'platform.commits',
  'platform.remove',
  'site.code-init',
  'site.code-fetch',
  'site.code-checkout',
  'sites.marker',
  'site.absent',
  'http.write-vhost',
  'http.remove-vhost',
  'http.prepare-vhost',
  'http.commit-vhost',
  'http.discard-vhost',
  'http.list-vhosts',
  'php.write-pool',
  'php.remove-pool',
  'tls.request',
  'tls.put-challenge',
  'tls.remove-challenge',
  'tls.install',
  'tls.remove',
  'probe.http',
  'probe.tcp',
  'app.install',
  'app.update',
  'app.maintenance',
  'app.readonly',
  'app.login-link',
  'app.status',
  'app.cron',
  'app.hook',
  'app.sanitize',
  'app.update-status',
  'app.packages',
];

/**
 * Steps that may run again when their attempt was lost (the agent restarted, or went silent past
 * its lease): the engine gives them a new attempt after a backoff (up to STEP_ATTEMPTS_MAX) instead
 * of failing the task. Only steps that read or probe, so running one twice changes nothing on the
 * server, and db.rewind, whose second run ends where its first would have. A step that writes (an
 * import, an extraction, the updates) is never retried: whether its first attempt finished is
 * unknown, and only the workflow's undo knows what to do about it. Nor, for now, the uploads
 * (site.archive, db.dump): the lost attempt may have stored its archive already (the retry's upload
 * is then refused), and a rollback point's dump waiting for an agent to come back would hold the
 * site's writes all that time; they fail and roll back as before. debug.sleep stands for a
 * retryable step in tests, debug.noop for one that is not.
 */
export const RETRYABLE_STEPS: readonly StepName[] = [
  'server.probe',
  'db.schema-versions',
  'db.binlog-mark',
  // Writes, but always to the same end (it starts from an empty database): a rollback whose db
  // agent was lost mid-rewind waits for it and rewinds again, instead of leaving a half-restored site.
  'db.rewind',
  // Both end where they began when run again (done already: nothing done): a rollback whose agent
  // was lost mid-way waits for it and puts the site back, instead of leaving half of it restored.
  'db.put-back',
  'site.put-back',
  'platform.scan',
  'platform.commits',
  'site.code-fetch',
  'site.absent',
  'http.list-vhosts',
  // Both end in the same state when run again (the pool, its user and the owners as asked, or
  // none of them), and PHP-FPM keeps its previous pools when a run is cut short.
  'php.write-pool',
  'php.remove-pool',
  // A new key and request each time (the last one asked for is the one installed); a challenge
  // file written or removed again is the same file.
  'tls.request',
  'tls.put-challenge',
  'tls.remove-challenge',
  'probe.http',
  'probe.tcp',
  'app.status',
  'app.cron',
  'app.update-status',
  'app.packages',
  'debug.sleep',
];

/** Attempts a retryable step gets at most (the first and two retries). */
export const STEP_ATTEMPTS_MAX = 3;

/** Steps that exist for tests and benchmarks; an agent runs them only when started with them enabled. */
export const DEBUG_STEP_NAMES: readonly StepName[] = ['debug.noop', 'debug.sleep'];

export function isStepName(name: string): name is StepName {
  return (STEP_NAMES as readonly string[]).includes(name);
}
