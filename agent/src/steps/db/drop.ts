import { account, MariaDb, quoteIdentifier } from '../../adapters/mysql.js';
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
