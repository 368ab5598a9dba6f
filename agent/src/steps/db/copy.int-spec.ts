import { describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import { machineDatabases } from '../../testing/machine-databases.js';
import { runStep, stepFailure, testContext, uniqueDbName } from '../../testing/step-context.js';
import { dbCopy, dbDropDatabase } from './copy.js';

/** db.copy and db.drop-database on the machine's MariaDB, as a blue-green migrate uses them. */
const machine = machineDatabases();
const { database, contents, sql } = machine;
const host = () => machine.host;

describe('db.copy', () => {
  it('copies InnoDB tables by their tablespaces: the same rows, auto-increment carried on, the source writable after', async () => {
    const from = database('copy_src');
    const to = database('copy_dst');
    await sql(`CREATE DATABASE \`${from}\`; CREATE DATABASE \`${to}\`;`);
    await sql(
      `CREATE TABLE node (nid INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(255), body LONGBLOB) ENGINE=InnoDB;
       INSERT INTO node (title, body) SELECT CONCAT('title ', seq, ' é'), RANDOM_BYTES(512) FROM seq_1_to_3000;
       CREATE TABLE key_value (collection VARCHAR(128), name VARCHAR(128), value LONGBLOB, PRIMARY KEY (collection, name)) ENGINE=InnoDB;
       INSERT INTO key_value VALUES ('system.schema', 'system', 'i:10201;');`,
      { database: from },
    );
    const copied = await runStep(dbCopy, { from, to }, testContext(host()));
    expect(copied.method).toBe('tablespaces');
    expect(copied.bytes).toBeGreaterThan(1_000_000);
    expect(await contents(to)).toBe(await contents(from));
    const nextId = (name: string) =>
      sql(
        `SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${name}' AND TABLE_NAME = 'node';`,
      );
    expect(Number(await nextId(to))).toBeGreaterThan(3000);
    expect(await nextId(to)).toBe(await nextId(from));
    // The export lock is gone: the source takes writes again, and they stay its own.
    await sql("INSERT INTO node (title) VALUES ('source only');", { database: from });
    expect(await sql("SELECT COUNT(*) FROM node WHERE title = 'source only';", { database: to })).toBe('0');
  });

  it('copies by a dump what tablespaces cannot carry (a view, another engine), every part of it', async () => {
    const from = database('copy_src');
    const to = database('copy_dst');
    await sql(`CREATE DATABASE \`${from}\`; CREATE DATABASE \`${to}\`;`);
    await sql(
      `CREATE TABLE node (nid INT PRIMARY KEY, title VARCHAR(255)) ENGINE=InnoDB;
       INSERT INTO node VALUES (1, 'one'), (2, 'two');
       CREATE TABLE counter (id INT PRIMARY KEY, hits INT) ENGINE=Aria;
       INSERT INTO counter VALUES (1, 41);
       CREATE VIEW titles AS SELECT title FROM node;`,
      { database: from },
    );
    const copied = await runStep(dbCopy, { from, to }, testContext(host()));
    expect(copied.method).toBe('dump');
    expect(await contents(to)).toBe(await contents(from));
  });

  it('refuses a copy into a database that has tables, and onto itself', async () => {
    const from = database('copy_src');
    const to = database('copy_dst');
    await sql(
      `CREATE DATABASE \`${from}\`; CREATE DATABASE \`${to}\`; CREATE TABLE \`${to}\`.kept (id INT) ENGINE=InnoDB;`,
    );
    const refused = await stepFailure(runStep(dbCopy, { from, to }, testContext(host())));
    expect(refused.code).toBe(StepErrorCode.Refused);
    expect(refused.message).toMatch(/is not empty \(1 tables\)/);
    await expect(runStep(dbCopy, { from, to: from }, testContext(host()))).rejects.toThrow(/onto itself/);
  });
});

describe('db.drop-database', () => {
  it('drops the database and no user, and says when there was none', async () => {
    const name = database('drop_only');
    const user = uniqueDbName('drop_u');
    await sql(`CREATE DATABASE \`${name}\`; CREATE USER '${user}'@'127.0.0.1';`);
    try {
      expect(await runStep(dbDropDatabase, { database: name }, testContext(host()))).toEqual({
        database: name,
        dropped: true,
      });
      expect(await runStep(dbDropDatabase, { database: name }, testContext(host()))).toEqual({
        database: name,
        dropped: false,
      });
      expect(await sql(`SELECT COUNT(*) FROM mysql.user WHERE user = '${user}';`)).toBe('1');
    } finally {
      await sql(`DROP USER IF EXISTS '${user}'@'127.0.0.1';`);
    }
  });
});
