import { PassThrough } from 'node:stream';
import { must, validateDatabaseName } from '../../../../shared/src/validation.js';
import { MariaDb, quoteIdentifier, requireDatabase } from '../../adapters/mysql.js';
import { asError, firstFailure } from '../../adapters/streams.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';

/**
 * A database copied into another on this server (a blue-green migrate's copy): mariadb-dump's
 * consistent dump piped straight into the client, on the db server itself, so the rows never cross
 * the network or the master's store. The client stops at the first error and a cut-short dump is
 * never taken as the whole: the copy fails instead.
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
    await requireDatabase(mariadb, to, 'create it first (db.create)');
    context.note(`copying ${from} into ${to} on this server`);
    const dump = new PassThrough();
    let bytes = 0;
    dump.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      context.progress('copy', bytes, 0, 'bytes');
    });
    await firstFailure([
      {
        run: mariadb.dump(from, dump).then(() => {
          dump.end();
        }),
        onFailure: (error) => dump.destroy(asError(error)),
      },
      { run: mariadb.import(to, dump), onFailure: () => dump.destroy() },
    ]);
    context.note(`copied ${from} into ${to}: ${bytes} bytes of SQL`);
    return { bytes };
  },
};

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
