import { PGlite } from '@electric-sql/pglite';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities.js';
import { MIGRATIONS } from './migrations/index.js';
import { PGlitePool, pgliteParsers, pgliteSerializers } from './pglite-pool.js';

export interface DatabaseSettings {
  /** A PostgreSQL URL; without one the registry lives in an embedded PGlite under dataDir. */
  url?: string;
  dataDir: string;
}

/** Which database a data source runs on; PGlite is one connection, so some limits differ. */
export type DatabaseKind = 'postgres' | 'pglite';

export function databaseKind(settings: DatabaseSettings): DatabaseKind {
  return settings.url ? 'postgres' : 'pglite';
}

/**
 * Opens the registry and brings its schema up to date with the committed migrations (never
 * `synchronize`). The same migrations run on PostgreSQL and on PGlite.
 */
export async function openDatabase(settings: DatabaseSettings): Promise<DataSource> {
  const dataSource = new DataSource(dataSourceOptions(settings));
  await dataSource.initialize();
  try {
    await migrateAlone(dataSource, settings.url !== undefined);
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}

/** Any number; the same in every master, so that their migrations wait for each other. */
const MIGRATION_LOCK_KEY = 0x62657274; // "bert"

/**
 * Runs the pending migrations; on PostgreSQL under an advisory lock, held by a connection of its
 * own, so that several masters starting at once on one database migrate it one after the other
 * (the later ones find nothing left to do).
 */
async function migrateAlone(dataSource: DataSource, shared: boolean): Promise<void> {
  if (!shared) {
    await dataSource.runMigrations({ transaction: 'each' });
    return;
  }
  const lock = dataSource.createQueryRunner();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lock.release();
  }
}

export function dataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'berth_migrations',
    synchronize: false,
    // gen_random_uuid() is built into PostgreSQL 13+ and PGlite: no extension to install.
    uuidExtension: 'pgcrypto' as const,
    installExtensions: false,
    logging: ['error' as const],
  };
  if (settings.url) {
    return { ...common, url: settings.url, extra: { max: 10 } };
  }
  const dir = join(settings.dataDir, 'pgdata');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pglite = new PGlite(dir, { serializers: pgliteSerializers, parsers: pgliteParsers });
  return { ...common, driver: PGlitePool.driverFor(pglite) };
}
