import { must, validateDatabaseUser, validateGrantHost } from '../../../../shared/src/validation.js';
import { account, MariaDb, quoteIdentifier } from '../../adapters/mysql.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { databaseAccountParams } from './create.js';

/** Drops a site's database and its user; what does not exist is skipped. */
export const dbDrop: StepHandler<'db.drop'> = {
  name: 'db.drop',
  parseParams: databaseAccountParams,
  async run({ database, user, host }, context) {
    context.note(`dropping database ${database} and user '${user}'@'${host}'`);
    await new MariaDb(context).execute(
      [
        `DROP DATABASE IF EXISTS ${quoteIdentifier(database)};`,
        `DROP USER IF EXISTS ${account(user, host)};`,
        '',
      ].join('\n'),
    );
    return { database, user };
  },
};

/**
 * Drops one account of a site's database user (`user`@`host`), leaving the database and the
 * user's other accounts: the grant to a web server the site moved away from, or onto which a move
 * was rolled back. What does not exist is skipped.
 */
export const dbDropUser: StepHandler<'db.drop-user'> = {
  name: 'db.drop-user',
  parseParams: (input) =>
    parseWith(input, ['user', 'host'], [], (params) => ({
      user: must(validateDatabaseUser('user', params.user)),
      host: must(validateGrantHost('host', params.host)),
    })),
  async run({ user, host }, context) {
    context.note(`dropping user '${user}'@'${host}'`);
    await new MariaDb(context).execute(`DROP USER IF EXISTS ${account(user, host)};\n`);
    return { user, host };
  },
};
