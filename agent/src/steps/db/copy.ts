import { constants as fsConstants } from 'node:fs';
import { chown, copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { must, validateDatabaseName } from '../../../../shared/src/validation.js';
import {
  MariaDb,
  quoteIdentifier,
  quoteString,
  requireDatabase,
  requireEmptyDatabase,
} from '../../adapters/mysql.js';
import { parseWith } from '../params.js';
import type { StepContext, StepHandler } from '../step.js';

/**
 * A database copied into another, empty one on this server (a blue-green migrate's copy), never
 * through the network or the master's store. The fast way is InnoDB's transportable tablespaces:
 * each table created alike in the copy with its tablespace discarded, the source's .ibd files
 * copied (a reflink where the filesystem can) while FLUSH TABLES ... FOR EXPORT holds their
 * writes, then imported — at the disk's speed instead of re-inserting every row. Where a table does
 * not allow that (another engine, partitions, a FULLTEXT index, a name outside [A-Za-z0-9_]) or
 * the database has views, triggers, routines, events or foreign keys, it is mariadb-dump's
 * consistent dump piped into the client. A cut-short copy fails; the caller drops the copy.
 */
export const dbCopy: StepHandler<'db.copy'> = {
  name: 'db.copy',
  parseParams: (input) =>
    parseWith(input, ['from', 'to'], [], (params) => ({
      from: must(validateDatabaseName('from', params.from)),
      to: must(validateDatabaseName('to', params.to)),
    })),
  async run({ from, to }, context) {
    if (from === to) throw new Error(`db.copy: ${from} cannot be copied onto itself`);
    const mariadb = new MariaDb(context);
    await requireDatabase(mariadb, from, 'nothing to copy');
    await requireEmptyDatabase(mariadb, to, 'a copy goes into a new database only');
    const plan = await tablespacePlan(mariadb, from);
    if (plan.ok) {
      context.note(`copying ${from} into ${to}: ${plan.tables.length} tables by their tablespaces`);
      const bytes = await copyTablespaces(context, mariadb, from, to, plan);
      context.note(`copied ${from} into ${to}: ${bytes} bytes of tablespace files`);
      return { bytes, method: 'tablespaces' as const };
    }
    context.note(`copying ${from} into ${to} by a dump (${plan.why})`);
    const bytes = await mariadb.importFrom(to, (destination) => mariadb.dump(from, destination), {
      onBytes: (copied) => context.progress('copy', copied, 0, 'bytes'),
    });
    context.note(`copied ${from} into ${to}: ${bytes} bytes of SQL`);
    return { bytes, method: 'dump' as const };
  },
};

type TablespacePlan = { ok: true; tables: string[]; datadir: string } | { ok: false; why: string };

/** Whether every part of `from` can be copied as a tablespace file, and the tables if so. */
async function tablespacePlan(mariadb: MariaDb, from: string): Promise<TablespacePlan> {
  const schema = quoteString(from);
  const [settings] = await mariadb.query(
    `SELECT @@GLOBAL.innodb_file_per_table, @@GLOBAL.datadir,
       (SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ${schema} AND INDEX_TYPE = 'FULLTEXT'),
       (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${schema})
       + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${schema})
       + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${schema})
       + (SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ${schema});`,
  );
  const [filePerTable, datadir, fulltext, others] = settings ?? [];
  if (filePerTable !== '1') return { ok: false, why: 'innodb_file_per_table is off' };
  if (fulltext !== '0') return { ok: false, why: 'a table has a FULLTEXT index' };
  if (others !== '0') return { ok: false, why: 'it has triggers, routines, events or foreign keys' };
  const rows = await mariadb.query(
    `SELECT TABLE_NAME, TABLE_TYPE, ENGINE, CREATE_OPTIONS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${schema};`,
  );
  for (const [name = '', type, engine, options = ''] of rows) {
    if (type !== 'BASE TABLE') return { ok: false, why: `${name} is a ${type ?? 'table of another kind'}` };
    if (engine !== 'InnoDB')
      return { ok: false, why: `table ${name} is ${engine ?? 'of no engine'}, not InnoDB` };
    if (options.includes('partitioned')) return { ok: false, why: `table ${name} is partitioned` };
    // Other characters are encoded in file names (@002d ...): not worth guessing.
    if (!/^[A-Za-z0-9_]{1,64}$/.test(name))
      return { ok: false, why: `table ${JSON.stringify(name)} has an unusual name` };
  }
  if (!datadir?.startsWith('/'))
    return { ok: false, why: `the server's datadir is ${JSON.stringify(datadir)}` };
  return { ok: true, tables: rows.map((row) => row[0]!), datadir };
}

/** The tables made alike and emptied of their tablespace, the files copied under the export lock, imported. */
async function copyTablespaces(
  context: StepContext,
  mariadb: MariaDb,
  from: string,
  to: string,
  plan: { tables: string[]; datadir: string },
): Promise<number> {
  if (plan.tables.length === 0) return 0;
  const target = (table: string) => `${quoteIdentifier(to)}.${quoteIdentifier(table)}`;
  await mariadb.execute(
    plan.tables
      .map(
        (table) =>
          `CREATE TABLE ${target(table)} LIKE ${quoteIdentifier(from)}.${quoteIdentifier(table)};\n` +
          `ALTER TABLE ${target(table)} DISCARD TABLESPACE;\n`,
      )
      .join(''),
  );
  let bytes = 0;
  await mariadb.whileExported(from, plan.tables, async () => {
    for (const table of plan.tables) {
      for (const suffix of ['.ibd', '.cfg']) {
        const source = join(plan.datadir, from, `${table}${suffix}`);
        const copy = join(plan.datadir, to, `${table}${suffix}`);
        // A reflink where the filesystem has them (XFS, btrfs): no bytes move at all.
        await copyFile(source, copy, fsConstants.COPYFILE_FICLONE);
        const { uid, gid, size } = await stat(source);
        await chown(copy, uid, gid);
        bytes += size;
        context.progress('copy', bytes, 0, 'bytes');
      }
    }
  });
  await mariadb.execute(
    plan.tables.map((table) => `ALTER TABLE ${target(table)} IMPORT TABLESPACE;\n`).join(''),
  );
  return bytes;
}

/** Drops a database and nothing else (its user keeps its other grants). */
export const dbDropDatabase: StepHandler<'db.drop-database'> = {
  name: 'db.drop-database',
  parseParams: (input) =>
    parseWith(input, ['database'], [], (params) => ({
      database: must(validateDatabaseName('database', params.database)),
    })),
  async run({ database }, context) {
    const mariadb = new MariaDb(context);
    const existed = await mariadb.databaseExists(database);
    if (existed) {
      context.note(`dropping database ${database}`);
      await mariadb.execute(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)};\n`);
    }
    return { database, dropped: existed };
  },
};
