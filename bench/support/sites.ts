import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a bench needs to know of a site Berth installed, and to remove it without leaving users behind. */

export interface SiteDatabase {
  database: string;
  user: string;
}

const identifier = /^[a-z0-9_]{1,64}$/;

/**
 * The site's database and user, from the credentials.php Berth writes outside the site directory
 * (`<root>/config/sites/<domain>/credentials.php`).
 */
export function siteDatabase(root: string, domain: string): SiteDatabase {
  const file = join(root, 'config', 'sites', domain, 'credentials.php');
  const php = readFileSync(file, 'utf8');
  const value = (key: string) => {
    const found = new RegExp(`'${key}' => '([^']*)'`).exec(php)?.[1];
    if (!found || !identifier.test(found)) throw new Error(`no usable '${key}' in ${file}`);
    return found;
  };
  return { database: value('database'), user: value('username') };
}

/** Drops the database and the user on every host it was created for (idempotent). */
export async function dropSiteDatabase(
  mariadb: (sql: string) => Promise<string>,
  site: SiteDatabase,
): Promise<void> {
  if (!identifier.test(site.database) || !identifier.test(site.user)) {
    throw new Error(`refusing to drop ${site.database} / ${site.user}: not a generated name`);
  }
  await mariadb(`DROP DATABASE IF EXISTS \`${site.database}\``);
  const hosts = (await mariadb(`SELECT Host FROM mysql.user WHERE User = '${site.user}'`))
    .split('\n')
    .filter((host) => host !== '');
  for (const host of hosts) {
    if (!/^[A-Za-z0-9.%:_-]+$/.test(host)) throw new Error(`unexpected host ${host} for ${site.user}`);
    await mariadb(`DROP USER IF EXISTS '${site.user}'@'${host}'`);
  }
}

const MB = 1024 * 1024;
/** Each generated row holds 1 KiB of hex text (random bytes, so gzip takes it down to ~57%, no more). */
export const ROW_BYTES = 1024;
const ROWS_PER_BATCH = 50_000;

/**
 * `megabytes` of generated rows in a new table `bench_rows` of `database`, made on the db server
 * itself from the sequence engine (no row crosses a connection). Returns how many rows.
 */
export async function generateRows(
  sql: (statement: string) => Promise<unknown>,
  database: string,
  megabytes: number,
): Promise<number> {
  await sql(`CREATE TABLE \`${database}\`.bench_rows (id INT PRIMARY KEY, body TEXT NOT NULL) ENGINE=InnoDB`);
  const rows = (megabytes * MB) / ROW_BYTES;
  for (let start = 1; start <= rows; start += ROWS_PER_BATCH) {
    const end = Math.min(rows, start + ROWS_PER_BATCH - 1);
    await sql(
      `INSERT INTO \`${database}\`.bench_rows SELECT seq, HEX(RANDOM_BYTES(${ROW_BYTES / 2})) FROM \`${database}\`.seq_${start}_to_${end}`,
    );
  }
  return rows;
}
