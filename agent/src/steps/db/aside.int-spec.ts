import { describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import { machineDatabases } from '../../testing/machine-databases.js';
import { runStep, stepFailure, testContext } from '../../testing/step-context.js';
import { dbPutBack, dbSetAside } from './aside.js';

/** db.set-aside and db.put-back on the machine's MariaDB, as a restore (version 4) uses them. */
const machine = machineDatabases();
const { database, contents, sql } = machine;
const host = () => machine.host;

async function siteDatabase(): Promise<{ live: string; aside: string; before: string }> {
  const live = database('aside_live');
  const aside = database('aside_kept');
  await sql(`CREATE DATABASE \`${live}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`);
  await sql(
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
    expect(await runStep(dbSetAside, { database: live, aside }, testContext(host()))).toEqual({ tables: 2 });

    expect(await contents(aside)).toBe(before);
    expect(await contents(live)).toBe('');
    // The aside database is made like the site's (its character set and collation).
    expect(
      await sql(
        `SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${aside}';`,
      ),
    ).toBe('utf8mb4_unicode_ci');
    // Run again (an answer lost on the way): the tables are aside already.
    expect(await runStep(dbSetAside, { database: live, aside }, testContext(host()))).toEqual({ tables: 2 });
    expect(await contents(aside)).toBe(before);
  });

  it('refuses a database with a view or a trigger, and changes nothing', async () => {
    const { live, aside, before } = await siteDatabase();
    await sql('CREATE VIEW titles AS SELECT title FROM node;', { database: live });
    const failure = await stepFailure(runStep(dbSetAside, { database: live, aside }, testContext(host())));
    expect(failure.code).toBe(StepErrorCode.Refused);
    expect(failure.message).toContain('views, triggers, routines or events');
    expect(await sql(`SHOW DATABASES LIKE '${aside}';`)).toBe('');
    expect((await contents(live)).startsWith(before.split('\n')[0]!)).toBe(true);
    expect(await sql(`SELECT COUNT(*) FROM \`${live}\`.node;`)).toBe('500');
  });

  it('refuses an aside database that holds tables while the site still has its own', async () => {
    const { live, aside } = await siteDatabase();
    await sql(`CREATE DATABASE \`${aside}\`; CREATE TABLE \`${aside}\`.other (id INT);`);
    const failure = await stepFailure(runStep(dbSetAside, { database: live, aside }, testContext(host())));
    expect(failure.code).toBe(StepErrorCode.Refused);
    expect(await sql(`SELECT COUNT(*) FROM \`${live}\`.node;`)).toBe('500');
  });

  it('refuses the same database as both', async () => {
    const { live } = await siteDatabase();
    await expect(runStep(dbSetAside, { database: live, aside: live }, testContext(host()))).rejects.toThrow(
      /another database/,
    );
  });
});

describe('db.put-back', () => {
  it('drops what a half-done restore put in, renames the set-aside tables back, drops the aside database; again: nothing', async () => {
    const { live, aside, before } = await siteDatabase();
    await runStep(dbSetAside, { database: live, aside }, testContext(host()));
    // A restore half done: one of the backup's tables, and one the site did not have.
    await sql(
      'CREATE TABLE node (nid INT PRIMARY KEY, title VARCHAR(255)); INSERT INTO node VALUES (1, "restored"); CREATE TABLE new_module (id INT); CREATE VIEW restored_view AS SELECT 1;',
      { database: live },
    );

    expect(await runStep(dbPutBack, { database: live, aside }, testContext(host()))).toEqual({ tables: 2 });
    expect(await contents(live)).toBe(before);
    expect(await sql(`SHOW DATABASES LIKE '${aside}';`)).toBe('');
    expect(await runStep(dbPutBack, { database: live, aside }, testContext(host()))).toEqual({ tables: 0 });
    expect(await contents(live)).toBe(before);
  });
});
