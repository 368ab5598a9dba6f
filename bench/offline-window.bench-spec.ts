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
import { startSeveralHosts, type SeveralHosts } from '../test/support/several-hosts.js';
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
 * Time budget of one migrate: the task's backup, rehearsal and window grow with the size. Measured
 * with 10 and 50 MB on 2 shared cores: ~30 s fixed, then ~0.22 s per MB of rows and ~0.3 s per MB of
 * files; this allows several times that, since 1 GB does not fit MariaDB's buffer pool and may grow
 * worse than linearly.
 */
const taskBudgetMs = (dbMB: number, filesMB: number) => 300_000 + (dbMB + filesMB) * 1_500;
/** One combination: setup (three sites filled and copied), the baseline and two Berth migrates. */
const budgetMs = (dbMB: number, filesMB: number) => 600_000 + (dbMB + filesMB) * 4_000;

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

/** Berth's strategies, each on a site of its own with the same data. */
const STRATEGIES = [
  { name: 'in-place', label: 'default' },
  { name: 'blue-green', label: 'blue-green' },
] as const;

/** What the prober and the task's phases say of one Berth migrate. */
interface BerthRun {
  offline: number;
  offlineAnswers: string;
  held: number;
  recordedOffline: number | null;
  taskSeconds: number;
  phases: string;
}

/**
 * The offline window of a migrate against database and files size: Berth's migrate, in place (its
 * rollback point the backup and the db server's binary log) and blue-green, next to an
 * Aegir-3-style migrate done by hand with the plain tools, on three sites with identical data, all
 * watched by the same HTTP prober from outside. Test hosts: web1 (nginx, PHP-FPM, both platforms)
 * and db1 (its own MariaDB with a row-based binary log, as README "Holding writes" asks of a db
 * server), each in its network namespace; the baseline runs from the web host's files against
 * db1 over its socket, as root. The twins are installed by Berth like the first site and get a
 * copy of its rows and files; the baseline runs first, each run after the MariaDB buffer pool's
 * dirty pages are written out. One test per combination of sizes.
 */
describe('offline window of a migrate', () => {
  let hosts: SeveralHosts;
  let scratch: string;
  const table: Figures[] = [];
  const details: Figures = {};

  beforeAll(async () => {
    hosts = await startSeveralHosts({
      label: 'bench-offline',
      webs: { web1: { [SOURCE]: 'fixture-10.2', [TARGET]: 'fixture-10.3' } },
      dbs: ['db1'],
      binaryLog: true,
    });
    scratch = mkdtempSync(join(tmpdir(), 'berth-bench-offline-'));
  }, 300_000);

  afterAll(async () => {
    await hosts?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const web = () => hosts.webs.web1!;
  const db = () => hosts.dbs.db1!.db;
  const root = () => web().root;
  const platformDir = (name: string) => join(root(), 'platforms', name);
  const docroot = (name: string) => join(platformDir(name), 'web');
  const sql = (statement: string) => db().sql(statement);
  const rowCount = async (database: string) =>
    Number(await sql(`SELECT COUNT(*) FROM \`${database}\`.bench_rows`));

  for (const dbMB of DB_MB) {
    for (const filesMB of FILES_MB) {
      const label = `db${dbMB}-files${filesMB}`;
      it(
        `${dbMB} MB of rows, ${filesMB} MB of files`,
        async () => {
          await requireFreeSpace(dbMB, filesMB);
          const aegirSite = `aegir-${label}.example`;
          const cleanups: Array<() => Promise<void> | void> = [];
          try {
            // Sites installed the same way, the others byte-for-byte copies of the first one's data.
            const setupStarted = Date.now();
            const sites = [];
            for (const strategy of STRATEGIES)
              sites.push({ strategy, site: await install(`${strategy.label}-${label}.example`, cleanups) });
            const aegir = await install(aegirSite, cleanups);
            const [first] = sites;
            await fill(first!.site, dbMB, filesMB);
            for (const { site } of sites.slice(1)) await copyData(first!.site, site);
            await copyData(first!.site, aegir);
            const setupSeconds = seconds(setupStarted, Date.now());

            await settle();
            const baseline = await aegirStyleMigrate(aegir, cleanups);
            const runs: Array<{ label: string; run: BerthRun }> = [];
            for (const { strategy, site } of sites) {
              await settle();
              runs.push({
                label: strategy.label,
                run: await berthMigrate(site, strategy.name, dbMB, filesMB),
              });
            }

            const row: Figures = {
              'DB MB': dbMB,
              'files MB': filesMB,
              'baseline offline = writes held s': baseline.offline,
              'baseline whole s': baseline.total,
            };
            const losses: string[] = [];
            for (const { label: strategy, run } of runs) {
              const whole = round(run.taskSeconds / baseline.total);
              row[`${strategy} offline s`] = run.offline;
              row[`${strategy} writes held s`] = run.held;
              row[`${strategy} whole s`] = run.taskSeconds;
              row[`${strategy} whole / baseline whole`] = whole;
              if (run.offline > baseline.offline) losses.push(`${strategy}: offline window`);
              if (run.held > baseline.offline) losses.push(`${strategy}: writes held`);
              if (whole > 1.3) losses.push(`${strategy}: whole task over 1.3x`);
              details[`${label}: ${strategy} phases`] = run.phases;
              details[`${label}: ${strategy} window seen / recorded`] =
                `${run.offline} s seen by the prober (${run.offlineAnswers}), ${run.recordedOffline ?? 0} s recorded by the task`;
            }
            row['Berth loses on'] = losses.join('; ') || 'nothing';
            table.push(row);
            details[`${label}: baseline stages`] = baseline.stages;
            details[`${label}: baseline window seen`] = `${baseline.offline} s (${baseline.offlineAnswers})`;
            details[`${label}: setup s`] = setupSeconds;
            recordResult(
              'offline-window',
              {
                hosts:
                  'test hosts in network namespaces: web1 (nginx, PHP-FPM, both platforms, the agent) and db1 (its own MariaDB, 32 MB buffer pool, row-based binary log, its agent); the master in the root namespace',
                'offline window':
                  'prober: from sending the first probe answered other than 200 to the answer of the last one',
                'writes held': 'prober: read-only (200 without the node form) or offline, first to last',
                default:
                  "berth site migrate --platform: online backup (its dump also fills the rehearsal's copy), rehearsal, then read-only, the binary log marked as the rollback point, offline for the updates, vhost switch",
                'blue-green':
                  'berth site migrate --strategy blue-green: backup, read-only, the database copied on db1 (tablespaces), updates on the copy behind a hidden vhost, one reload switches; never offline',
                baseline:
                  'Aegir-3-style, by hand: maintenance on, mariadb-dump | gzip, tar czf, new database + grant, import, untar into the new platform, settings, drush updatedb, vhost switch + nginx reload, maintenance off — all of it offline',
                'baseline site':
                  "a twin site installed by Berth the same way, its rows and files copied from the first site's; run first",
                whole:
                  "Berth's task is the whole migrate (backup and rehearsal included); the baseline's is its stages end to end",
                'probe interval ms': PROBE_INTERVAL_MS,
                ...details,
              },
              table,
            );
            console.info(`[offline-window ${label}] ${JSON.stringify(row)}; baseline ${baseline.stages}`);
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
    await hosts.berth('site', 'install', domain, '--platform', SOURCE, '--db-server', 'db1');
    const db = siteDatabase(root(), domain);
    cleanups.push(async () => {
      // A blue-green migrate moved the site to a copy (same user): that one goes too.
      const now = siteDatabase(root(), domain);
      await dropSiteDatabase(sql, db);
      if (now.database !== db.database) await sql(`DROP DATABASE IF EXISTS \`${now.database}\``);
      for (const path of [
        join(root(), 'sites', domain),
        join(root(), 'config', 'sites', domain),
        join(root(), 'config', 'nginx', `${domain}.conf`),
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
      const dir = join(root(), 'sites', site.domain, 'files', 'bench');
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
        join(root(), 'sites', from.domain, 'files', 'bench'),
        join(root(), 'sites', to.domain, 'files', 'bench'),
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
  async function berthMigrate(
    site: Site,
    strategy: (typeof STRATEGIES)[number]['name'],
    dbMB: number,
    filesMB: number,
  ): Promise<BerthRun> {
    const prober = await startProbing(site.domain);
    let task: MigrateTask;
    try {
      const started = JSON.parse(
        (
          await hosts.berth(
            'site',
            'migrate',
            site.domain,
            '--platform',
            TARGET,
            '--strategy',
            strategy,
            '--no-wait',
            '--json',
          )
        ).stdout,
      ) as { id: string };
      const finished = await waitForTask(hosts.master, started.id, taskBudgetMs(dbMB, filesMB));
      task = await hosts.master.api.get<MigrateTask>(`/api/tasks/${finished.id}`);
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
    // Blue-green leaves the site on the copy of its database.
    await requireMigrated(site, siteDatabase(root(), site.domain).database, samples);

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
    // On the web host: the site's MariaDB account is for connections from its address.
    const drush = (platform: string, ...args: string[]) =>
      web().host.exec(join(platform, 'vendor', 'bin', 'drush'), [
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
    const vhost = join(root(), 'config', 'nginx', `${site.domain}.conf`);
    // Root on db1 through its socket, as Berth's db agent administers it.
    const client = ['--no-defaults', '-S', db().socket, '-u', 'root'];
    const webAddress = web().host.address;
    const dbAddress = hosts.dbs.db1!.host.address;

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
      ['tar', () => execa('tar', ['czf', tarball, '-C', join(root(), 'sites'), site.domain])],
      [
        'new database',
        // On stdin: the password stays off every command line.
        () =>
          execa('mariadb', client, {
            input:
              `CREATE DATABASE \`${fresh.database}\`;\n` +
              `CREATE USER '${fresh.user}'@'${webAddress}' IDENTIFIED BY '${password}';\n` +
              `GRANT ALL PRIVILEGES ON \`${fresh.database}\`.* TO '${fresh.user}'@'${webAddress}';\n`,
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
              `'username' => '${fresh.user}', 'password' => '${password}', 'host' => '${dbAddress}', 'port' => '3306', ` +
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
          await web().web.reload();
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
    const prober = startHttpProber(web().web, domain, { intervalMs: PROBE_INTERVAL_MS });
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
    // Three copies of the site's data, MariaDB's pages for five databases (three sites, the rehearsal
    // or the copy or the baseline's new one), Berth's archives, the baseline's dump, tarball and untarred copy.
    const needed = (12 * (dbMB + filesMB) + 1024) * MB;
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
