import {
  must,
  validateDatabaseName,
  validateDatabaseUser,
  validateGrantHost,
} from '../../../../shared/src/validation.js';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { account, grantDatabase, MariaDb, quoteIdentifier, quoteString } from '../../adapters/mysql.js';
import { booleanValue, parseWith, requireSecret } from '../params.js';
import type { StepHandler } from '../step.js';

function accountFields(params: Record<string, unknown>) {
  return {
    database: must(validateDatabaseName('database', params.database)),
    user: must(validateDatabaseUser('user', params.user)),
    host: must(validateGrantHost('host', params.host)),
  };
}

export function databaseAccountParams(input: unknown) {
  return parseWith(input, ['database', 'user', 'host'], [], accountFields);
}

/**
 * The script of db.create. The password is a string literal in it, and the script goes to the
 * client on stdin: never on a command line. CREATE ... IF NOT EXISTS then ALTER USER makes a second
 * run reset the password to the one given, and GRANT is idempotent.
 */
export function createDatabaseScript(database: string, user: string, host: string, password: string): string {
  const who = account(user, host);
  return [
    `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;`,
    `CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY ${quoteString(password)};`,
    `ALTER USER ${who} IDENTIFIED BY ${quoteString(password)};`,
    `GRANT ALL PRIVILEGES ON ${grantDatabase(database)}.* TO ${who};`,
    '',
  ].join('\n');
}

/** Creates a site's database and its user, with privileges on that database only. */
export const dbCreate: StepHandler<'db.create'> = {
  name: 'db.create',
  parseParams: (input) =>
    parseWith(input, ['database', 'user', 'host'], ['fresh'], (params) => ({
      ...accountFields(params),
      fresh: params.fresh === undefined ? false : booleanValue('fresh', params.fresh),
    })),
  async run({ database, user, host, fresh }, context) {
    const password = requireSecret(context.secrets, 'dbPassword');
    const mariadb = new MariaDb(context);
    if (fresh && (await mariadb.databaseExists(database))) {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `a database named ${database} is already on this server: it is not this site's to overwrite`,
        retryable: false,
      });
    }
    context.note(`creating database ${database} and user '${user}'@'${host}'`);
    await mariadb.execute(createDatabaseScript(database, user, host, password));
    return { database, user };
  },
};
