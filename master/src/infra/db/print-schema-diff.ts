/**
 * Prints the schema changes the entities need on top of the committed migrations, as a draft for
 * the next migration. Development only: DATABASE_URL names a scratch database it migrates first.
 */
import { openDatabase } from './data-source.js';
import { pendingSchemaChanges } from './schema-diff.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('set DATABASE_URL to a scratch PostgreSQL database');
  process.exit(2);
}
const dataSource = await openDatabase({ url, dataDir: '/nonexistent' });
const { up, down } = await pendingSchemaChanges(dataSource);
console.log(JSON.stringify({ up, down }, null, 2));
await dataSource.destroy();
