import { afterAll, beforeAll, describe, it } from 'vitest';
import type { TaskWithSteps } from '../shared/src/api.js';
import { waitForTask } from '../test/support/processes.js';
import { loudCli, startSeveralHosts, type SeveralHosts } from '../test/support/several-hosts.js';
import { recordResult, round, type Figures } from './support/results.js';
import { generateRows, siteDatabase } from './support/sites.js';

const DB_MB = (process.env.BERTH_BENCH_WRITES_HELD_DB_MB?.trim() || '10,100')
  .split(',')
  .map((part) => Number(part.trim()));
if (DB_MB.some((value) => !Number.isInteger(value) || value < 1 || value > 100_000))
  throw new Error(
    'BERTH_BENCH_WRITES_HELD_DB_MB: expected a comma list of whole megabytes, e.g. 10,100,1000',
  );

/**
 * How long a migrate holds a site's writes and takes its site offline, by strategy and rollback
 * point: in place with the backup and the binary log as its rollback point (db1 keeps a row-based
 * log: db.binlog-mark, no copy while writes wait), in place with a dump taken once writes are held
 * (db2 keeps none: the procedure before), and blue-green on db1 (the database copied by its
 * tablespaces, the updates on the copy, no offline window). Three sites with the same rows, on test
 * hosts in network namespaces (each MariaDB its own, the same settings), each migrated from
 * fixture-10.2 to fixture-10.3 on web1; the figures are the task's own phases.
 */
describe('writes held by a migrate: strategy and rollback point', () => {
  let hosts: SeveralHosts;
  const table: Figures[] = [];
  const berth = (...args: string[]) => loudCli(hosts.berth)(...args);

  beforeAll(async () => {
    hosts = await startSeveralHosts({
      label: 'bench-writes-held',
      webs: { web1: { 'fixture-10-2': 'fixture-10.2', 'fixture-10-3': 'fixture-10.3' } },
      dbs: ['db1', 'db2'],
      binaryLog: ['db1'],
    });
  }, 300_000);

  afterAll(async () => {
    if (table.length > 0) recordResult('writes-held', {}, table);
    await hosts?.stop();
  });

  const seconds = (found: TaskWithSteps, name: string) => {
    const phase = found.phases.find((item) => item.name === name);
    return phase?.endedAt ? round((Date.parse(phase.endedAt) - Date.parse(phase.startedAt)) / 1000) : null;
  };

  for (const dbMB of DB_MB) {
    it(
      `${dbMB} MB of rows`,
      async () => {
        for (const [db, how, strategy] of [
          ['db1', 'in place, backup + binary log', 'in-place'],
          ['db2', 'in place, dump while writes wait', 'in-place'],
          ['db1', 'blue-green (tablespace copy)', 'blue-green'],
        ] as const) {
          const domain = `${strategy}-${db}-${dbMB}mb.example`;
          await berth('site', 'install', domain, '--platform', 'fixture-10-2', '--db-server', db);
          const { database } = siteDatabase(hosts.webs.web1!.root, domain);
          await generateRows((statement) => hosts.dbs[db]!.db.sql(statement), database, dbMB);
          const { stdout } = await berth(
            'site',
            'migrate',
            domain,
            '--platform',
            'fixture-10-3',
            '--strategy',
            strategy,
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
            how,
            'writes held s': seconds(found, 'read-only window'),
            'of which rollback point s': seconds(found, 'rollback point'),
            'of which database copy s': seconds(found, 'copy the database'),
            'offline s': seconds(found, 'offline window'),
            'whole task s': whole,
          };
          table.push(row);
          console.info(JSON.stringify(row));
          await berth('site', 'delete', domain, '--force', '--yes');
        }
      },
      DB_MB.reduce((sum, size) => Math.max(sum, size), 0) * 6_000 + 600_000,
    );
  }
});
