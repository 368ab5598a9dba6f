import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import type { HostSettings } from '../../config.js';
import { testMariaDb } from '../../testing/mariadb.js';
import { runStep, stepFailure, testContext, testRoot, uniqueDbName } from '../../testing/step-context.js';
import { dbPutBack, dbSetAside } from './aside.js';

/** db.set-aside and db.put-back on the machine's MariaDB, as a restore (version 4) uses them. */
let mariadb: Awaited<ReturnType<typeof testMariaDb>>;
let root: Awaited<ReturnType<typeof testRoot>>;
let host: HostSettings;
const databases: string[] = [];

beforeAll(async () => {
  mariadb = await testMariaDb();
  root = await testRoot({ dbAdminDefaults: mariadb.adminDefaults });
  host = root.host;
});

afterEach(async () => {
  for (const database of databases.splice(0)) await mariadb.sql(`DROP DATABASE IF EXISTS \`${database}\`;`);
});

afterAll(async () => {
  await root?.remove();
  await mariadb?.close();
});

function database(prefix: string): string {
  const name = uniqueDbName(prefix);
  databases.push(name);
  return name;
}

/** Every table with its rows, in a fixed order: what two databases are compared by. */
async function contents(name: string): Promise<string> {
  const tables = (await mariadb.sql(`SHOW TABLES FROM \`${name}\`;`)).split('\n').filter(Boolean).sort();
  const parts = [];
  for (const table of tables)
    parts.push(`${table}\n${await mariadb.sql(`SELECT * FROM \`${name}\`.\`${table}\` ORDER BY 1;`)}`);
  return parts.join('\n');
}

async function siteDatabase(): Promise<{ live: string; aside: string; before: string }> {
  const live = database('aside_live');
  const aside = database('aside_kept');
  await mariadb.sql(`CREATE DATABASE \`${live}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`);
  await mariadb.sql(
    `CREATE TABLE node (nid INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(255)) ENGINE=InnoDB;
     INSERT INTO node (title) SELECT CONCAT('title ', seq, ' é') FROM seq_1_to_500;
     CREATE TABLE cache_data (cid VARCHAR(255) PRIMARY KEY, data LONGBLOB) ENGINE=InnoDB;
     INSERT INTO cache_data VALUES ('a', RANDOM_BYTES(64));`,
    { database: live },
  );
  return { live, aside, before: await contents(live) };
}

describe('db.set-aside', () => {
  it("moves every table into the aside database, rows and all, leaving the site's empty; a second run does nothing", async () => {
    const { live, aside, before } = await siteDatabase();
    expect(await runStep(dbSetAside, { database: live, aside }, testContext(host))).toEqual({ tables: 2 });

    expect(await contents(aside)).toBe(before);
    expect(await contents(live)).toBe('');
    // The aside database is made like the site's (its character set and collation).
    expect(
      await mariadb.sql(
        `SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${aside}';`,
      ),
    ).toBe('utf8mb4_unicode_ci');
    // Run again (an answer lost on the way): the tables are aside already.
    expect(await runStep(dbSetAside, { database: live, aside }, testContext(host))).toEqual({ tables: 2 });
    expect(await contents(aside)).toBe(before);
  });

  it('refuses a database with a view or a trigger, and changes nothing', async () => {
    const { live, aside, before } = await siteDatabase();
    await mariadb.sql('CREATE VIEW titles AS SELECT title FROM node;', { database: live });
    const failure = await stepFailure(runStep(dbSetAside, { database: live, aside }, testContext(host)));
    expect(failure.code).toBe(StepErrorCode.Refused);
    expect(failure.message).toContain('views, triggers, routines or events');
    expect(await mariadb.sql(`SHOW DATABASES LIKE '${aside}';`)).toBe('');
    expect((await contents(live)).startsWith(before.split('\n')[0]!)).toBe(true);
    expect(await mariadb.sql(`SELECT COUNT(*) FROM \`${live}\`.node;`)).toBe('500');
  });

  it('refuses an aside database that holds tables while the site still has its own', async () => {
    const { live, aside } = await siteDatabase();
    await mariadb.sql(`CREATE DATABASE \`${aside}\`; CREATE TABLE \`${aside}\`.other (id INT);`);
    const failure = await stepFailure(runStep(dbSetAside, { database: live, aside }, testContext(host)));
    expect(failure.code).toBe(StepErrorCode.Refused);
    expect(await mariadb.sql(`SELECT COUNT(*) FROM \`${live}\`.node;`)).toBe('500');
  });

  it('refuses the same database as both', async () => {
    const { live } = await siteDatabase();
    await expect(runStep(dbSetAside, { database: live, aside: live }, testContext(host))).rejects.toThrow(
      /another database/,
    );
  });
});

describe('db.put-back', () => {
  it('drops what a half-done restore put in, renames the set-aside tables back, drops the aside database; again: nothing', async () => {
    const { live, aside, before } = await siteDatabase();
    await runStep(dbSetAside, { database: live, aside }, testContext(host));
    // A restore half done: one of the backup's tables, and one the site did not have.
    await mariadb.sql(
      'CREATE TABLE node (nid INT PRIMARY KEY, title VARCHAR(255)); INSERT INTO node VALUES (1, "restored"); CREATE TABLE new_module (id INT); CREATE VIEW restored_view AS SELECT 1;',
      { database: live },
    );

    expect(await runStep(dbPutBack, { database: live, aside }, testContext(host))).toEqual({ tables: 2 });
    expect(await contents(live)).toBe(before);
    expect(await mariadb.sql(`SHOW DATABASES LIKE '${aside}';`)).toBe('');
    expect(await runStep(dbPutBack, { database: live, aside }, testContext(host))).toEqual({ tables: 0 });
    expect(await contents(live)).toBe(before);
  });
});
