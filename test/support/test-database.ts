import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type TestDatabaseKind = 'postgres' | 'pglite';

/** Both databases the registry runs on; every registry test runs against each. */
export const TEST_DATABASE_KINDS: readonly TestDatabaseKind[] = ['postgres', 'pglite'];

/** The server that holds the per-test PostgreSQL databases (trust auth on this machine and in CI). */
const ADMIN_URL = process.env.BERTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  kind: TestDatabaseKind;
  /** A DATABASE_URL for PostgreSQL, undefined for PGlite. */
  url: string | undefined;
  /** A fresh directory for the master's data (PGlite, CA, store). */
  dataDir: string;
  drop(): Promise<void>;
}

/** A database of its own for one test file: a new PostgreSQL database, or a new PGlite directory. */
export async function createTestDatabase(kind: TestDatabaseKind): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), `berth-test-${kind}-`));
  if (kind === 'pglite') {
    return {
      kind,
      url: undefined,
      dataDir,
      drop: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })),
    };
  }
  const name = `berth_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${ADMIN_URL} (${(error as Error).message}); start it with ` +
        `'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' or set BERTH_TEST_POSTGRES_URL`,
    );
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    dataDir,
    drop: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
