import { randomBytes } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startHostingStack, type HostingStack } from '../test/support/hosting-stack.js';
import {
  resolutionMs,
  spanOf,
  startHttpProber,
  type HttpProber,
  type ProbeSample,
} from '../test/support/http-prober.js';
import { waitForTask, type TaskSummary } from '../test/support/processes.js';
import { recordResult, round, type Figures } from './support/results.js';
import { dropSiteDatabase, generateRows, siteDatabase, type SiteDatabase } from './support/sites.js';

const MB = 1024 * 1024;
const SOURCE = 'fixture-10-2';
const TARGET = 'fixture-10-3';
/** What the page's Generator tag says once the target platform's code serves it. */
const TARGET_GENERATOR = 'Drupal 10.3.0 (Berth fixture)';
const SOURCE_GENERATOR = 'Drupal 10.2.0 (Berth fixture)';
/** Rows copied to the twin site per statement. */
const ROWS_PER_BATCH = 50_000;
const PROBE_INTERVAL_MS = 25;
/** How long the site may take to answer 200 again once the procedure has returned. */
const UP_AGAIN_MS = 30_000;

const sizes = (variable: string, fallback: string): number[] => {
  const text = process.env[variable]?.trim() || fallback;
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < 0 || value > 100_000)) {
    throw new Error(`${variable}=${text}: expected a comma list of whole megabytes, e.g. 10,100,1000`);
  }
  return values;
};
const DB_MB = sizes('BERTH_BENCH_DB_MB', '10,100,1000');
const FILES_MB = sizes('BERTH_BENCH_FILES_MB', '0,500');

/**
 * Time budget of one combination: setup (install two sites, generate, copy), the baseline and
 * Berth's migrate (backup, rehearsal import and rollback dump each go through the data) all grow
 * with the size. Measured with 10 and 50 MB on 2 shared cores: ~30 s fixed, then ~0.75 s per MB of
 * rows all told (of which Berth's task ~0.22 and the baseline ~0.17) and ~0.3 s per MB of files;
 * this allows twice that, since 1 GB no longer fits MariaDB's buffer pool and may grow worse than linearly.
 */
const budgetMs = (dbMB: number, filesMB: number) => 300_000 + (dbMB + filesMB) * 1_500;

type MigrateTask = TaskSummary & {
  phases: Array<{ name: string; startedAt: string; endedAt: string | null }>;
};

interface Site {
  domain: string;
  db: SiteDatabase;
  rows: number;
  files: number;
}

const seconds = (from: number, to: number) => round((to - from) / 1000);

/**
 * The offline window of a migrate against database and files size: Berth's optimistic migrate next to
 * an Aegir-3-style migrate done by hand with the plain tools, on two sites with identical data, both
 * watched by the same HTTP prober from outside. The twin (the baseline's site) is installed by Berth
 * like the other and gets a copy of its rows and files; the baseline runs first, each run after the
 * MariaDB buffer pool's dirty pages are written out. One test per combination of sizes.
 */
describe('offline window of a migrate', () => {
  let stack: HostingStack;
  let scratch: string;
  const table: Figures[] = [];
  const details: Figures = {};

  beforeAll(async () => {
    stack = await startHostingStack({
      label: 'bench-offline',
      platforms: { [SOURCE]: 'fixture-10.2', [TARGET]: 'fixture-10.3' },
    });
    scratch = mkdtempSync(join(tmpdir(), 'berth-bench-offline-'));
  });

  afterAll(async () => {
    await stack?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const platformDir = (name: string) => join(stack.root, 'platforms', name);
  const docroot = (name: string) => join(platformDir(name), 'web');
  const sql = (statement: string) => stack.mariadb(statement);
  const rowCount = async (database: string) =>
    Number(await sql(`SELECT COUNT(*) FROM \`${database}\`.bench_rows`));

  for (const dbMB of DB_MB) {
    for (const filesMB of FILES_MB) {
      const label = `db${dbMB}-files${filesMB}`;
      it(
        `${dbMB} MB of rows, ${filesMB} MB of files`,
        async () => {
          await requireFreeSpace(dbMB, filesMB);
          const berthSite = `berth-${label}.example`;
          const aegirSite = `aegir-${label}.example`;
          const cleanups: Array<() => Promise<void> | void> = [];
          try {
            // Two sites installed the same way, the second a byte-for-byte copy of the first's data.
            const setupStarted = Date.now();
            const berth = await install(berthSite, cleanups);
            const aegir = await install(aegirSite, cleanups);
            await fill(berth, dbMB, filesMB);
            await copyData(berth, aegir);
            const setupSeconds = seconds(setupStarted, Date.now());

            await settle();
            const baseline = await aegirStyleMigrate(aegir, cleanups);
            await settle();
            const ours = await berthMigrate(berth, dbMB, filesMB);

            const ratio = ours.offline > 0 ? round(baseline.offline / ours.offline) : null;
            const totalRatio = round(baseline.total / ours.taskSeconds);
            const row: Figures = {
              'DB MB': dbMB,
              'files MB': filesMB,
              'Berth offline s': ours.offline,
              'baseline offline s': baseline.offline,
              'baseline / Berth': ratio,
              'Berth writes held s': ours.held,
              'Berth task s': ours.taskSeconds,
              'baseline total s': baseline.total,
              'baseline total / Berth task': totalRatio,
              'Berth loses on':
                [ratio !== null && ratio < 1 ? 'offline window' : '', totalRatio < 1 ? 'total time' : '']
                  .filter(Boolean)
                  .join(' and ') || 'nothing',
            };
            table.push(row);
            details[`${label}: Berth phases`] = ours.phases;
            details[`${label}: Berth window seen / recorded`] =
              `${ours.offline} s seen by the prober (${ours.offlineAnswers}), ${ours.recordedOffline} s recorded by the task`;
            details[`${label}: baseline stages`] = baseline.stages;
            details[`${label}: baseline window seen`] = `${baseline.offline} s (${baseline.offlineAnswers})`;
            details[`${label}: setup s`] = setupSeconds;
            recordResult(
              'offline-window',
              {
                'what the ratio is':
                  'baseline offline seconds / Berth offline seconds (above 1: Berth is offline for less time)',
                'offline window':
                  'prober: from sending the first probe answered other than 200 to the answer of the last one',
                'writes held': 'prober: read-only (200 without the node form) or offline, first to last',
                baseline:
                  'Aegir-3-style, by hand: maintenance on, mariadb-dump | gzip, tar czf, new database + grant, import, untar into the new platform, settings, drush updatedb, vhost switch + nginx reload, maintenance off',
                'baseline site':
                  'a twin site installed by Berth the same way, its rows and files copied from the Berth site; run first',
                'whole procedure':
                  "Berth's task is the whole migrate: online backup and rehearsal first, then the window; a total ratio below 1 means it takes longer in all than the baseline",
                'probe interval ms': PROBE_INTERVAL_MS,
                ...details,
              },
              table,
            );
            console.info(
              `[offline-window ${label}] Berth offline ${ours.offline} s (writes held ${ours.held} s, task ${ours.taskSeconds} s: ${ours.phases}); ` +
                `baseline offline ${baseline.offline} s (${baseline.stages}); baseline/Berth ${ratio ?? '—'}` +
                (ratio !== null && ratio < 1
                  ? ' — Berth LOSES: its window is longer than the baseline'
                  : '') +
                (totalRatio < 1 ? `; Berth's whole task takes longer than the baseline (${totalRatio})` : ''),
            );
          } finally {
            for (const cleanUp of cleanups.reverse()) {
              try {
                await cleanUp();
              } catch (error) {
                console.error(`[offline-window ${label}] clean-up failed: ${(error as Error).message}`);
              }
            }
          }
        },
        budgetMs(dbMB, filesMB),
      );
    }
  }

  /** Installs a site on the source platform; its database, user and directories go on clean-up. */
  async function install(domain: string, cleanups: Array<() => Promise<void> | void>): Promise<Site> {
    await stack.berth('site', 'install', domain, '--platform', SOURCE);
    const db = siteDatabase(stack.root, domain);
    cleanups.push(async () => {
      await dropSiteDatabase(sql, db);
      for (const path of [
        join(stack.root, 'sites', domain),
        join(stack.root, 'config', 'sites', domain),
        join(stack.root, 'config', 'nginx', `${domain}.conf`),
        join(docroot(SOURCE), 'sites', domain),
        join(docroot(TARGET), 'sites', domain),
      ]) {
        rmSync(path, { recursive: true, force: true });
      }
    });
    return { domain, db, rows: 0, files: 0 };
  }

  /** Generated rows in a table of the site's database, and half random, half compressible files. */
  async function fill(site: Site, dbMB: number, filesMB: number): Promise<void> {
    const rows = await generateRows(sql, site.db.database, dbMB);
    site.rows = rows;
    if (filesMB > 0) {
      const dir = join(stack.root, 'sites', site.domain, 'files', 'bench');
      mkdirSync(dir, { recursive: true });
      for (let index = 0; index < filesMB; index += 1) {
        const bytes = randomBytes(index % 2 === 0 ? MB : (MB * 3) / 4);
        writeFileSync(join(dir, `file-${index}.bin`), index % 2 === 0 ? bytes : bytes.toString('base64'));
      }
    }
    site.files = filesMB;
  }

  async function copyData(from: Site, to: Site): Promise<void> {
    await sql(`CREATE TABLE \`${to.db.database}\`.bench_rows LIKE \`${from.db.database}\`.bench_rows`);
    for (let start = 1; start <= from.rows; start += ROWS_PER_BATCH) {
      await sql(
        `INSERT INTO \`${to.db.database}\`.bench_rows SELECT * FROM \`${from.db.database}\`.bench_rows ` +
          `WHERE id BETWEEN ${start} AND ${start + ROWS_PER_BATCH - 1} ORDER BY id`,
      );
    }
    const checksum = async (site: Site) =>
      (await sql(`CHECKSUM TABLE \`${site.db.database}\`.bench_rows`)).split('\t')[1];
    const [original, copy] = [await checksum(from), await checksum(to)];
    if (original !== copy)
      throw new Error(`the twin's rows differ from the original's (${copy} != ${original})`);
    if (from.files > 0) {
      cpSync(
        join(stack.root, 'sites', from.domain, 'files', 'bench'),
        join(stack.root, 'sites', to.domain, 'files', 'bench'),
        { recursive: true, preserveTimestamps: true },
      );
    }
    to.rows = from.rows;
    to.files = from.files;
  }

  /**
   * Dirty pages written out (the kernel's, and MariaDB's buffer pool's), so that one run does not pay
   * for the writes of the one before. MariaDB leaves a few thousand dirty pages in the pool for as
   * long as nothing needs the space; innodb_max_dirty_pages_pct at 0 makes it write them all now (the
   * setting is put back right after).
   */
  async function settle(): Promise<void> {
    await execa('sync');
    const dirty = async () =>
      Number((await sql("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")).split('\t')[1]);
    const previous = Number(await sql('SELECT @@GLOBAL.innodb_max_dirty_pages_pct'));
    await sql('SET GLOBAL innodb_max_dirty_pages_pct = 0');
    try {
      // Until (nearly) clean, or until the count has not fallen for 2 s (the page cleaner wakes once
      // a second; other clients may keep writing), or 30 s at most.
      const deadline = Date.now() + 30_000;
      let lowest = await dirty();
      let stalled = 0;
      while (lowest > 128 && stalled < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const now = await dirty();
        stalled = now < lowest ? 0 : stalled + 1;
        lowest = Math.min(lowest, now);
      }
    } finally {
      await sql(`SET GLOBAL innodb_max_dirty_pages_pct = ${previous}`);
    }
  }

  /**
   * Berth: `site migrate` to the target through the CLI, the task followed through the API, the site
   * watched by the prober from before the start until it answers 200 again.
   */
  async function berthMigrate(site: Site, dbMB: number, filesMB: number) {
    const prober = await startProbing(site.domain);
    let task: MigrateTask;
    try {
      const started = JSON.parse(
        (await stack.berth('site', 'migrate', site.domain, '--platform', TARGET, '--no-wait', '--json'))
          .stdout,
      ) as { id: string };
      const finished = await waitForTask(stack.master, started.id, budgetMs(dbMB, filesMB));
      task = await stack.master.api.get<MigrateTask>(`/api/tasks/${finished.id}`);
      if (task.state !== 'succeeded') {
        throw new Error(
          `Berth's migrate of ${site.domain} ${task.state}: ${task.error ?? 'no error recorded'}`,
        );
      }
      await upAgain(prober, site.domain);
    } finally {
      await prober.stop();
    }
    const samples = fromFirstUp(prober.samples);
    await requireMigrated(site, site.db.database, samples);

    const offline = spanOf(samples, ['maintenance', 'error']);
    const held = spanOf(samples, ['read-only', 'maintenance', 'error']);
    const phaseSeconds = (name: string) => {
      const phase = task.phases.find((item) => item.name === name);
      return phase?.endedAt ? seconds(Date.parse(phase.startedAt), Date.parse(phase.endedAt)) : null;
    };
    return {
      offline: offline ? round(offline.seconds) : 0,
      offlineAnswers: describeAnswers(samples, offline),
      held: held ? round(held.seconds) : 0,
      recordedOffline: phaseSeconds('offline window'),
      taskSeconds: seconds(Date.parse(task.startedAt!), Date.parse(task.finishedAt!)),
      phases: task.phases.map((phase) => `${phase.name} ${phaseSeconds(phase.name) ?? '?'} s`).join(', '),
    };
  }

  /**
   * Aegir 3's migrate (provision-migrate: backup, then deploy on the new platform), in its order, with
   * the plain tools: every stage is timed, every command must succeed.
   */
  /**
   * `bash -o pipefail -c SCRIPT`: $1 is the file, $2 a label, the rest the command's arguments —
   * every value as an argument, none spliced into the script.
   */
  const pipeline = (script: string, file: string, label: string, args: string[]) =>
    execa('bash', ['-o', 'pipefail', '-c', script, 'pipeline', file, label, ...args], {
      stdout: 'ignore',
    });

  async function aegirStyleMigrate(site: Site, cleanups: Array<() => Promise<void> | void>) {
    const from = platformDir(SOURCE);
    const to = platformDir(TARGET);
    const drush = (platform: string, ...args: string[]) =>
      execa(join(platform, 'vendor', 'bin', 'drush'), [
        `--root=${join(platform, 'web')}`,
        `--uri=${site.domain}`,
        ...args,
      ]);
    const work = mkdtempSync(join(scratch, `${site.domain}-`));
    const dump = join(work, 'database.sql.gz');
    const tarball = join(work, 'site.tar.gz');
    const suffix = randomBytes(4).toString('hex');
    const fresh: SiteDatabase = { database: `aegir_${suffix}`, user: `aegir_${suffix}` };
    const password = randomBytes(24).toString('base64url');
    cleanups.push(async () => {
      await dropSiteDatabase(sql, fresh);
      rmSync(work, { recursive: true, force: true });
    });
    const vhost = join(stack.root, 'config', 'nginx', `${site.domain}.conf`);
    const client = ['--protocol=tcp', '-h', '127.0.0.1', '-u', 'root'];

    const stages: Array<[string, () => Promise<unknown> | void]> = [
      [
        'maintenance on',
        () => drush(from, 'state:set', 'system.maintenance_mode', '1', '--input-format=integer'),
      ],
      [
        'dump',
        () =>
          // One shell pipeline, as an operator types it (and as the backup bench runs it): execa's
          // own pipes kept the output in memory too and stopped at their 100 MB maxBuffer.
          pipeline('mariadb-dump "${@:3}" | gzip > "$1"', dump, 'dump', [
            ...client,
            '--single-transaction',
            '--quick',
            site.db.database,
          ]),
      ],
      ['tar', () => execa('tar', ['czf', tarball, '-C', join(stack.root, 'sites'), site.domain])],
      [
        'new database',
        // On stdin: the password stays off every command line.
        () =>
          execa('mariadb', client, {
            input:
              `CREATE DATABASE \`${fresh.database}\`;\n` +
              `CREATE USER '${fresh.user}'@'127.0.0.1' IDENTIFIED BY '${password}';\n` +
              `GRANT ALL PRIVILEGES ON \`${fresh.database}\`.* TO '${fresh.user}'@'127.0.0.1';\n`,
          }),
      ],
      [
        'import',
        () => pipeline('gunzip -c "$1" | mariadb "${@:3}"', dump, 'import', [...client, fresh.database]),
      ],
      ['untar', () => execa('tar', ['xzf', tarball, '-C', join(to, 'web', 'sites')])],
      [
        // provision-deploy writes the site's settings with the new database's credentials.
        'settings',
        () => {
          const settings = join(to, 'web', 'sites', site.domain, 'settings.php');
          const before = readFileSync(settings, 'utf8');
          const after = before.replace(
            /^require '[^']*credentials\.php';$/m,
            `$databases['default']['default'] = ['driver' => 'mysql', 'database' => '${fresh.database}', ` +
              `'username' => '${fresh.user}', 'password' => '${password}', 'host' => '127.0.0.1', 'port' => '3306', ` +
              `'prefix' => '', 'collation' => 'utf8mb4_general_ci'];`,
          );
          if (after === before) throw new Error(`${settings} has no credentials require to replace`);
          writeFileSync(`${settings}.new`, after, { mode: 0o440 });
          renameSync(`${settings}.new`, settings);
        },
      ],
      ['updatedb', () => drush(to, 'updatedb', '--yes')],
      [
        'switch',
        async () => {
          const before = readFileSync(vhost, 'utf8');
          const after = before.replace(`root ${docroot(SOURCE)};`, `root ${docroot(TARGET)};`);
          if (after === before) throw new Error(`${vhost} does not serve ${docroot(SOURCE)}`);
          writeFileSync(`${vhost}.new`, after);
          renameSync(`${vhost}.new`, vhost);
          await stack.web.reload();
        },
      ],
      [
        'maintenance off',
        () => drush(to, 'state:set', 'system.maintenance_mode', '0', '--input-format=integer'),
      ],
    ];

    const prober = await startProbing(site.domain);
    const timings: string[] = [];
    let started = 0;
    let ended = 0;
    try {
      started = Date.now();
      for (const [name, stage] of stages) {
        const stageStarted = Date.now();
        try {
          await stage();
        } catch (error) {
          const stderr = (error as { stderr?: string }).stderr?.trim();
          throw new Error(`baseline stage "${name}" failed: ${stderr || (error as Error).message}`);
        }
        timings.push(`${name} ${seconds(stageStarted, Date.now())} s`);
      }
      ended = Date.now();
      await upAgain(prober, site.domain);
    } finally {
      await prober.stop();
    }
    const samples = fromFirstUp(prober.samples);
    await requireMigrated(site, fresh.database, samples);
    const extracted = join(to, 'web', 'sites', site.domain, 'files', 'bench');
    const files = site.files > 0 ? readdirSync(extracted).length : 0;
    if (files !== site.files)
      throw new Error(`${extracted} holds ${files} files after the untar, not ${site.files}`);

    const offline = spanOf(samples, ['maintenance', 'error']);
    if (!offline)
      throw new Error(`the prober never saw ${site.domain} offline during the baseline's maintenance`);
    return {
      offline: round(offline.seconds),
      offlineAnswers: describeAnswers(samples, offline),
      total: seconds(started, ended),
      stages: timings.join(', '),
    };
  }

  async function startProbing(domain: string): Promise<HttpProber> {
    const prober = startHttpProber(stack.web, domain, { intervalMs: PROBE_INTERVAL_MS });
    const deadline = Date.now() + UP_AGAIN_MS;
    while (prober.samples.at(-1)?.state !== 'up') {
      if (Date.now() > deadline) {
        await prober.stop();
        throw new Error(`${domain} is not up before the migrate: ${JSON.stringify(prober.samples.at(-1))}`);
      }
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
    return prober;
  }

  /** Waits until the prober sees the site up (200 with its form), and a few probes more. */
  async function upAgain(prober: HttpProber, domain: string): Promise<void> {
    const returned = Date.now();
    const deadline = returned + UP_AGAIN_MS;
    for (;;) {
      const last = prober.samples.at(-1);
      if (last && last.at > returned && last.state === 'up') break;
      if (Date.now() > deadline) {
        throw new Error(
          `the prober never saw ${domain} up after the window; last answer: ${last ? `${last.status} (${last.state})` : 'none'}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
    await new Promise((resolve) => setTimeout(resolve, 10 * PROBE_INTERVAL_MS));
  }

  /** The page comes from the target's code and the database holds every row. */
  async function requireMigrated(
    site: Site,
    database: string,
    samples: readonly ProbeSample[],
  ): Promise<void> {
    const first = samples[0];
    const last = samples.at(-1);
    if (first?.generator !== SOURCE_GENERATOR) {
      throw new Error(
        `${site.domain} was served by "${first?.generator}" before the migrate, not ${SOURCE_GENERATOR}`,
      );
    }
    if (last?.state !== 'up' || last.generator !== TARGET_GENERATOR) {
      throw new Error(
        `${site.domain} after the migrate: ${last?.status} (${last?.state}) from "${last?.generator}", not the new version (${TARGET_GENERATOR})`,
      );
    }
    const count = await rowCount(database);
    if (count !== site.rows)
      throw new Error(`${database}.bench_rows holds ${count} rows after the migrate, not ${site.rows}`);
  }

  async function requireFreeSpace(dbMB: number, filesMB: number): Promise<void> {
    const dataDir = await sql('SELECT @@datadir');
    // Two copies of the site's data, MariaDB's pages for three databases (two sites, the rehearsal
    // or the baseline's new one), Berth's two archives, the baseline's dump and tarball and untarred copy.
    const needed = (8 * (dbMB + filesMB) + 1024) * MB;
    for (const path of [tmpdir(), dataDir]) {
      const stats = statfsSync(path, { bigint: false });
      const free = stats.bavail * stats.bsize;
      if (free < needed) {
        throw new Error(
          `${path} has ${Math.round(free / MB)} MB free; ${dbMB} MB of rows and ${filesMB} MB of files need ${Math.round(needed / MB)} MB`,
        );
      }
    }
  }
});

/** The samples from the first that saw the site up: the prober starts before the operation. */
function fromFirstUp(samples: readonly ProbeSample[]): ProbeSample[] {
  return samples.slice(
    Math.max(
      0,
      samples.findIndex((sample) => sample.state === 'up'),
    ),
  );
}

/** How many probes the window held, what they answered, and how finely the prober saw. */
function describeAnswers(samples: readonly ProbeSample[], window: ReturnType<typeof spanOf>): string {
  const widest = `widest gap between probes ${resolutionMs(samples)} ms`;
  if (!window) return `none seen; ${widest}`;
  const inside = samples.filter((sample) => sample.at >= window.start && sample.answeredAt <= window.end);
  const byStatus = new Map<number, number>();
  for (const sample of inside) byStatus.set(sample.status, (byStatus.get(sample.status) ?? 0) + 1);
  const answers = [...byStatus]
    .map(([status, count]) => `${count}× ${status === 0 ? 'no answer' : status}`)
    .join(', ');
  const interrupted = window.interruptions > 0 ? `; 200 ${window.interruptions}× in between` : '';
  return `${inside.length} probes: ${answers}${interrupted}; ${widest}`;
}
