import { afterAll, beforeAll, describe, it } from 'vitest';
import type { TaskWithSteps } from '../shared/src/api.js';
import { waitForTask } from '../test/support/processes.js';
import { loudCli, startSeveralHosts, type SeveralHosts } from '../test/support/several-hosts.js';
import { recordResult, round, type Figures } from './support/results.js';
import { siteDatabase } from './support/sites.js';

const MB = 1024 * 1024;
const ROW_BYTES = 1024;
const ROWS_PER_BATCH = 50_000;
const DB_MB = (process.env.BERTH_BENCH_ROLLBACK_DB_MB?.trim() || '10,100')
  .split(',')
  .map((part) => Number(part.trim()));
if (DB_MB.some((value) => !Number.isInteger(value) || value < 1 || value > 100_000))
  throw new Error('BERTH_BENCH_ROLLBACK_DB_MB: expected a comma list of whole megabytes, e.g. 10,100,1000');

/**
 * How long a migrate holds a site's writes, by its rollback point: the backup and the binary log
 * (db1 keeps a row-based log: db.binlog-mark, no copy while writes wait) next to a dump taken once
 * writes are held (db2 keeps none: the procedure before). Two sites with the same rows, one on each
 * db host (test hosts in network namespaces, each MariaDB of its own with the same settings), each
 * migrated from fixture-10.2 to fixture-10.3 on web1; the figures are the task's own phases.
 */
describe('rollback point of a migrate: binary log or dump', () => {
  let hosts: SeveralHosts;
  const table: Figures[] = [];
  const berth = (...args: string[]) => loudCli(hosts.berth)(...args);

  beforeAll(async () => {
    hosts = await startSeveralHosts({
      label: 'bench-rollback',
      webs: { web1: { 'fixture-10-2': 'fixture-10.2', 'fixture-10-3': 'fixture-10.3' } },
      dbs: ['db1', 'db2'],
      binaryLog: ['db1'],
    });
  }, 300_000);

  afterAll(async () => {
    if (table.length > 0) recordResult('rollback-point', {}, table);
    await hosts?.stop();
  });

  /** Rows generated on the db host itself (the sequence engine): none crosses a connection. */
  async function fill(db: 'db1' | 'db2', database: string, dbMB: number): Promise<void> {
    const sql = (statement: string) => hosts.dbs[db]!.db.sql(statement);
    await sql(
      `CREATE TABLE \`${database}\`.bench_rows (id INT PRIMARY KEY, body TEXT NOT NULL) ENGINE=InnoDB`,
    );
    const rows = (dbMB * MB) / ROW_BYTES;
    for (let start = 1; start <= rows; start += ROWS_PER_BATCH) {
      const end = Math.min(rows, start + ROWS_PER_BATCH - 1);
      await sql(
        `INSERT INTO \`${database}\`.bench_rows SELECT seq, HEX(RANDOM_BYTES(${ROW_BYTES / 2})) FROM \`${database}\`.seq_${start}_to_${end}`,
      );
    }
  }

  const seconds = (found: TaskWithSteps, name: string) => {
    const phase = found.phases.find((item) => item.name === name);
    return phase?.endedAt ? round((Date.parse(phase.endedAt) - Date.parse(phase.startedAt)) / 1000) : null;
  };

  for (const dbMB of DB_MB) {
    it(
      `${dbMB} MB of rows`,
      async () => {
        for (const [db, how] of [
          ['db1', 'backup + binary log'],
          ['db2', 'dump while writes wait'],
        ] as const) {
          const domain = `${db}-${dbMB}mb.example`;
          await berth('site', 'install', domain, '--platform', 'fixture-10-2', '--db-server', db);
          const { database } = siteDatabase(hosts.webs.web1!.root, domain);
          await fill(db, database, dbMB);
          const { stdout } = await berth(
            'site',
            'migrate',
            domain,
            '--platform',
            'fixture-10-3',
            '--no-wait',
            '--json',
          );
          const { id } = JSON.parse(stdout) as { id: string };
          await waitForTask(hosts.master, id, dbMB * 2_000 + 120_000);
          const found = await hosts.master.api.get<TaskWithSteps>(`/api/tasks/${id}`);
          if (found.state !== 'succeeded')
            throw new Error(`the migrate of ${domain} ${found.state}: ${found.error}`);
          const whole = round((Date.parse(found.finishedAt!) - Date.parse(found.startedAt!)) / 1000);
          const row: Figures = {
            'db MB': dbMB,
            'rollback point': how,
            'writes held s': seconds(found, 'read-only window'),
            'of which rollback point s': seconds(found, 'rollback point'),
            'offline s': seconds(found, 'offline window'),
            'whole task s': whole,
          };
          table.push(row);
          console.info(JSON.stringify(row));
          await berth('site', 'delete', domain, '--force');
        }
      },
      DB_MB.reduce((sum, size) => Math.max(sum, size), 0) * 6_000 + 600_000,
    );
  }
});
