/**
 * A site's web edge: the names it answers to, HTTPS, and its own PHP-FPM pool. The registry keeps
 * it (master/src/sites/edge), and every vhost of the site on every server is written from it, so a
 * migrate, a rename or a verify keeps what an operator set.
 */
export interface SiteEdge {
  /** Other names the site serves itself: in its vhost, its trusted host patterns, its certificate. */
  aliases: string[];
  /** Other names answered with a permanent redirect to the site's domain (in its certificate too). */
  redirects: string[];
  /** HTTPS on, with where its certificate comes from; null: plain HTTP only. */
  https: SiteHttps | null;
  /** The site's own PHP-FPM pool; null: the server's shared pool (a site from before pools). */
  pool: SitePool | null;
}

export const HTTPS_MODES = ['letsencrypt', 'uploaded'] as const;
export type HttpsMode = (typeof HTTPS_MODES)[number];

export interface SiteHttps {
  /** letsencrypt: issued by the master over ACME and renewed; uploaded: the operator's own. */
  mode: HttpsMode;
  /** Plain HTTP requests are answered with a 301 to https:// (ACME challenges still served). */
  redirect: boolean;
  /** Strict-Transport-Security on HTTPS answers (one year): browsers then refuse plain HTTP. */
  hsts: boolean;
}

export interface SitePool {
  /** The pool's Unix user and group (`berth-site-<uid>`), the same on every server of the site. */
  user: string;
  uid: number;
  /** The allowed PHP settings the operator set (shared/src/php-pool.ts); the rest are defaults. */
  settings: Record<string, string>;
}

/** An edge with nothing set: what a site from before this registry part has. */
export const PLAIN_EDGE: SiteEdge = { aliases: [], redirects: [], https: null, pool: null };

/** Every name of a site a certificate must cover: the domain, then its aliases and redirects. */
export function certificateNames(domain: string, edge: Pick<SiteEdge, 'aliases' | 'redirects'>): string[] {
  return [...new Set([domain, ...edge.aliases, ...edge.redirects])];
}

/** A site's pool user by its uid: short (a Unix name is at most 32 characters), stable, readable. */
export function poolUserName(uid: number): string {
  return `berth-site-${uid}`;
}

/** The first uid the master gives site users: above Debian's dynamic ranges (1000-59999, 65534). */
export const FIRST_SITE_UID = 200_000;
