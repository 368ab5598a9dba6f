import { afterAll, afterEach, beforeAll } from 'vitest';
import type { HostSettings } from '../config.js';
import { testMariaDb } from './mariadb.js';
import { testRoot, uniqueDbName } from './step-context.js';

/**
 * What a spec of database steps on the machine's MariaDB needs, its hooks registered: an agent root
 * whose admin connection is root there, databases named for the test and dropped after each one,
 * and a database's contents as text, to compare two (tables with their type, rows in key order).
 */
export function machineDatabases() {
  let mariadb: Awaited<ReturnType<typeof testMariaDb>>;
  let root: Awaited<ReturnType<typeof testRoot>>;
  const databases: string[] = [];

  beforeAll(async () => {
    mariadb = await testMariaDb();
    root = await testRoot({ dbAdminDefaults: mariadb.adminDefaults });
  });
  afterEach(async () => {
    for (const database of databases.splice(0)) await mariadb.sql(`DROP DATABASE IF EXISTS \`${database}\`;`);
  });
  afterAll(async () => {
    await root?.remove();
    await mariadb?.close();
  });

  return {
    /** A script through the `mariadb` client as root (tab-separated rows, no headers). */
    sql: (script: string, options: { database?: string } = {}) => mariadb.sql(script, options),
    get host(): HostSettings {
      return root.host;
    },
    /** A unique database name, dropped after the test. */
    database: (prefix: string): string => {
      const name = uniqueDbName(prefix);
      databases.push(name);
      return name;
    },
    contents: async (name: string): Promise<string> => {
      const tables = (await mariadb.sql(`SHOW FULL TABLES FROM \`${name}\`;`)).split('\n').filter(Boolean);
      const parts = [];
      for (const line of tables.sort()) {
        const [table] = line.split('\t');
        parts.push(`${line}\n${await mariadb.sql(`SELECT * FROM \`${name}\`.\`${table}\` ORDER BY 1;`)}`);
      }
      return parts.join('\n');
    },
  };
}
