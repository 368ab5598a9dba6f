import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskWithSteps } from '../../shared/src/api.js';
import { eventually, waitForTask } from '../support/processes.js';
import { startHttpProber } from '../support/http-prober.js';
import { buildFixturePlatform } from '../fixtures/platforms.js';
import { loudCli, startSeveralHosts, type SeveralHosts } from '../support/several-hosts.js';

const PLATFORM = 'fixture-10-2';

/**
 * Berth across real network boundaries (test hosts in network namespaces): web1 and web2 with their
 * own nginx and PHP-FPM, db1 and db2 with their own MariaDB, the master on the bridge. The web hosts
 * have no database admin connection at all (their agents' admin defaults name a socket that does
 * not exist): every database step must run on a db host's agent, and every task still works.
 */
describe('several servers', () => {
  let hosts: SeveralHosts;
  const web1 = () => hosts.webs.web1!.web;
  const web2 = () => hosts.webs.web2!.web;
  const db1 = () => hosts.dbs.db1!.db;
  const db2 = () => hosts.dbs.db2!.db;
  const address = (name: string) => (hosts.webs[name] ?? hosts.dbs[name])!.host.address;

  /** Runs the CLI; a failure shows its stderr. */
  const berth = (...args: string[]) => loudCli(hosts.berth)(...args);
  /** A task command with --json: the finished task, and its steps from the API. */
  const task = async (...args: string[]) => {
    const { stdout } = await berth(...args, '--json');
    const done = JSON.parse(stdout) as { id: string; result: Record<string, unknown> };
    return hosts.master.api.get<TaskWithSteps>(`/api/tasks/${done.id}`);
  };
  /** A task once it has ended, with its steps. */
  const ended = async (id: string) => {
    await waitForTask(hosts.master, id);
    return hosts.master.api.get<TaskWithSteps>(`/api/tasks/${id}`);
  };
  /** Which server ran each database step of a task: never a web server. */
  const databaseStepServers = (done: TaskWithSteps) =>
    new Set(done.steps.filter((step) => step.name.startsWith('db.')).map((step) => step.serverName));

  beforeAll(async () => {
    hosts = await startSeveralHosts({
      label: 'several-servers',
      webs: {
        web1: { [PLATFORM]: 'fixture-10.2' },
        web2: { 'fixture-10-3-web2': 'fixture-10.3', 'fixture-10-3-slow-web2': 'fixture-10.3-slow-update' },
      },
      dbs: ['db1', 'db2'],
    });
  }, 300_000);

  afterAll(async () => {
    await hosts?.stop();
  });

  it('lists each server with its roles and the address the others reach it at', async () => {
    const { stdout } = await berth('server', 'list');
    const row = (name: string) => stdout.split('\n').find((line) => line.startsWith(`${name} `)) ?? '';
    expect(row('web1')).toMatch(
      new RegExp(` http +${hosts.webs.web1!.host.address.replaceAll('.', '\\.')} `),
    );
    expect(row('db1')).toMatch(new RegExp(` db +${hosts.dbs.db1!.host.address.replaceAll('.', '\\.')} `));
  });

  it('installs a site on web1 whose database lives on db1, reached over TCP, granted to web1 only', async () => {
    const install = await task(
      'site',
      'install',
      'one.example',
      '--platform',
      PLATFORM,
      '--db-server',
      'db1',
    );
    expect(databaseStepServers(install)).toEqual(new Set(['db1']));
    // The web server reached db1 before anything was made.
    expect(install.steps[0]).toMatchObject({ name: 'probe.tcp', serverName: 'web1' });

    const page = await web1().request('one.example', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('one.example');
    const accounts = await db1().sql("SELECT CONCAT(user, '@', host) FROM mysql.user WHERE user LIKE 'one%'");
    expect(accounts.split('\n')).toEqual([`${accounts.split('@')[0]}@${hosts.webs.web1!.host.address}`]);
    expect(await db1().sql("SHOW DATABASES LIKE 'one\\_example%'")).toMatch(/^one_example_/);
  });

  it('refuses a database on a server without a db service, before anything is made', async () => {
    const refused = await berth(
      'site',
      'install',
      'nope.example',
      '--platform',
      PLATFORM,
      '--db-server',
      'web2',
    ).then(
      () => null,
      (error: { stderr?: string; code?: number }) => error,
    );
    // 2: the master refused the request (a 4xx), see `berth --help`.
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toMatch(/server web2 has no database service \(it offers http\)/);
    const { stdout } = await berth('site', 'list');
    expect(stdout).not.toContain('nope.example');
  });

  it('backs up the files from web1 and the dump from db1 as one backup, and restores both', async () => {
    await web1().request('one.example', '/node', { method: 'POST', form: { title: 'before the backup' } });
    const backup = await task('site', 'backup', 'one.example');
    expect(databaseStepServers(backup)).toEqual(new Set(['db1']));
    const { backupId, manifest } = backup.result as {
      backupId: string;
      manifest: { files: { sha256: string }; database: { sha256: string; archiveId: string } };
    };
    expect(manifest.files.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.database.sha256).toMatch(/^[0-9a-f]{64}$/);

    await web1().request('one.example', '/node', { method: 'POST', form: { title: 'after the backup' } });
    expect((await web1().request('one.example', '/')).body).toContain('after the backup');
    const restore = await task('site', 'restore', 'one.example', '--backup', backupId, '--yes');
    expect(databaseStepServers(restore)).toEqual(new Set(['db1']));
    const page = await web1().request('one.example', '/');
    expect(page.body).toContain('before the backup');
    expect(page.body).not.toContain('after the backup');
  });

  it('clones the site with a database of its own on db1, logs in to it, and deletes the clone', async () => {
    const clone = await task('site', 'clone', 'one.example', 'two.example');
    expect(databaseStepServers(clone)).toEqual(new Set(['db1']));
    const page = await web1().request('two.example', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('before the backup');

    const { stdout } = await berth('site', 'login-reset', 'two.example');
    const url = new URL(stdout.trim().split('\n').at(-1)!);
    expect((await web1().request('two.example', url.pathname)).status).toBeLessThan(400);

    const remove = await task('site', 'delete', 'two.example', '--force', '--yes');
    expect(databaseStepServers(remove)).toEqual(new Set(['db1']));
    expect(await db1().sql("SHOW DATABASES LIKE 'two\\_example%'")).toBe('');
    expect(await db1().sql("SELECT user FROM mysql.user WHERE user LIKE 'two%'")).toBe('');
    expect((await web1().request('two.example', '/')).status).toBe(404);
    // The source is untouched.
    expect((await web1().request('one.example', '/')).body).toContain('before the backup');
  });

  it('moves the site from web1 to web2: served throughout, offline only in the window, nothing lost, web1 passing requests on', async () => {
    const siteFiles = (web: 'web1' | 'web2') => join(hosts.webs[web]!.root, 'sites', 'one.example', 'files');
    writeFileSync(join(siteFiles('web1'), 'before.txt'), 'written before the move');
    const acknowledged: Array<{ title: string; at: number }> = [];
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        const title = `move write ${n}`;
        const answer = await web1().request('one.example', '/node', { method: 'POST', form: { title } });
        if (answer.status < 400) acknowledged.push({ title, at: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const onWeb1 = startHttpProber(web1(), 'one.example');
    const onWeb2 = startHttpProber(web2(), 'one.example');
    let moved: TaskWithSteps;
    try {
      const { stdout } = await berth(
        'site',
        'migrate',
        'one.example',
        '--platform',
        'fixture-10-3-web2',
        '--no-wait',
        '--json',
      );
      const { id } = JSON.parse(stdout) as { id: string };
      // A file written while the move is under way (after the backup read the files): the delta's.
      await eventually(
        'the rehearsal',
        async () => {
          const running = await hosts.master.api.get<TaskWithSteps>(`/api/tasks/${id}`);
          if (running.state === 'failed') throw new Error(`the move failed: ${running.error}`);
          return running.phases.some((phase) => phase.name === 'rehearsal');
        },
        60_000,
        20,
      );
      writeFileSync(join(siteFiles('web1'), 'during.txt'), 'written during the move');
      moved = await ended(id);
    } finally {
      await new Promise((resolve) => setTimeout(resolve, 300));
      writing = false;
      await Promise.all([onWeb1.stop(), onWeb2.stop(), writer]);
    }
    expect(moved.state, moved.error ?? '').toBe('succeeded');
    const phase = (name: string) => {
      const found = moved.phases.find((item) => item.name === name)!;
      return { start: Date.parse(found.startedAt), end: Date.parse(found.endedAt!) };
    };
    const window = phase('offline window');
    const outside = (sample: { at: number }) => sample.at < window.start || sample.at > window.end;
    // web1, where DNS still points: 200 outside the window (its own site, then passed on to web2).
    expect(onWeb1.samples.length).toBeGreaterThan(20);
    expect(onWeb1.samples.filter((sample) => outside(sample) && sample.status !== 200)).toEqual([]);
    expect(onWeb1.samples.filter((sample) => ![200, 503].includes(sample.status))).toEqual([]);
    // web2 serves the site from the end of the window on (before it, it did not have it).
    expect(onWeb2.samples.filter((sample) => sample.at > window.end && sample.status !== 200)).toEqual([]);
    console.info(
      `move web1 -> web2: offline window ${window.end - window.start} ms, ` +
        `${onWeb1.samples.filter((sample) => sample.status === 503).length} of ${onWeb1.samples.length} probes of web1 answered 503`,
    );

    // Served by web2, with the new platform's code; web1 passes the requests on.
    const fromWeb2 = await web2().request('one.example', '/');
    expect(fromWeb2.body).toContain('Drupal 10.3.0 (Berth fixture)');
    expect((await web1().request('one.example', '/')).body).toContain('Drupal 10.3.0 (Berth fixture)');
    const readOnly = phase('read-only window');
    const beforeReadOnly = acknowledged.filter((item) => item.at < readOnly.start);
    expect(beforeReadOnly.length).toBeGreaterThan(0);
    for (const write of beforeReadOnly) expect(fromWeb2.body).toContain(write.title);
    // The files: the copy's and the delta's.
    expect(readFileSync(join(siteFiles('web2'), 'before.txt'), 'utf8')).toBe('written before the move');
    expect(readFileSync(join(siteFiles('web2'), 'during.txt'), 'utf8')).toBe('written during the move');
    const copied = moved.steps.find((step) => step.name === 'site.extract' && step.serverName === 'web2')!;
    expect(copied).toBeDefined();

    const { stdout } = await berth('site', 'show', 'one.example', '--json');
    expect(JSON.parse(stdout)).toMatchObject({ platform: 'fixture-10-3-web2', dbServer: 'db1' });
    const accounts = await db1().sql("SELECT host FROM mysql.user WHERE user LIKE 'one%' ORDER BY host");
    expect(accounts.split('\n').sort()).toEqual(
      [hosts.webs.web1!.host.address, hosts.webs.web2!.host.address].sort(),
    );
  });

  it('releases the site from web1: web1 no longer has it, web2 serves it, db1 grants web2 only', async () => {
    const { stdout } = await berth('site', 'release-old', 'one.example');
    expect(stdout).toContain('released from web1');
    expect((await web1().request('one.example', '/')).status).toBe(404);
    expect(existsSync(join(hosts.webs.web1!.root, 'sites', 'one.example'))).toBe(false);
    expect((await web2().request('one.example', '/')).status).toBe(200);
    expect(await db1().sql("SELECT host FROM mysql.user WHERE user LIKE 'one%'")).toBe(
      hosts.webs.web2!.host.address,
    );
    // Nothing left to release: a clear refusal.
    const again = await berth('site', 'release-old', 'one.example').then(
      () => null,
      (error: { stderr?: string }) => error,
    );
    expect(again?.stderr).toMatch(/keeps no copy on another server/);
  });

  it('moves the database from db1 to db2: copied with writes held, switched in the window, db1 left with nothing', async () => {
    const acknowledged: Array<{ title: string; at: number }> = [];
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        const title = `db move write ${n}`;
        const answer = await web2().request('one.example', '/node', { method: 'POST', form: { title } });
        if (answer.status < 400) acknowledged.push({ title, at: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const prober = startHttpProber(web2(), 'one.example');
    let moved: TaskWithSteps;
    try {
      moved = await task('site', 'migrate', 'one.example', '--db-server', 'db2');
    } finally {
      await new Promise((resolve) => setTimeout(resolve, 300));
      writing = false;
      await Promise.all([prober.stop(), writer]);
    }
    expect(moved.state, moved.error ?? '').toBe('succeeded');
    expect(moved.phases.map((phase) => phase.name)).toEqual([
      'backup',
      'read-only window',
      'rollback point',
      'copy the database',
      'offline window',
    ]);
    const window = moved.phases.find((phase) => phase.name === 'offline window')!;
    const [start, end] = [Date.parse(window.startedAt), Date.parse(window.endedAt!)];
    expect(prober.samples.length).toBeGreaterThan(10);
    expect(
      prober.samples.filter((sample) => (sample.at < start || sample.at > end) && sample.status !== 200),
    ).toEqual([]);
    console.info(`database db1 -> db2: offline window ${end - start} ms`);
    // Every write acknowledged before writes were held is in the database on db2.
    const readOnly = moved.phases.find((phase) => phase.name === 'read-only window')!;
    const before = acknowledged.filter((item) => item.at < Date.parse(readOnly.startedAt));
    expect(before.length).toBeGreaterThan(0);
    const page = await web2().request('one.example', '/');
    for (const write of before) expect(page.body).toContain(write.title);
    expect(page.body).toContain('before the backup');

    const { stdout } = await berth('site', 'show', 'one.example', '--json');
    expect(JSON.parse(stdout)).toMatchObject({ platform: 'fixture-10-3-web2', dbServer: 'db2' });
    expect(moved.result).toMatchObject({ database: { from: 'db1', to: 'db2', oldDropped: true } });
    expect(await db1().sql("SHOW DATABASES LIKE 'one\\_example%'")).toBe('');
    expect(await db1().sql("SELECT user FROM mysql.user WHERE user LIKE 'one%'")).toBe('');
    expect(await db2().sql("SELECT host FROM mysql.user WHERE user LIKE 'one%'")).toBe(address('web2'));
    // Refused before any step: it is there already.
    const again = await berth('site', 'migrate', 'one.example', '--db-server', 'db2').then(
      () => null,
      (error: { stderr?: string; code?: number }) => error,
    );
    expect(again?.code).toBe(2);
    expect(again?.stderr).toContain('the database of one.example is already on db2');
  });

  describe('kill -9 of the target web agent', () => {
    const files = (web: 'web1' | 'web2') => join(hosts.webs[web]!.root, 'sites', 'three.example', 'files');

    beforeAll(async () => {
      await berth('site', 'install', 'three.example', '--platform', PLATFORM, '--db-server', 'db2');
      await web1().request('three.example', '/node', { method: 'POST', form: { title: 'three before' } });
      writeFileSync(join(files('web1'), 'before.txt'), 'three before the kill');
      // Random bytes do not compress: the copy to web2 takes long enough to be killed in.
      writeFileSync(join(files('web1'), 'ballast.bin'), randomBytes(96 * 1024 * 1024));
    }, 120_000);

    /**
     * Starts a move of three.example to `platform` on web2, kills web2's agent once the `nth` step
     * `name` on web2 runs, starts it again, and returns the ended task.
     */
    async function killDuring(platform: string, name: string, nth: number): Promise<TaskWithSteps> {
      const { stdout } = await berth(
        'site',
        'migrate',
        'three.example',
        '--platform',
        platform,
        '--no-wait',
        '--json',
      );
      const { id } = JSON.parse(stdout) as { id: string };
      await eventually(
        `the ${nth}. ${name} on web2 to run`,
        async () => {
          const running = await hosts.master.api.get<TaskWithSteps>(`/api/tasks/${id}`);
          if (['succeeded', 'failed'].includes(running.state))
            throw new Error(`the move ended: ${running.state}`);
          const steps = running.steps.filter((step) => step.name === name && step.serverName === 'web2');
          return steps[nth - 1]?.state === 'running';
        },
        120_000,
        10,
      );
      await hosts.webs.web2!.agent.process.kill9();
      await hosts.webs.web2!.agent.restart();
      return ended(id);
    }

    async function expectServedFromWeb1(ended: TaskWithSteps): Promise<void> {
      expect(ended.state).toBe('failed');
      expect(ended.error).toMatch(/came back without step|agent/);
      expect(ended.rollbackCompleted).toBe(true);
      const page = await web1().request('three.example', '/');
      expect(page.status).toBe(200);
      expect(page.body).toContain('three before');
      expect(page.body).toContain('Drupal 10.2');
      expect(readFileSync(join(files('web1'), 'before.txt'), 'utf8')).toBe('three before the kill');
      // web2 keeps nothing of it; db2 still grants web1 only.
      expect((await web2().request('three.example', '/')).status).toBe(404);
      expect(existsSync(join(hosts.webs.web2!.root, 'sites', 'three.example'))).toBe(false);
      expect(await db2().sql("SELECT host FROM mysql.user WHERE user LIKE 'three%'")).toBe(address('web1'));
      const { stdout } = await berth('site', 'show', 'three.example', '--json');
      expect(JSON.parse(stdout)).toMatchObject({ platform: PLATFORM, dbServer: 'db2', status: 'enabled' });
    }

    it('refuses a move onto a server that has a leftover of the site, before anything is made, and keeps the leftover', async () => {
      const leftover = join(hosts.webs.web2!.root, 'sites', 'three.example');
      mkdirSync(leftover, { recursive: true });
      writeFileSync(join(leftover, 'note.txt'), 'not berth-made');
      try {
        const refused = await berth(
          'site',
          'migrate',
          'three.example',
          '--platform',
          'fixture-10-3-web2',
        ).then(
          () => null,
          (error: { stderr?: string; code?: number }) => error,
        );
        expect(refused?.code).toBe(1);
        expect(refused?.stderr).toContain(`this server already has three.example: ${leftover}`);
        expect(readFileSync(join(leftover, 'note.txt'), 'utf8')).toBe('not berth-made');
        expect((await web1().request('three.example', '/')).status).toBe(200);
      } finally {
        rmSync(leftover, { recursive: true, force: true });
      }
    });

    it('in the middle of the file copy: the task rolls back, web1 serves the site with nothing lost', async () => {
      // The first site.extract on web2 is the rehearsal's, the second the copy of the site.
      const ended = await killDuring('fixture-10-3-web2', 'site.extract', 2);
      expect(ended.phases.at(-1)?.name).toBe('copy to the new server');
      await expectServedFromWeb1(ended);
    }, 240_000);

    it('inside the window (its database updates): rolled back there, web1 serves the site with nothing lost', async () => {
      // The first app.update on web2 is the rehearsal's, the second the site's own, in the window.
      const ended = await killDuring('fixture-10-3-slow-web2', 'app.update', 2);
      expect(ended.phases.map((phase) => phase.name)).toContain('offline window');
      await expectServedFromWeb1(ended);
    }, 240_000);
  });

  it('drains web1 of its five sites onto web2, one migrate each, two at a time, with a summary', async () => {
    rmSync(join(hosts.webs.web1!.root, 'sites', 'three.example', 'files', 'ballast.bin'));
    const domains = ['three.example', 'd1.example', 'd2.example', 'd3.example', 'd4.example'];
    for (const domain of domains.slice(1)) {
      await berth(
        'site',
        'install',
        domain,
        '--platform',
        PLATFORM,
        '--db-server',
        domain === 'd4.example' ? 'db2' : 'db1',
      );
    }
    // The slow platform takes no new sites: each goes to fixture-10-3-web2.
    await berth('platform', 'lock', 'fixture-10-3-slow-web2');
    const { stdout } = await berth('server', 'drain', 'web1', '--to', 'web2', '--concurrency', '2');
    for (const domain of domains)
      expect(stdout).toMatch(new RegExp(`${domain.replace('.', '\\.')} +migrated +\\d+ ms`));
    const { stdout: json } = await berth('site', 'list', '--json');
    const sites = JSON.parse(json) as Array<{ domain: string; platform: string; dbServer: string }>;
    for (const domain of domains) {
      expect(sites.find((site) => site.domain === domain)).toMatchObject({ platform: 'fixture-10-3-web2' });
      expect((await web2().request(domain, '/')).status).toBe(200);
      // web1 passes them on until they are released from it.
      expect((await web1().request(domain, '/')).body).toContain('Drupal 10.3.0 (Berth fixture)');
    }
    // Nothing is left to drain but the copies kept for the grace period.
    const again = await berth('server', 'drain', 'web1', '--to', 'web2').then(
      () => null,
      (error: { stderr?: string; code?: number }) => error,
    );
    expect(again?.stderr).toMatch(/web1 hosts no sites and no site databases/);
  }, 300_000);

  it('groups web1 and web2 in a cluster: heads connected, db1 refused, a platform verified on both heads alike', async () => {
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => null,
        (error: { stdout?: string; stderr?: string; code?: number }) => error,
      );
    // Each test host has its own <root>/sites: the cluster is added, and its check says they differ.
    const unshared = await failure(berth('cluster', 'add', 'front', '--servers', 'web1,web2'));
    expect(unshared?.code).toBe(1);
    expect(unshared?.stderr).toMatch(
      /the heads do not share one site directory: web1 wrote a marker in .*, which web2 \(/,
    );
    expect((await berth('cluster', 'show', 'front')).stdout).toContain('not seen shared yet');
    // The same directory at both heads' <root>/sites (an NFS mount in production, a link here).
    const sitesDir = (web: 'web1' | 'web2') => join(hosts.webs[web]!.root, 'sites');
    mkdirSync(sitesDir('web2'), { recursive: true });
    renameSync(sitesDir('web2'), `${sitesDir('web2')}.own`);
    symlinkSync(sitesDir('web1'), sitesDir('web2'));
    try {
      const verified = await task('cluster', 'verify', 'front');
      expect(verified.state).toBe('succeeded');
      expect(verified.steps.map((step) => `${step.name} ${step.serverName}`)).toEqual([
        'sites.marker web1',
        'sites.marker web2',
        'sites.marker web1',
      ]);
    } finally {
      rmSync(sitesDir('web2'));
      renameSync(`${sitesDir('web2')}.own`, sitesDir('web2'));
    }
    // The marker is gone again.
    expect(readdirSync(sitesDir('web1')).filter((name) => name.startsWith('.berth-marker'))).toEqual([]);
    const shown = await berth('cluster', 'show', 'front');
    expect(shown.stdout).toContain('shared by every head');
    expect(shown.stdout).toMatch(
      new RegExp(`web1 +${address('web1').replaceAll('.', '\\.')} +http +connected`),
    );
    expect(shown.stdout).toMatch(
      new RegExp(`web2 +${address('web2').replaceAll('.', '\\.')} +http +connected`),
    );
    const refused = await failure(berth('cluster', 'add-server', 'front', 'db1'));
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toContain('db1 offers no web server (db): a head serves sites');

    // The same codebase on both heads: verified on each, one sha256.
    const codebase = (web: 'web1' | 'web2') => join(hosts.webs[web]!.root, 'platforms', 'fixture-front');
    buildFixturePlatform('fixture-10.3', codebase('web1'));
    buildFixturePlatform('fixture-10.3', codebase('web2'));
    const added = await task(
      'platform',
      'add',
      'fixture-front',
      '--cluster',
      'front',
      '--path',
      codebase('web1'),
    );
    expect(added.state).toBe('succeeded');
    expect(
      added.steps.filter((step) => step.name === 'platform.scan').map((step) => step.serverName),
    ).toEqual(['web1', 'web2']);
    expect(added.result).toMatchObject({
      coreVersion: '10.3.0',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
    });
    const { stdout: platformJson } = await berth('platform', 'show', 'fixture-front', '--json');
    expect(JSON.parse(platformJson)).toMatchObject({ cluster: 'front', status: 'verified' });
    expect((await berth('cluster', 'list')).stdout).toMatch(/front +web1,web2 +fixture-front +0/);
    // Sites on a cluster: test/e2e/cluster.e2e-spec.ts.
    // One file differs on web2: the verify fails and names both heads' hashes.
    writeFileSync(join(codebase('web2'), 'web', 'index.php'), '<?php // changed on web2 only\n');
    const differs = await failure(berth('platform', 'verify', 'fixture-front'));
    expect(differs?.code).toBe(1);
    expect(differs?.stderr).toMatch(
      /the heads' codebases of fixture-front differ: web1 [0-9a-f]{12} .*; web2 [0-9a-f]{12} /,
    );
    expect(JSON.parse((await berth('platform', 'show', 'fixture-front', '--json')).stdout)).toMatchObject({
      status: 'failed',
    });
    rmSync(codebase('web2'), { recursive: true, force: true });
    buildFixturePlatform('fixture-10.3', codebase('web2'));
    expect((await task('platform', 'verify', 'fixture-front')).state).toBe('succeeded');

    // A head leaves (no sites yet); it comes back stale while the cluster has platforms (see
    // cluster.e2e-spec.ts for the sync), and leaves again.
    const { stdout: left } = await berth('cluster', 'remove-server', 'front', 'web2', '--json');
    expect((JSON.parse(left) as { heads: Array<{ name: string }> }).heads.map((head) => head.name)).toEqual([
      'web1',
    ]);
    const { stdout: back } = await berth('cluster', 'add-server', 'front', 'web2', '--json');
    expect(
      (JSON.parse(back) as { heads: Array<{ name: string; staleSince: string | null }> }).heads.find(
        (head) => head.name === 'web2',
      )?.staleSince,
    ).toMatch(/^\d{4}-/);
    await berth('cluster', 'remove-server', 'front', 'web2');
    rmSync(codebase('web2'), { recursive: true, force: true });
  });
});
