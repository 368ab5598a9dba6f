import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { must, validateDatabaseName } from '../../../../shared/src/validation.js';
import { MariaDb, quoteIdentifier, quoteString, requireDatabase } from '../../adapters/mysql.js';
import { invalidParam, parseWith } from '../params.js';
import type { StepHandler } from '../step.js';

function asideParams(input: unknown) {
  return parseWith(input, ['database', 'aside'], [], (params) => {
    const database = must(validateDatabaseName('database', params.database));
    const aside = must(validateDatabaseName('aside', params.aside));
    if (database === aside) throw invalidParam('aside must be another database than database');
    return { database, aside };
  });
}

/**
 * A database's tables set aside into a new database on this server (a restore's state before, kept
 * whole while the backup goes in): one RENAME TABLE, atomic and metadata only — no row is read or
 * written, whatever the size. The database is left empty, so the restore puts back exactly the
 * backup's tables. Refused, with nothing changed, where renaming cannot move everything (views,
 * triggers, routines or events: the caller takes a dump instead) or `aside` holds tables. A second
 * run finds the tables aside already and does nothing. db.put-back undoes it.
 */
export const dbSetAside: StepHandler<'db.set-aside'> = {
  name: 'db.set-aside',
  parseParams: asideParams,
  async run({ database, aside }, context) {
    const mariadb = new MariaDb(context);
    await requireDatabase(mariadb, database, 'nothing to set aside');
    const tables = await tablesOf(mariadb, database);
    const already = (await mariadb.databaseExists(aside)) ? await tablesOf(mariadb, aside) : null;
    if (already && already.length > 0) {
      if (tables.length === 0) {
        context.note(`${already.length} tables of ${database} are set aside in ${aside} already`);
        return { tables: already.length };
      }
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `${aside} holds ${already.length} tables already: ${database} is not set aside into it`,
        retryable: false,
      });
    }
    const schema = quoteString(database);
    const [[blockers = '0'] = []] = await mariadb.query(
      `SELECT (SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${schema})
        + (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${schema})
        + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${schema})
        + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${schema});`,
    );
    if (blockers !== '0') {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `${database} has ${blockers} views, triggers, routines or events, which renaming cannot move: not set aside`,
        retryable: false,
      });
    }
    const [[charset = '', collation = ''] = []] = await mariadb.query(
      `SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${schema};`,
    );
    // The server's own names, but they go into the statement unquoted: only plain ones.
    if (!/^[a-z0-9_]+$/.test(charset) || !/^[a-z0-9_]+$/.test(collation))
      throw new Error(
        `${database}'s character set ${JSON.stringify(charset)} / ${JSON.stringify(collation)} is not a plain name`,
      );
    await mariadb.execute(
      `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(aside)} CHARACTER SET ${charset} COLLATE ${collation};\n` +
        renameAll(tables, database, aside),
    );
    context.note(`set ${tables.length} tables of ${database} aside in ${aside}`);
    return { tables: tables.length };
  },
};

/**
 * What db.set-aside set aside put back: every table the database holds now (a restore's, whole or
 * half done) dropped, the set-aside tables renamed back, the aside database dropped. Nothing set
 * aside (put back already) does nothing: a rollback may run it again.
 */
export const dbPutBack: StepHandler<'db.put-back'> = {
  name: 'db.put-back',
  parseParams: asideParams,
  async run({ database, aside }, context) {
    const mariadb = new MariaDb(context);
    if (!(await mariadb.databaseExists(aside))) {
      context.note(`nothing of ${database} is set aside in ${aside}: nothing to put back`);
      return { tables: 0 };
    }
    const setAside = await tablesOf(mariadb, aside);
    if (await mariadb.databaseExists(database)) await mariadb.emptyDatabase(database);
    else await mariadb.execute(`CREATE DATABASE ${quoteIdentifier(database)};\n`);
    await mariadb.execute(
      renameAll(setAside, aside, database) + `DROP DATABASE ${quoteIdentifier(aside)};\n`,
    );
    context.note(`put ${setAside.length} tables back into ${database} from ${aside}, what was there dropped`);
    return { tables: setAside.length };
  },
};

async function tablesOf(mariadb: MariaDb, database: string): Promise<string[]> {
  const rows = await mariadb.query(
    `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${quoteString(database)} ORDER BY TABLE_NAME;`,
  );
  return rows.map(([name = '']) => name);
}

/** One RENAME TABLE for all of them: MariaDB does it atomically, all or none. */
function renameAll(tables: readonly string[], from: string, to: string): string {
  if (tables.length === 0) return '';
  const pairs = tables.map(
    (name) =>
      `${quoteIdentifier(from)}.${quoteIdentifier(name)} TO ${quoteIdentifier(to)}.${quoteIdentifier(name)}`,
  );
  return `RENAME TABLE ${pairs.join(', ')};\n`;
}
