import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
  const sql = sqlThrough(adminDefaults);
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

/**
 * Where a MariaDB server of a test's own keeps its files under `dir`, and the arguments of
 * mariadb-install-db and mariadbd for it (Debian's binaries). `--no-defaults`: the system my.cnf
 * sets user=mysql, which cannot write this datadir. Root logs in through the socket only.
 * `network`: how it listens (`--skip-networking`, or an address and port); `binaryLog`: row-based,
 * what a rollback by the log needs (db.rewind).
 */
export function privateMariaDb(dir: string, options: { network: readonly string[]; binaryLog: boolean }) {
  const data = join(dir, 'data');
  const socket = join(dir, 'mariadb.sock');
  const errorLog = join(dir, 'error.log');
  return {
    data,
    socket,
    errorLog,
    installArgs: [
      '--no-defaults',
      '--user=root',
      `--datadir=${data}`,
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
    ],
    serverArgs: [
      '--no-defaults',
      '--user=root',
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'mariadb.pid')}`,
      ...options.network,
      `--log-error=${errorLog}`,
      '--innodb-buffer-pool-size=32M',
      ...(options.binaryLog
        ? [`--log-bin=${join(data, 'binlog')}`, '--binlog-format=ROW', '--server-id=1']
        : []),
    ],
  };
}

/**
 * A MariaDB server of the test's own (Debian's mariadbd, `--no-defaults`), on a Unix socket only
 * (no TCP port), with a row-based binary log: what the machine's server on 3306 does not have and
 * cannot be given without a restart. Stopped by its pid, its directory removed.
 */
export async function startBinlogMariaDb(): Promise<{
  adminDefaults: string;
  sql(script: string, options?: { database?: string }): Promise<string>;
  stop(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-binlog-'));
  const own = privateMariaDb(dir, { network: ['--skip-networking'], binaryLog: true });
  await execa('mariadb-install-db', own.installArgs);
  const server = execa('/usr/sbin/mariadbd', own.serverArgs, { reject: false, stdio: 'ignore' });
  const { socket } = own;
  const adminDefaults = join(dir, 'admin.cnf');
  await writeFile(adminDefaults, `[client]\nsocket=${socket}\nuser=root\n`, { mode: 0o600 });
  const sql = sqlThrough(adminDefaults);
  const stop = async () => {
    if (server.pid) process.kill(server.pid, 'SIGTERM');
    await server;
    await rm(dir, { recursive: true, force: true });
  };
  for (let waited = 0; ; waited += 100) {
    if (
      await sql('SELECT 1;').then(
        () => true,
        () => false,
      )
    )
      break;
    if (waited > 30_000 || server.exitCode !== null) {
      const log = await readFile(own.errorLog, 'utf8').catch(() => '');
      await stop();
      throw new Error(`mariadbd did not start on ${socket}:\n${log.slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { adminDefaults, sql, stop };
}

/** Runs a script through the `mariadb` client as the account of `defaults` (or options.defaults). */
function sqlThrough(adminDefaults: string) {
  return async (script: string, options: { defaults?: string; database?: string } = {}): Promise<string> => {
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
}
