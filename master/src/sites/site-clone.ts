/** Where a clone's database lives: decided from its source, without I/O. */
export interface DatabasePlacement {
  dbServerId: string;
  dbHost: string;
  dbPort: number;
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
