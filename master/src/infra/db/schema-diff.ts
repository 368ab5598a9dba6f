import type { DataSource } from 'typeorm';

/**
 * The SQL that would bring the database in line with the entities. Empty on a freshly migrated
 * database: a test holds the committed migrations to that. Also how a new migration is drafted
 * (`node dist/master/src/infra/db/print-schema-diff.js`), then reviewed and committed.
 */
export async function pendingSchemaChanges(
  dataSource: DataSource,
): Promise<{ up: string[]; down: string[] }> {
  const log = await dataSource.driver.createSchemaBuilder().log();
  return {
    up: log.upQueries.map((query) => query.query),
    down: log.downQueries.map((query) => query.query),
  };
}
