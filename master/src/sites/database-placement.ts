import type { ServerRole } from '../../../shared/src/server-roles.js';

/** Where a site's database lives: its server, and the host and port its web server reaches it at. */
export interface DatabasePlacement {
  dbServerId: string;
  dbHost: string;
  dbPort: number;
}

/** A server as placing a database needs it. */
export interface PlacementServer {
  id: string;
  name: string;
  roles: readonly ServerRole[];
  /** What the other servers reach it at; null until its agent said. */
  address: string | null;
}

/** The MariaDB port of a db server (every db server listens on it). */
export const MARIADB_PORT = 3306;

/**
 * A new site's database on `db` for a site served by `web`: beside its web server it is reached on
 * loopback; on a server of its own, at that server's address. Refused, with the reason, when `db`
 * offers no database service or its address is not known yet. Pure.
 */
export function placeDatabase(
  web: PlacementServer,
  db: PlacementServer,
): { ok: true; placement: DatabasePlacement } | { ok: false; message: string } {
  if (!db.roles.includes('db')) {
    const offers = db.roles.length > 0 ? `it offers ${db.roles.join(', ')}` : 'it offers nothing yet';
    return {
      ok: false,
      message:
        `server ${db.name} has no database service (${offers}): choose a db server (\`berth server list\` ` +
        `shows each server's roles), or run \`berth server verify ${db.name}\` once MariaDB runs there`,
    };
  }
  if (db.id === web.id) {
    return { ok: true, placement: { dbServerId: db.id, dbHost: '127.0.0.1', dbPort: MARIADB_PORT } };
  }
  if (!db.address) {
    return {
      ok: false,
      message: `the address of ${db.name} is not known yet: its agent reports it when it connects`,
    };
  }
  return { ok: true, placement: { dbServerId: db.id, dbHost: db.address, dbPort: MARIADB_PORT } };
}

/**
 * A clone's database goes where its source's is, as seen from the clone's web server: a database
 * beside its web server (reached on loopback) stays beside the clone's web server, which may be
 * another one when the clone is on a platform of another server; a database on its own server stays
 * on that server, reached by the same name.
 */
export function cloneDatabasePlacement(
  source: DatabasePlacement,
  sourceWebServerId: string,
  cloneWebServerId: string,
): DatabasePlacement {
  if (source.dbServerId === sourceWebServerId && source.dbHost === '127.0.0.1') {
    return { dbServerId: cloneWebServerId, dbHost: '127.0.0.1', dbPort: source.dbPort };
  }
  return { dbServerId: source.dbServerId, dbHost: source.dbHost, dbPort: source.dbPort };
}
