import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { must, validateDatabaseName } from '../../../../shared/src/validation.js';
import { MariaDb, requireDatabase } from '../../adapters/mysql.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';

/**
 * The installed schema version of each module of a Drupal site, from its database over the admin
 * connection: `key_value` rows of collection `system.schema`, whose values are PHP-serialized
 * integers (`i:8001;`), and the post-updates it ran (`post_update`/`existing_updates`, a serialized
 * list of function names). Read here rather than through drush, which would need the site's password
 * on its command line (sql:query).
 */
export const dbSchemaVersions: StepHandler<'db.schema-versions'> = {
  name: 'db.schema-versions',
  parseParams: (input) =>
    parseWith(input, ['database'], [], (params) => ({
      database: must(validateDatabaseName('database', params.database)),
    })),
  async run({ database }, context) {
    const mariadb = new MariaDb(context);
    await requireDatabase(mariadb, database, 'no site is installed there');
    const tables = await mariadb.query(
      "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'key_value';",
      { database },
    );
    if (tables.length === 0) {
      throw new StepError({
        code: StepErrorCode.NotFound,
        message: `the database ${database} has no key_value table: Drupal is not installed in it`,
        retryable: false,
      });
    }
    const rows = await mariadb.query(
      "SELECT name, value FROM key_value WHERE collection = 'system.schema' ORDER BY name;",
      { database },
    );
    const [existing] = await mariadb.query(
      "SELECT value FROM key_value WHERE collection = 'post_update' AND name = 'existing_updates';",
      { database },
    );
    return {
      versions: parseSchemaRows(rows),
      postUpdates: existing ? parsePostUpdates(existing[0] ?? '') : null,
    };
  },
};

/**
 * The post-update function names of a PHP-serialized list (`a:2:{i:0;s:26:"system_post_update_x";...}`),
 * as Drupal stores them in key_value `post_update`/`existing_updates`.
 */
export function parsePostUpdates(serialized: string): string[] {
  return [...serialized.matchAll(/s:\d+:"([A-Za-z0-9_]+)";/g)].map((match) => match[1]!).sort();
}

export function parseSchemaRows(rows: readonly string[][]): Record<string, number> {
  const versions: Record<string, number> = {};
  for (const [name, value] of rows) {
    if (!name || value === undefined) continue;
    const match = /^i:(-?\d+);$/.exec(value.trim());
    // SCHEMA_UNINSTALLED (-1) and anything not an integer are not installed schema versions.
    if (match && Number(match[1]) >= 0) versions[name] = Number(match[1]);
  }
  return versions;
}
