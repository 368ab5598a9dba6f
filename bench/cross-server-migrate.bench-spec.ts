import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { TaskWithSteps } from '../shared/src/api.js';
import { spanOf, startHttpProber } from '../test/support/http-prober.js';
import { waitForTask } from '../test/support/processes.js';
import { startSeveralHosts, type SeveralHosts } from '../test/support/several-hosts.js';
import { recordResult, round, type Figures } from './support/results.js';
import { generateRows, siteDatabase } from './support/sites.js';

const MB = 1024 * 1024;

const megabytes = (variable: string, fallback: number): number => {
  const value = Number(process.env[variable]?.trim() || fallback);
  if (!Number.isInteger(value) || value < 0 || value > 100_000) {
    throw new Error(`${variable}=${process.env[variable]}: expected whole megabytes, e.g. 100`);
  }
  return value;
};
const DB_MB = megabytes('BERTH_BENCH_MOVE_DB_MB', 100);
const FILES_MB = megabytes('BERTH_BENCH_MOVE_FILES_MB', 500);
/** Setup, the backup, the rehearsal and the copy all go through the data: ~1.5 s per MB allowed. */
const BUDGET_MS = 300_000 + (DB_MB + FILES_MB) * 1_500;

/**
 * The offline window of a migrate that moves a site to another web server (test hosts: web1, web2,
 * the database on db1), against one to a platform on the same server, both sites with the same rows
 * and files. The prober watches web1's address (where DNS still points) for both: the cross-server
 * window adds only the final delta of the files (what changed since the backup) and the proxy switch.
 */
describe('offline window of a migrate to another web server', () => {
  let hosts: SeveralHosts;
  const table: Figures[] = [];

  beforeAll(async () => {
    hosts = await startSeveralHosts({
      label: 'bench-move',
      webs: {
        web1: { 'fixture-10-2': 'fixture-10.2', 'fixture-10-3': 'fixture-10.3' },
        web2: { 'fixture-10-3-web2': 'fixture-10.3' },
      },
      dbs: ['db1'],
    });
  }, 300_000);

  afterAll(async () => {
    await hosts?.stop();
  });

  it(
    `${DB_MB} MB of rows, ${FILES_MB} MB of files: same server vs another server`,
    async () => {
      for (const [how, target] of [
        ['same server', 'fixture-10-3'],
        ['another server', 'fixture-10-3-web2'],
      ] as const) {
        const domain = `${how.replace(' ', '-')}.bench.example`;
        await hosts.berth('site', 'install', domain, '--platform', 'fixture-10-2', '--db-server', 'db1');
        await fill(domain);
        // The delta takes what changed since a second before the backup began: files written in
        // the last second of the fill would be carried twice, which no real site's files are.
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        table.push(await migrate(domain, target, how));
      }
      const [same, moved] = table;
      recordResult(
        'cross-server-migrate',
        {
          'DB MB': DB_MB,
          'files MB': FILES_MB,
          'same-server offline s': same!['offline s (task)']!,
          'cross-server offline s': moved!['offline s (task)']!,
          'cross-server - same-server s': round(
            Number(moved!['offline s (task)']) - Number(same!['offline s (task)']),
          ),
          hosts:
            'network namespaces on one machine: web1 and web2 with their own nginx and PHP-FPM, db1 its own MariaDB',
          'offline window':
            "the task's offline-window phase; the prober's 503 span on web1's address is in the table",
        },
        table,
      );
    },
    BUDGET_MS * 2,
  );

  /** Rows generated on db1 (server-side, from the sequence engine) and half random, half base64 files. */
  async function fill(domain: string): Promise<void> {
    const web1 = hosts.webs.web1!;
    const { database } = siteDatabase(web1.root, domain);
    await generateRows((statement) => hosts.dbs.db1!.db.sql(statement), database, DB_MB);
    const dir = join(web1.root, 'sites', domain, 'files', 'bench');
    mkdirSync(dir, { recursive: true });
    for (let index = 0; index < FILES_MB; index += 1) {
      const bytes = randomBytes(index % 2 === 0 ? MB : (MB * 3) / 4);
      writeFileSync(join(dir, `file-${index}.bin`), index % 2 === 0 ? bytes : bytes.toString('base64'));
    }
  }

  async function migrate(domain: string, platform: string, how: string): Promise<Figures> {
    const prober = startHttpProber(hosts.webs.web1!.web, domain, { intervalMs: 25 });
    let task: TaskWithSteps;
    try {
      const { stdout } = await hosts.berth(
        'site',
        'migrate',
        domain,
        '--platform',
        platform,
        '--no-wait',
        '--json',
      );
      const { id } = JSON.parse(stdout) as { id: string };
      await waitForTask(hosts.master, id, BUDGET_MS);
      task = await hosts.master.api.get<TaskWithSteps>(`/api/tasks/${id}`);
    } finally {
      await prober.stop();
    }
    if (task.state !== 'succeeded') throw new Error(`the migrate of ${domain} ${task.state}: ${task.error}`);
    const phase = (name: string) => {
      const found = task.phases.find((item) => item.name === name);
      return found?.endedAt ? round((Date.parse(found.endedAt) - Date.parse(found.startedAt)) / 1000) : null;
    };
    const seen = spanOf(prober.samples, ['maintenance', 'error']);
    const delta = task.steps.find(
      (step) =>
        step.name === 'site.archive' && (step.output as { manifest?: { delta?: unknown } })?.manifest?.delta,
    );
    return {
      migrate: how,
      'offline s (task)': phase('offline window'),
      'offline s (prober, web1)': seen ? round(seen.seconds) : 0,
      'writes held s': phase('read-only window'),
      'copy to the new server s': phase('copy to the new server'),
      'delta bytes': (delta?.output as { bytes?: number } | undefined)?.bytes ?? null,
      'task s': round((Date.parse(task.finishedAt!) - Date.parse(task.createdAt)) / 1000),
    };
  }
});
