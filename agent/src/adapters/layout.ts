import { join, relative, resolve, sep } from 'node:path';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';

/**
 * Where things are under the agent's root (DESIGN, "Servers' layout"). Every path a step touches
 * is built here from validated names (a domain, a platform name), never taken from the master.
 *
 *   <root>/platforms/<platform>/           the codebase (web/ is the docroot)
 *   <root>/sites/<domain>/                 settings.php, files/, private/
 *   <root>/sites/.aside-<name>/            a site directory a restore set aside (validated name)
 *   <root>/config/nginx/<domain>.conf      the vhost
 *   <root>/config/sites/<domain>/          credentials.php, kept out of the site directory
 *   <root>/config/php-fpm/<domain>.conf    the site's own PHP-FPM pool (included by PHP-FPM)
 *   <root>/run/php-fpm/<pool>.sock         its socket
 *   <root>/tmp/php/<user>/                 its temporary files (uploads, sessions), its user's only
 *   <root>/config/tls/<domain>/            the site's HTTPS key and certificate (root only)
 *   <root>/config/acme/<domain>/           ACME HTTP-01 challenges being answered
 *   <root>/repositories/<domain>.git       a site repository Berth made for a new site (site new)
 *   <root>/tmp/                            work files of running steps (same filesystem as sites/)
 */
export class HostLayout {
  constructor(readonly root: string) {}

  get platformsDir(): string {
    return join(this.root, 'platforms');
  }
  get sitesDir(): string {
    return join(this.root, 'sites');
  }
  get nginxDir(): string {
    return join(this.root, 'config', 'nginx');
  }
  get siteConfigsDir(): string {
    return join(this.root, 'config', 'sites');
  }
  get tmpDir(): string {
    return join(this.root, 'tmp');
  }
  get repositoriesDir(): string {
    return join(this.root, 'repositories');
  }
  /** The bare repository Berth makes for a new site's own code. */
  siteRepository(domain: string): string {
    return this.inside(this.repositoriesDir, `${domain}.git`);
  }

  platformDir(platform: string): string {
    return this.inside(this.platformsDir, platform);
  }
  /** The docroot of a Composer-layout platform. */
  platformDocroot(platform: string): string {
    return join(this.platformDir(platform), 'web');
  }
  /** `<platform>/web/sites/<domain>`: the symlink to the site directory. */
  platformSiteLink(platform: string, domain: string): string {
    return join(this.platformDocroot(platform), 'sites', domain);
  }
  siteDir(domain: string): string {
    return this.inside(this.sitesDir, domain);
  }
  /** A site directory set aside by a restore (site.extract setAsideAs), beside the sites. */
  asideDir(name: string): string {
    return this.inside(this.sitesDir, `.aside-${name}`);
  }
  siteConfigDir(domain: string): string {
    return this.inside(this.siteConfigsDir, domain);
  }
  /** The sites' PHP-FPM pools, `*.conf` included by PHP-FPM's main configuration. */
  get phpPoolsDir(): string {
    return join(this.root, 'config', 'php-fpm');
  }
  phpPoolPath(domain: string): string {
    return this.inside(this.phpPoolsDir, `${domain}.conf`);
  }
  get phpSocketsDir(): string {
    return join(this.root, 'run', 'php-fpm');
  }
  phpSocket(pool: string): string {
    return this.inside(this.phpSocketsDir, `${pool}.sock`);
  }
  get phpTmpDir(): string {
    return join(this.tmpDir, 'php');
  }
  /** A pool user's temporary directory (PHP's uploads, sessions and temp files; drush's HOME). */
  phpUserTmpDir(user: string): string {
    return this.inside(this.phpTmpDir, user);
  }
  vhostPath(domain: string): string {
    return this.inside(this.nginxDir, `${domain}.conf`);
  }
  get tlsDir(): string {
    return join(this.root, 'config', 'tls');
  }
  /** A site's HTTPS key and certificate on this server (root only: the key never leaves it). */
  siteTlsDir(domain: string): string {
    return this.inside(this.tlsDir, domain);
  }
  get acmeDir(): string {
    return join(this.root, 'config', 'acme');
  }
  /** Where the site's ACME HTTP-01 challenges are answered from (the vhost's acmeRoot). */
  siteAcmeRoot(domain: string): string {
    return this.inside(this.acmeDir, domain);
  }

  /** The platform a path names, when it is exactly `<root>/platforms/<name>`. */
  platformOfPath(path: string): string | undefined {
    const rest = relative(this.platformsDir, resolve(path));
    return rest && !rest.includes(sep) && !rest.startsWith('..') ? rest : undefined;
  }

  /** `parent/name`, refusing anything that would not be a direct child of parent. */
  private inside(parent: string, name: string): string {
    const path = resolve(parent, name);
    if (relative(parent, path) !== name || name === '' || name === '.' || name === '..') {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `"${name.slice(0, 80)}" would not be a direct child of ${parent}`,
        retryable: false,
      });
    }
    return path;
  }
}
