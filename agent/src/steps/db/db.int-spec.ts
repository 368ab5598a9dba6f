import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import type { HostSettings } from '../../config.js';
import { testMariaDb } from '../../testing/mariadb.js';
import {
  MemoryArchives,
  runStep,
  stepFailure,
  testContext,
  testRoot,
  uniqueDbName,
  writeDefaultsFile,
} from '../../testing/step-context.js';
import { dbCreate } from './create.js';
import { dbDrop } from './drop.js';
import { dbDump } from './dump.js';
import { dbImport } from './import.js';
import { dbSchemaVersions } from './schema-versions.js';

let mariadb: Awaited<ReturnType<typeof testMariaDb>>;
let root: Awaited<ReturnType<typeof testRoot>>;
let host: HostSettings;
const cleanups: string[] = [];

beforeAll(async () => {
  mariadb = await testMariaDb();
  root = await testRoot({ dbAdminDefaults: mariadb.adminDefaults });
  host = root.host;
});

afterEach(async () => {
  if (cleanups.length > 0) await mariadb.sql(cleanups.splice(0).join('\n'));
});

afterAll(async () => {
  await root?.remove();
  await mariadb?.close();
});

/** A database and a user for one test, dropped after it. */
function names(prefix = 'berth') {
  const database = uniqueDbName(`${prefix}_db`);
  const user = uniqueDbName(`${prefix}_u`);
  cleanups.push(`DROP DATABASE IF EXISTS \`${database}\`;`, `DROP USER IF EXISTS '${user}'@'%';`);
  return { database, user };
}

function password(): string {
  // Quotes, backslashes and a semicolon: the literal must hold them all.
  return `pw-${randomBytes(9).toString('base64url')}'"\\;x`;
}

async function canUse(defaults: string, database: string): Promise<boolean> {
  try {
    await mariadb.sql('SELECT 1;', { defaults, database });
    return true;
  } catch {
    return false;
  }
}

describe('db.create and db.drop', () => {
  it('creates the database and a user that can use it, twice, resetting the password', async () => {
    const { database, user } = names();
    const first = password();
    const output = await runStep(
      dbCreate,
      { database, user, host: '%' },
      testContext(host, { secrets: { dbPassword: first } }),
    );
    expect(output).toEqual({ database, user });
    const asUser = await writeDefaultsFile(mariadb.dir, { user, password: first });
    expect(await canUse(asUser, database)).toBe(true);

    const second = password();
    await runStep(
      dbCreate,
      { database, user, host: '%' },
      testContext(host, { secrets: { dbPassword: second } }),
    );
    expect(await canUse(asUser, database)).toBe(false);
    expect(await canUse(await writeDefaultsFile(mariadb.dir, { user, password: second }), database)).toBe(
      true,
    );
    expect(
      await mariadb.sql(
        `SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='${database}';`,
      ),
    ).toBe('utf8mb4');
  });

  it('refuses a fresh create where a database of that name is already, and leaves its user be', async () => {
    const { database, user } = names();
    const first = password();
    await runStep(
      dbCreate,
      { database, user, host: '%' },
      testContext(host, { secrets: { dbPassword: first } }),
    );
    const refused = await stepFailure(
      runStep(
        dbCreate,
        { database, user, host: '%', fresh: true },
        testContext(host, { secrets: { dbPassword: password() } }),
      ),
    );
    expect(refused.code).toBe(StepErrorCode.Refused);
    expect(refused.message).toContain(`a database named ${database} is already on this server`);
    // The password was not reset: the refusal came before anything was written.
    expect(await canUse(await writeDefaultsFile(mariadb.dir, { user, password: first }), database)).toBe(
      true,
    );
    const other = names();
    expect(
      await runStep(
        dbCreate,
        { ...other, host: '%', fresh: true },
        testContext(host, { secrets: { dbPassword: password() } }),
      ),
    ).toEqual(other);
  });

  it('grants only its own database when the name holds "_" (a_b does not reach axb)', async () => {
    const suffix = randomBytes(3).toString('hex');
    const database = `b_${suffix}`;
    const lookalike = `bx${suffix}`;
    const user = uniqueDbName('grant_u');
    cleanups.push(
      `DROP DATABASE IF EXISTS \`${database}\`;`,
      `DROP DATABASE IF EXISTS \`${lookalike}\`;`,
      `DROP USER IF EXISTS '${user}'@'%';`,
    );
    await mariadb.sql(`CREATE DATABASE \`${lookalike}\`; CREATE TABLE \`${lookalike}\`.secret (x INT);`);
    const secret = password();
    await runStep(
      dbCreate,
      { database, user, host: '%' },
      testContext(host, { secrets: { dbPassword: secret } }),
    );
    const asUser = await writeDefaultsFile(mariadb.dir, { user, password: secret });
    expect(await canUse(asUser, database)).toBe(true);
    expect(await canUse(asUser, lookalike)).toBe(false);
    const grants = await mariadb.sql(`SHOW GRANTS FOR '${user}'@'%';`);
    // --batch output doubles backslashes: the grant is on `b\_<suffix>`.*, the escaped pattern.
    expect(grants).toContain(`ON \`b\\\\_${suffix}\`.*`);
  });

  it('drops the database and the user, and a second drop is fine', async () => {
    const { database, user } = names();
    await runStep(
      dbCreate,
      { database, user, host: '%' },
      testContext(host, { secrets: { dbPassword: password() } }),
    );
    for (let run = 0; run < 2; run += 1) {
      expect(await runStep(dbDrop, { database, user, host: '%' }, testContext(host))).toEqual({
        database,
        user,
      });
    }
    expect(
      await mariadb.sql(`SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='${database}';`),
    ).toBe('0');
    expect(await mariadb.sql(`SELECT COUNT(*) FROM mysql.user WHERE User='${user}';`)).toBe('0');
  });

  it('refuses without the password secret, and with names that are not whitelisted', async () => {
    const { database, user } = names();
    const missing = await stepFailure(runStep(dbCreate, { database, user, host: '%' }, testContext(host)));
    expect(missing.code).toBe(StepErrorCode.InvalidParams);
    expect(missing.message).toMatch(/dbPassword/);
    for (const params of [
      { database: 'a`b', user, host: '%' },
      { database, user: 'x'.repeat(33), host: '%' },
      { database, user, host: "%'; DROP USER root; --" },
      { database: 'Upper', user, host: '%' },
    ]) {
      const error = await stepFailure(
        runStep(dbCreate, params, testContext(host, { secrets: { dbPassword: 'p' } })),
      );
      expect(error.code).toBe(StepErrorCode.InvalidParams);
    }
  });
});

describe('db.dump and db.import', () => {
  async function seed(database: string, rows: number): Promise<void> {
    await mariadb.sql(
      `CREATE DATABASE \`${database}\`; USE \`${database}\`;
       CREATE TABLE node (nid INT PRIMARY KEY, title VARCHAR(255), body LONGBLOB) ENGINE=InnoDB;
       INSERT INTO node SELECT seq, CONCAT('title ', seq, ' é'), RANDOM_BYTES(512) FROM seq_1_to_${rows};
       CREATE TABLE key_value (collection VARCHAR(128), name VARCHAR(128), value LONGBLOB, PRIMARY KEY (collection, name));
       INSERT INTO key_value VALUES ('system.schema', 'system', 'i:10201;'), ('system.schema', 'node', 'i:8001;'),
         ('system.schema', 'gone', 'i:-1;'), ('state', 'x', 'i:5;'),
         ('post_update', 'existing_updates', 'a:2:{i:0;s:28:"node_post_update_first_thing";i:1;s:29:"system_post_update_second_one";}');`,
    );
  }

  async function checksum(database: string): Promise<string> {
    return mariadb.sql(`CHECKSUM TABLE \`${database}\`.node, \`${database}\`.key_value;`);
  }

  it('imports the dump into a rehearsal database as it goes (alsoInto): the same rows there, the same archive', async () => {
    const { database: source } = names('dump');
    const { database: copy } = names('copy');
    await seed(source, 2000);
    await mariadb.sql(`CREATE DATABASE \`${copy}\`;`);
    const archives = new MemoryArchives();
    const archiveId = '3d2f7b2e-6e1c-4a74-8b62-1e2c3d4f5a21';
    const dumped = await runStep(
      dbDump,
      { database: source, archiveId, alsoInto: copy },
      testContext(host, { archives }),
    );
    expect(archives.archives.get(archiveId)?.length).toBe(dumped.bytes);
    expect((await checksum(copy)).replaceAll(copy, '')).toBe((await checksum(source)).replaceAll(source, ''));
    // Not into a database that has tables: the copy is made once, from nothing.
    const refused = await stepFailure(
      runStep(
        dbDump,
        { database: source, archiveId: '3d2f7b2e-6e1c-4a74-8b62-1e2c3d4f5a22', alsoInto: copy },
        testContext(host, { archives }),
      ),
    );
    expect(refused.code).toBe(StepErrorCode.Refused);
  });

  it('stops the dump and the import when the upload breaks, and fails', async () => {
    const { database: source } = names('dump');
    const { database: copy } = names('copy');
    await seed(source, 4000);
    await mariadb.sql(`CREATE DATABASE \`${copy}\`;`);
    const archives = new MemoryArchives();
    archives.failNextUploadAt = 64 * 1024;
    const failed = await stepFailure(
      runStep(
        dbDump,
        { database: source, archiveId: '3d2f7b2e-6e1c-4a74-8b62-1e2c3d4f5a23', alsoInto: copy },
        testContext(host, { archives }),
      ),
    );
    expect(failed.code).toBe(StepErrorCode.TransferFailed);
    expect(archives.archives.has('3d2f7b2e-6e1c-4a74-8b62-1e2c3d4f5a23')).toBe(false);
  });

  it('round-trips: dump, import into another database, same rows', async () => {
    const { database: source } = names('dump');
    const { database: target } = names('restore');
    await seed(source, 2000);
    const archives = new MemoryArchives();
    const archiveId = '2c1f6a1e-5d0b-4f63-9a51-0d3b1b6f7a10';
    const dumped = await runStep(dbDump, { database: source, archiveId }, testContext(host, { archives }));
    const stored = archives.archives.get(archiveId);
    expect(stored?.length).toBe(dumped.bytes);
    const sql = gunzipSync(stored ?? Buffer.alloc(0)).toString('latin1');
    expect(sql).toContain('CREATE TABLE `node`');
    expect(sql).not.toContain('CREATE DATABASE');

    await mariadb.sql(`CREATE DATABASE \`${target}\`;`);
    const imported = await runStep(
      dbImport,
      { database: target, archiveId },
      testContext(host, { archives }),
    );
    expect(imported).toEqual({ sha256: dumped.sha256, bytes: dumped.bytes });
    expect(await mariadb.sql(`SELECT COUNT(*) FROM \`${target}\`.node;`)).toBe('2000');
    expect((await checksum(target)).replaceAll(target, '')).toBe(
      (await checksum(source)).replaceAll(source, ''),
    );

    const versions = await runStep(dbSchemaVersions, { database: target }, testContext(host));
    expect(versions).toEqual({
      versions: { node: 8001, system: 10201 },
      postUpdates: ['node_post_update_first_thing', 'system_post_update_second_one'],
    });
  });

  it('fails with the client stderr tail on bad SQL, and on a cut-short download', async () => {
    const { database } = names('bad');
    await mariadb.sql(`CREATE DATABASE \`${database}\`;`);
    const archives = new MemoryArchives();
    const { gzipSync } = await import('node:zlib');
    archives.archives.set(
      '3c1f6a1e-5d0b-4f63-9a51-0d3b1b6f7a10',
      gzipSync('CREATE TABLE t (x INT);\nTHIS IS NOT SQL;\n'),
    );
    const bad = await stepFailure(
      runStep(
        dbImport,
        { database, archiveId: '3c1f6a1e-5d0b-4f63-9a51-0d3b1b6f7a10' },
        testContext(host, { archives }),
      ),
    );
    expect(bad.code).toBe(StepErrorCode.CommandFailed);
    expect(bad.stderrTail).toMatch(/ERROR 1064/);

    const big = Buffer.from(
      `INSERT INTO t VALUES ${Array.from({ length: 200_000 }, (_, i) => `(${i})`).join(',')};\n`,
    );
    archives.archives.set(
      '4c1f6a1e-5d0b-4f63-9a51-0d3b1b6f7a10',
      gzipSync(Buffer.concat([Buffer.from('DROP TABLE IF EXISTS t; CREATE TABLE t (x INT);\n'), big])),
    );
    archives.cutNextDownloadAt = 20_000;
    const cut = await stepFailure(
      runStep(
        dbImport,
        { database, archiveId: '4c1f6a1e-5d0b-4f63-9a51-0d3b1b6f7a10' },
        testContext(host, { archives }),
      ),
    );
    expect(cut.code).toBe(StepErrorCode.TransferFailed);
    // The client was stopped before it saw an end of input: the half INSERT never ran.
    expect(await mariadb.sql(`SELECT COUNT(*) FROM \`${database}\`.t;`).catch(() => '0')).toBe('0');
  });

  it('refuses to dump or import a database that does not exist', async () => {
    const missing = uniqueDbName('missing');
    const archiveId = '5c1f6a1e-5d0b-4f63-9a51-0d3b1b6f7a10';
    expect(
      (await stepFailure(runStep(dbDump, { database: missing, archiveId }, testContext(host)))).code,
    ).toBe(StepErrorCode.NotFound);
    expect(
      (await stepFailure(runStep(dbImport, { database: missing, archiveId }, testContext(host)))).code,
    ).toBe(StepErrorCode.NotFound);
  });

  it('keeps the admin password out of every command line and environment while dump and import run', async () => {
    const { database: source } = names('ps');
    const { database: target } = names('ps2');
    const admin = uniqueDbName('admin');
    const secret = `s3cr3t-${randomBytes(12).toString('hex')}`;
    cleanups.push(`DROP USER IF EXISTS '${admin}'@'%';`);
    await mariadb.sql(
      `CREATE USER '${admin}'@'%' IDENTIFIED BY '${secret}'; GRANT ALL PRIVILEGES ON *.* TO '${admin}'@'%' WITH GRANT OPTION;`,
    );
    await seed(source, 20_000);
    await mariadb.sql(`CREATE DATABASE \`${target}\`;`);
    const adminHost = (
      await testRoot({
        dbAdminDefaults: await writeDefaultsFile(mariadb.dir, { user: admin, password: secret }),
      })
    ).host;

    const seen = { commands: 0, leaks: [] as string[] };
    let sampling = true;
    const sample = async () => {
      while (sampling) {
        for (const pid of await readdir('/proc').catch(() => [])) {
          if (!/^\d+$/.test(pid)) continue;
          const [cmdline, environ] = await Promise.all(
            ['cmdline', 'environ'].map((file) => readFile(`/proc/${pid}/${file}`, 'latin1').catch(() => '')),
          );
          if (/mariadb/.test(cmdline ?? '')) seen.commands += 1;
          if (cmdline?.includes(secret) || environ?.includes(secret)) seen.leaks.push(cmdline ?? '');
        }
      }
    };
    const sampler = sample();
    try {
      const archives = new MemoryArchives();
      const archiveId = '6c1f6a1e-5d0b-4f63-9a51-0d3b1b6f7a10';
      await runStep(dbDump, { database: source, archiveId }, testContext(adminHost, { archives }));
      await runStep(dbImport, { database: target, archiveId }, testContext(adminHost, { archives }));
    } finally {
      sampling = false;
      await sampler;
    }
    expect(seen.leaks).toEqual([]);
    // The sampler did see the clients run: the check above looked at them.
    expect(seen.commands).toBeGreaterThan(0);
    expect(await mariadb.sql(`SELECT COUNT(*) FROM \`${target}\`.node;`)).toBe('20000');
  });
});
