import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import type { HostSettings } from '../../config.js';
import { startBinlogMariaDb, testMariaDb } from '../../testing/mariadb.js';
import { MemoryArchives, runStep, stepFailure, testContext, testRoot } from '../../testing/step-context.js';
import { dbDump } from './dump.js';
import { dbBinlogMark, dbRewind, WithoutGtidSequence } from './rewind.js';

/**
 * The rollback point of a migrate without a dump taken while writes wait (db.dump's snapshot
 * position, db.binlog-mark, db.rewind), on a MariaDB server of the test's own with a row-based
 * binary log and gtid_strict_mode on.
 */
let server: Awaited<ReturnType<typeof startBinlogMariaDb>>;
let root: Awaited<ReturnType<typeof testRoot>>;
let host: HostSettings;

beforeAll(async () => {
  server = await startBinlogMariaDb();
  root = await testRoot({ dbAdminDefaults: server.adminDefaults });
  host = root.host;
  await server.sql('SET GLOBAL gtid_strict_mode = 1;');
});

afterAll(async () => {
  await root?.remove();
  await server?.stop();
});

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let waited = 0; !(await check()); waited += 50) {
    if (waited > 10_000) throw new Error('not within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every table's rows of a database, as text: what "the same database" means here. */
async function contents(database: string): Promise<string> {
  const tables = (
    await server.sql(
      `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${database}' ORDER BY TABLE_NAME;`,
    )
  )
    .split('\n')
    .filter(Boolean);
  const parts = [];
  for (const table of tables) {
    const rows = await server.sql(`SELECT * FROM \`${table}\` ORDER BY 1;`, { database });
    parts.push(`${table}:\n${rows}`);
  }
  return parts.join('\n');
}

describe('db.rewind from a dump and the binary log', () => {
  const database = 'site_rewind';
  const other = 'other_site';
  const archives = new MemoryArchives();
  const archiveId = '5b0e1a7c-2f4d-4c1a-8e3b-7a9d0c6e1f21';
  const DUMP_AGAIN = '6c1f2b8d-3a5e-4d2b-9f4c-8b0e1d7f2a32';

  it('dumps with the position of its snapshot; replays up to the mark, this database only; again gives the same', async () => {
    await server.sql(
      `CREATE DATABASE ${database}; CREATE DATABASE ${other}; CREATE TABLE ${other}.t (id INT PRIMARY KEY);`,
    );
    await server.sql(
      `CREATE TABLE node (nid INT PRIMARY KEY, title VARCHAR(255), body BLOB);
       INSERT INTO node SELECT seq, CONCAT('title ', seq), RANDOM_BYTES(64) FROM seq_1_to_500;`,
      { database },
    );
    const dumped = await runStep(dbDump, { database, archiveId }, testContext(host, { archives }));
    expect(dumped.binlog?.file).toMatch(/^binlog\.\d{6}$/);
    expect(dumped.binlog?.position).toBeGreaterThan(0);

    // Online writes after the backup: kept by the rewind. One from another database's connection,
    // one new table, a log rotation in between (the replay spans two files).
    await server.sql(
      `UPDATE node SET title = 'changed online' WHERE nid = 7; DELETE FROM node WHERE nid = 8;
       INSERT INTO node VALUES (1001, 'written online', x'00ff10');
       CREATE TABLE cache_online (cid VARCHAR(64) PRIMARY KEY, data TEXT); INSERT INTO cache_online VALUES ('a', 'é');`,
      { database },
    );
    await server.sql('FLUSH BINARY LOGS;');
    await server.sql(
      `INSERT INTO ${database}.node VALUES (1002, 'from the other database', NULL); INSERT INTO t VALUES (1);`,
      {
        database: other,
      },
    );
    const since = dumped.binlog!;
    const mark = await runStep(dbBinlogMark, { database, since }, testContext(host));
    expect(mark.file).not.toBe(since.file);
    const atMark = await contents(database);

    // What the failed updates did after the mark: undone by the rewind. The other database's
    // writes stay as they are.
    await server.sql(
      `ALTER TABLE node ADD COLUMN langcode VARCHAR(12); UPDATE node SET title = 'updated' WHERE nid < 100;
       CREATE TABLE made_by_update (id INT); DROP TABLE cache_online;`,
      { database },
    );
    await server.sql('INSERT INTO t VALUES (2);', { database: other });

    const rewound = await runStep(
      dbRewind,
      { database, archiveId, from: since, to: mark },
      testContext(host, { archives }),
    );
    expect(rewound).toMatchObject({ sha256: dumped.sha256, bytes: dumped.bytes });
    expect(rewound.replayedBytes).toBeGreaterThan(0);
    expect(await contents(database)).toBe(atMark);
    expect(await server.sql('SELECT id FROM t ORDER BY id;', { database: other })).toBe('1\n2');

    // A second run (an attempt lost mid-way, run again) ends at the same place.
    await server.sql('DELETE FROM node WHERE nid > 10;', { database });
    await runStep(dbRewind, { database, archiveId, from: since, to: mark }, testContext(host, { archives }));
    expect(await contents(database)).toBe(atMark);
  });

  it('stops a session a lost attempt left on the database before it rebuilds it', async () => {
    const since = (
      await runStep(dbDump, { database, archiveId: DUMP_AGAIN }, testContext(host, { archives }))
    ).binlog!;
    const mark = await runStep(dbBinlogMark, { database, since }, testContext(host));
    const atMark = await contents(database);
    // A client of an earlier attempt, still busy on the server, as the admin.
    const leftover = execa(
      'mariadb',
      [`--defaults-extra-file=${server.adminDefaults}`, `--database=${database}`],
      {
        input: "SELECT SLEEP(60); INSERT INTO node VALUES (5000, 'too late', NULL);",
        reject: false,
      },
    );
    await eventually(
      async () =>
        (await server.sql(
          "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP%';",
        )) === '1',
    );
    await runStep(
      dbRewind,
      { database, archiveId: DUMP_AGAIN, from: since, to: mark },
      testContext(host, { archives }),
    );
    expect((await leftover).exitCode).not.toBe(0);
    expect(await contents(database)).toBe(atMark);
  });

  it('refuses a mark once the log the backup named is purged: a dump must be the rollback point', async () => {
    await server.sql('FLUSH BINARY LOGS;');
    const [current] = (await server.sql('SHOW MASTER STATUS;')).split('\t');
    await server.sql(`PURGE BINARY LOGS TO '${current}';`);
    const refused = await stepFailure(
      runStep(dbBinlogMark, { database, since: { file: 'binlog.000001', position: 4 } }, testContext(host)),
    );
    expect(refused.code).toBe(StepErrorCode.Refused);
    expect(refused.message).toMatch(/binlog\.000001 is no longer on the server \(purged\)/);
  });

  it('refuses a file name that is not a binary log name, before it reaches a command', async () => {
    const refused = await stepFailure(
      runStep(
        dbRewind,
        {
          database,
          archiveId,
          from: { file: '../../etc/passwd', position: 4 },
          to: { file: 'binlog.000002', position: 4 },
        },
        testContext(host, { archives }),
      ),
    );
    expect(refused.code).toBe(StepErrorCode.InvalidParams);
  });
});

describe('a server without a binary log', () => {
  it('dumps without a position, and refuses a mark', async () => {
    const machine = await testMariaDb();
    const plain = await testRoot({ dbAdminDefaults: machine.adminDefaults });
    try {
      const refused = await stepFailure(
        runStep(
          dbBinlogMark,
          { database: 'mysql', since: { file: 'binlog.000001', position: 4 } },
          testContext(plain.host),
        ),
      );
      expect(refused.code).toBe(StepErrorCode.Refused);
      expect(refused.message).toMatch(/no row-based binary log/);
    } finally {
      await plain.remove();
      await machine.close();
    }
  });
});

describe('WithoutGtidSequence', () => {
  it('drops only the GTID sequence lines, wherever the chunks split them', async () => {
    const input =
      '/*M!100001 SET @@session.gtid_domain_id=0*//*!*/;\n/*M!100001 SET @@session.gtid_seq_no=6*//*!*/;\n' +
      "BINLOG '\nAAEC\n'/*!*/;\n/*M!100001 SET @@session.gtid_seq_no=7*//*!*/;\nCOMMIT/*!*/;";
    const source = new PassThrough();
    const output = text(source.pipe(new WithoutGtidSequence()));
    for (let at = 0; at < input.length; at += 7) source.write(Buffer.from(input.slice(at, at + 7)));
    source.end();
    expect(await output).toBe(
      "/*M!100001 SET @@session.gtid_domain_id=0*//*!*/;\nBINLOG '\nAAEC\n'/*!*/;\nCOMMIT/*!*/;",
    );
  });
});
