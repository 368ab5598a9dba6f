import { createHash, randomBytes } from 'node:crypto';

/**
 * Database and user names for a site: readable (from the domain) and unique (a hash of the domain
 * and a random part), within MariaDB's limits (64 for databases, 32 for users) and made only of
 * [a-z0-9_], so they never need more than identifier quoting. A database's limit counts its name
 * as the GRANT writes it: there each `_` is escaped (`\_`, else it would match any character), and
 * MariaDB refuses a GRANT whose escaped name is over 64 ("Incorrect database name").
 */
export function siteDatabaseNames(
  domain: string,
  random: () => Buffer = () => randomBytes(4),
): {
  database: string;
  user: string;
} {
  const readable = domain.replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  const suffix = createHash('sha256').update(domain).update(random()).digest('hex').slice(0, 8);
  const base = /^[a-z]/.test(readable) ? readable : `s_${readable}`;
  return {
    database: `${withinGrantLimit(base, 64 - '\\_'.length - suffix.length)}_${suffix}`,
    user: `${base.slice(0, 32 - 9)}_${suffix}`,
  };
}

/** The longest start of `name` whose GRANT form (each `_` as `\_`) has at most `limit` characters. */
function withinGrantLimit(name: string, limit: number): string {
  let length = 0;
  let end = 0;
  while (end < name.length) {
    length += name[end] === '_' ? 2 : 1;
    if (length > limit) break;
    end += 1;
  }
  return name.slice(0, end);
}

/** A database password: 32 random bytes, URL-safe base64 (no quoting issues anywhere). */
export function newDatabasePassword(): string {
  return randomBytes(32).toString('base64url');
}
