import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSeveralHosts, type SeveralHosts } from '../test/support/several-hosts.js';
import type { TaskWithSteps } from '../shared/src/api.js';
import { waitForTask, type TaskSummary } from '../test/support/processes.js';
import { recordResult, round } from './support/results.js';
import { dropSiteDatabase, siteDatabase, type SiteDatabase } from './support/sites.js';

const run = promisify(execFile);
const MB = 1024 * 1024;
const PLATFORM = 'fixture-10-2';
const DOMAIN = 'bench.example';
/** ~80 MB of table data: 100,000 rows of 800 hex characters (random, so gzip halves it, no more). */
const ROWS = 100_000;
const ROWS_PER_BATCH = 20_000;
/** 50 MB of files: half random bytes (incompressible), half base64 text. */
const FILES = 50;

const sha256File = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });

const sh = async (script: string) => {
  const started = performance.now();
  await run('bash', ['-o', 'pipefail', '-c', script], { maxBuffer: 16 * MB });
  return (performance.now() - started) / 1000;
};

const taskSeconds = (task: TaskSummary) =>
  (Date.parse(task.finishedAt!) - Date.parse(task.startedAt!)) / 1000;

/**
 * Backup and restore throughput of one site (~80 MB database, 50 MB files) through Berth (archive
 * streamed to the master's store, sha256 in the manifest) next to the shell baseline on the same
 * site: `mariadb-dump --single-transaction --quick | gzip` + `tar czf` to a local file, and
 * `gunzip | mariadb` + `tar xzf`. MB/s is the site's raw size (dump + files) over the wall time.
 * Test hosts, as production runs it: the site on web1, its database on db1 (MariaDB of its own,
 * reached by the baseline through its socket as root, as db1's agent does).
 */
describe('backup and restore throughput', () => {
  let hosts: SeveralHosts;
  let databaseName: string;
  let site: SiteDatabase | undefined;
  let siteDir: string;
  let scratch: string;
  const mariadb = (sql: string) => hosts.dbs.db1!.db.sql(sql);
  const root = () => hosts.webs.web1!.root;
  const client = () => `mariadb --no-defaults -S '${hosts.dbs.db1!.db.socket}' -u root`;

  beforeAll(async () => {
    hosts = await startSeveralHosts({
      label: 'bench-backup',
      webs: { web1: { [PLATFORM]: 'fixture-10.2' } },
      dbs: ['db1'],
    });
    const before = new Set((await mariadb('SHOW DATABASES')).split('\n'));
    await hosts.berth('site', 'install', DOMAIN, '--platform', PLATFORM, '--db-server', 'db1');
    const created = (await mariadb('SHOW DATABASES'))
      .split('\n')
      .filter((name) => !before.has(name) && name.startsWith('bench_example_'));
    expect(created).toHaveLength(1);
    databaseName = created[0]!;
    site = siteDatabase(root(), DOMAIN);
    expect(site.database).toBe(databaseName);
    siteDir = join(root(), 'sites', DOMAIN);
    expect(statSync(join(siteDir, 'files')).isDirectory()).toBe(true);
    scratch = mkdtempSync(join(tmpdir(), 'berth-bench-backup-'));

    await mariadb(
      `CREATE TABLE \`${databaseName}\`.bench_rows (id INT PRIMARY KEY, body TEXT NOT NULL) ENGINE=InnoDB`,
    );
    const hex = Array.from({ length: 25 }, () => 'MD5(RAND())').join(', ');
    for (let start = 1; start <= ROWS; start += ROWS_PER_BATCH) {
      const end = Math.min(ROWS, start + ROWS_PER_BATCH - 1);
      await mariadb(
        `INSERT INTO \`${databaseName}\`.bench_rows SELECT seq, CONCAT(${hex}) FROM \`${databaseName}\`.seq_${start}_to_${end}`,
      );
    }
    const files = join(siteDir, 'files', 'bench');
    mkdirSync(files, { recursive: true });
    for (let index = 0; index < FILES; index += 1) {
      const bytes = randomBytes(index % 2 === 0 ? MB : (MB * 3) / 4);
      writeFileSync(join(files, `file-${index}.bin`), index % 2 === 0 ? bytes : bytes.toString('base64'));
    }
  }, 600_000);

  afterAll(async () => {
    // The site's database and its MariaDB user: nothing of the run stays in MariaDB.
    // The hosts' MariaDB goes with them; the site's database is dropped first all the same.
    if (site) await dropSiteDatabase(mariadb, site);
    await hosts?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('backs up and restores through Berth and through mariadb-dump/tar, and prints the ratio', async () => {
    const rows = await mariadb(`SELECT COUNT(*) FROM \`${databaseName}\`.bench_rows`);
    expect(Number(rows)).toBe(ROWS);
    const filesBytes = Number((await run('du', ['-sb', siteDir])).stdout.split('\t')[0]);

    // Baseline backup: what an admin would script by hand, to a local file.
    const dump = join(scratch, 'db.sql.gz');
    const tarball = join(scratch, 'site.tar.gz');
    const baselineBackupSeconds =
      (await sh(
        `mariadb-dump --no-defaults -S '${hosts.dbs.db1!.db.socket}' -u root --single-transaction --quick '${databaseName}' | gzip > '${dump}'`,
      )) + (await sh(`tar czf '${tarball}' -C '${join(root(), 'sites')}' '${DOMAIN}'`));
    const dumpBytes = Number((await run('bash', ['-c', `gunzip -c '${dump}' | wc -c`])).stdout.trim());
    const siteBytes = dumpBytes + filesBytes;
    const baselineArchiveBytes = statSync(dump).size + statSync(tarball).size;
    expect(dumpBytes).toBeGreaterThan(50 * MB);
    expect(filesBytes).toBeGreaterThan(40 * MB);

    // Berth backup: a task, the archive streamed to the master's store with its sha256.
    const backup = JSON.parse(
      (await hosts.berth('site', 'backup', DOMAIN, '--json')).stdout,
    ) as TaskSummary & {
      result: { backupId: string };
    };
    const backupTask = await waitForTask(hosts.master, backup.id);
    expect(backupTask.state, backupTask.error ?? '').toBe('succeeded');
    const backups = JSON.parse((await hosts.berth('site', 'backups', DOMAIN, '--json')).stdout) as Array<{
      id: string;
      archiveId: string;
      manifest: { archive: { sha256: string } };
    }>;
    const made = backups.find((item) => item.id === backup.result.backupId)!;
    const archive = join(hosts.database.dataDir, 'store', 'archives', made.archiveId);
    const berthArchiveBytes = statSync(archive).size;
    expect(berthArchiveBytes).toBeGreaterThan(0);
    expect(await sha256File(archive)).toBe(made.manifest.archive.sha256);
    const berthBackupSeconds = taskSeconds(backupTask);

    // Berth restore (which backs the current state up first, as it always does).
    const restore = JSON.parse(
      (await hosts.berth('site', 'restore', DOMAIN, '--backup', made.id, '--json', '--yes')).stdout,
    ) as TaskSummary;
    const restoreTask = await waitForTask(hosts.master, restore.id);
    expect(restoreTask.state, restoreTask.error ?? '').toBe('succeeded');
    expect(await mariadb(`SELECT COUNT(*) FROM \`${databaseName}\`.bench_rows`)).toBe(String(ROWS));
    const berthRestoreSeconds = taskSeconds(restoreTask);
    // When the site was back on the backup: the end of the task's restore phase (its probe
    // answered); a restore from version 4 on archives the state before only after that.
    const { phases } = await hosts.master.api.get<TaskWithSteps>(`/api/tasks/${restore.id}`);
    const restorePhase = phases.find((phase) => phase.name === 'restore');
    expect(restorePhase?.endedAt).toBeTruthy();
    const berthRestoredSeconds =
      (Date.parse(restorePhase!.endedAt!) - Date.parse(restoreTask.startedAt!)) / 1000;
    const stepTimes = (restoreTask.steps ?? []).map((step) => {
      const attempt = step.attempts.at(-1);
      const [from, to] = [Date.parse(attempt?.startedAt ?? ''), Date.parse(attempt?.finishedAt ?? '')];
      return { name: step.name, from, to, seconds: (to - from) / 1000 };
    });
    const steps = stepTimes.map((step) => `${step.name} ${step.seconds.toFixed(1)}s`);
    // The restore's own work, without the pre-restore backup it always takes first: from the first
    // of its steps (the files' extract, the dump's import; side by side when they can be) to the last.
    const restoring = stepTimes.filter((step) => step.name === 'site.extract' || step.name === 'db.import');
    expect(restoring).toHaveLength(2);
    const berthRestoreStepsSeconds =
      (Math.max(...restoring.map((step) => step.to)) - Math.min(...restoring.map((step) => step.from))) /
      1000;
    expect(berthRestoreStepsSeconds).toBeGreaterThan(0);

    // Baseline restore into a scratch database and directory: the same bytes back in.
    await mariadb('DROP DATABASE IF EXISTS bench_restore');
    await mariadb('CREATE DATABASE bench_restore');
    const into = join(scratch, 'restore');
    mkdirSync(into);
    const baselineRestoreSeconds =
      (await sh(`gunzip -c '${dump}' | ${client()} bench_restore`)) +
      (await sh(`tar xzf '${tarball}' -C '${into}'`));
    expect(await mariadb('SELECT COUNT(*) FROM bench_restore.bench_rows')).toBe(String(ROWS));
    await mariadb('DROP DATABASE bench_restore');

    const mbps = (seconds: number) => round(siteBytes / MB / seconds);
    const figures = {
      siteMB: round(siteBytes / MB, 1),
      berthArchiveMB: round(berthArchiveBytes / MB, 1),
      baselineArchiveMB: round(baselineArchiveBytes / MB, 1),
      berthBackupSeconds: round(berthBackupSeconds),
      baselineBackupSeconds: round(baselineBackupSeconds),
      berthBackupMBps: mbps(berthBackupSeconds),
      baselineBackupMBps: mbps(baselineBackupSeconds),
      backupRatio: round(baselineBackupSeconds / berthBackupSeconds),
      berthRestoreSeconds: round(berthRestoreSeconds),
      baselineRestoreSeconds: round(baselineRestoreSeconds),
      berthRestoreMBps: mbps(berthRestoreSeconds),
      baselineRestoreMBps: mbps(baselineRestoreSeconds),
      restoreRatio: round(baselineRestoreSeconds / berthRestoreSeconds),
      berthSiteRestoredSeconds: round(berthRestoredSeconds),
      berthSiteRestoredMBps: mbps(berthRestoredSeconds),
      siteRestoredRatio: round(baselineRestoreSeconds / berthRestoredSeconds),
      berthRestoreStepsOnlySeconds: round(berthRestoreStepsSeconds),
      berthRestoreStepsOnlyMBps: mbps(berthRestoreStepsSeconds),
      restoreStepsOnlyRatio: round(baselineRestoreSeconds / berthRestoreStepsSeconds),
      berthRestoreSteps: steps.join(', '),
    };
    recordResult('backup-restore', figures);
    console.info(
      `backup: Berth ${figures.berthBackupMBps} MB/s vs baseline ${figures.baselineBackupMBps} MB/s ` +
        `(ratio ${figures.backupRatio}); restore: Berth ${figures.berthRestoreMBps} MB/s vs baseline ` +
        `${figures.baselineRestoreMBps} MB/s (ratio ${figures.restoreRatio}; steps: ${figures.berthRestoreSteps})`,
    );
  });
});
