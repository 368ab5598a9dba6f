import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDefaultsFile } from './step-context.js';

export const MARIADB_INSTALL_HINT =
  'install and start it with `apt-get install -y mariadb-server mariadb-client && service mariadb start` ' +
  '(root must connect on 127.0.0.1:3306 without a password)';

/**
 * The test server's admin connection (root on 127.0.0.1:3306) as a defaults file, and a direct
 * `mariadb` for the checks tests make behind the steps' backs. Fails with the command that installs
 * MariaDB when it is not there: these tests are never skipped.
 */
export async function testMariaDb(): Promise<{
  adminDefaults: string;
  dir: string;
  sql(script: string, options?: { defaults?: string; database?: string }): Promise<string>;
  close(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-mariadb-'));
  const adminDefaults = await writeDefaultsFile(dir, { user: 'root' });
  const sql = async (script: string, options: { defaults?: string; database?: string } = {}) => {
    const result = await execa(
      'mariadb',
      [
        `--defaults-extra-file=${options.defaults ?? adminDefaults}`,
        '--batch',
        '--skip-column-names',
        ...(options.database ? [`--database=${options.database}`] : []),
      ],
      { input: script, reject: false },
    );
    if (result.exitCode !== 0) throw new Error(`mariadb failed: ${result.stderr}`);
    return result.stdout;
  };
  try {
    await sql('SELECT 1;');
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(
      `MariaDB is not reachable as root on 127.0.0.1:3306 (${(error as Error).message}): ${MARIADB_INSTALL_HINT}`,
    );
  }
  return { adminDefaults, dir, sql, close: () => rm(dir, { recursive: true, force: true }) };
}
