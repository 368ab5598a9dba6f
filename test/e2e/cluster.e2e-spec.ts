import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskWithSteps } from '../../shared/src/api.js';
import { startClusterHosts, type ClusterHosts } from '../support/cluster-hosts.js';
import { loudCli } from '../support/several-hosts.js';
import { startHttpProber, type HttpProber, type ProbeSample } from '../support/http-prober.js';
import { eventually, waitForTask } from '../support/processes.js';
import { requestSite } from '../support/web-stack.js';

/** The schema version of the system module from 10.3 on (its update 10300): the fixture pages name it. */
const SCHEMA_10_3 = 10300;

/**
 * A cluster for real: three heads (web1..3, each with its own nginx, PHP-FPM and agent, one site
 * directory they share), the database on db1, a load balancer (nginx) in front of the heads, on
 * test hosts. Every site task acts on every head; a migrate switches all heads at once with the
 * database updated once.
 */
describe('a cluster of three heads', () => {
  let hosts: ClusterHosts;
  const head = (name: string) => hosts.webs[name]!;
  const onHead = (name: string, domain: string, path = '/') =>
    requestSite(head(name).host.address, 80, domain, path);

  /** Runs the CLI; a failure shows its stderr. */
  const berth = (...args: string[]) => loudCli(hosts.berth)(...args);
  /** Starts a task command (--no-wait) and returns the ended task with its steps. */
  const task = async (...args: string[]) => {
    const { stdout } = await berth(...args, '--no-wait', '--json');
    const { id } = JSON.parse(stdout) as { id: string };
    await waitForTask(hosts.master, id);
    return hosts.master.api.get<TaskWithSteps>(`/api/tasks/${id}`);
  };
  const stepsOf = (done: TaskWithSteps, name: string) =>
    done.steps.filter((step) => step.name === name).map((step) => step.serverName);
  /** Every head answers `domain` with a page of core `version`. */
  const expectEveryHeadServes = async (domain: string, version: string) => {
    for (const name of hosts.heads) {
      const page = await onHead(name, domain);
      expect(page.status, name).toBe(200);
      expect(page.body, name).toContain(`Drupal ${version}`);
    }
    expect((await hosts.lb.request(domain, '/')).status).toBe(200);
  };
  /** No head has a prepared vhost left over. */
  const expectNothingPrepared = () => {
    for (const name of hosts.heads)
      expect(
        readdirSync(join(head(name).root, 'config', 'nginx')).filter((file) => !file.endsWith('.conf')),
      ).toEqual([]);
  };
  const platformOf = async (domain: string) =>
    (JSON.parse((await berth('site', 'show', domain, '--json')).stdout) as { platform: string }).platform;

  beforeAll(async () => {
    hosts = await startClusterHosts({
      label: 'cluster',
      heads: 3,
      spares: 1,
      platforms: { c102: 'fixture-10.2', c103: 'fixture-10.3', 'c103-slow': 'fixture-10.3-slow-update' },
    });
  }, 300_000);

  afterAll(async () => {
    await hosts?.stop();
  });

  it('installs a site once and serves it from every head; a file uploaded through web1 is served by web2 and web3', async () => {
    const install = await task('site', 'install', 'shop.example', '--platform', 'c102', '--db-server', 'db1');
    expect(install.state, install.error ?? '').toBe('succeeded');
    expect(stepsOf(install, 'app.install')).toEqual(['web1']);
    for (const name of [
      'site.write-settings',
      'site.link',
      'http.prepare-vhost',
      'http.commit-vhost',
      'probe.http',
    ])
      expect(stepsOf(install, name).sort(), name).toEqual(hosts.heads);
    await expectEveryHeadServes('shop.example', '10.2');
    // The database user is granted from each head, from nowhere else.
    const grants = await hosts.dbs.db1!.db.sql(
      "SELECT host FROM mysql.user WHERE user LIKE 'shop%' ORDER BY host",
    );
    expect(grants.split('\n').sort()).toEqual(hosts.heads.map((name) => head(name).host.address).sort());

    const uploaded = await requestSite(head('web1').host.address, 80, 'shop.example', '/file/upload', {
      method: 'POST',
      form: { name: 'logo.txt', content: 'uploaded through web1' },
    });
    expect(uploaded.status).toBe(201);
    for (const name of ['web2', 'web3']) {
      const file = await onHead(name, 'shop.example', '/sites/shop.example/files/logo.txt');
      expect(file.status, name).toBe(200);
      expect(file.body, name).toBe('uploaded through web1');
    }
    // A node written through the load balancer is on every head's page (one database).
    await hosts.lb.request('shop.example', '/node', { method: 'POST', form: { title: 'before the switch' } });
    for (const name of hosts.heads)
      expect((await onHead(name, 'shop.example')).body, name).toContain('before the switch');
  });

  it('switches no head when one head refuses the new vhost at prepare (nginx -t fails on web2)', async () => {
    const broken = join(head('web2').root, 'config', 'nginx', 'zz-broken.conf');
    writeFileSync(broken, 'server { this is not nginx; }\n');
    try {
      const migrate = await task('site', 'migrate', 'shop.example', '--platform', 'c103');
      expect(migrate.state).toBe('failed');
      expect(migrate.error).toMatch(/nginx refused the configuration/);
      expect(migrate.rollbackCompleted).toBe(true);
      expect(stepsOf(migrate, 'http.commit-vhost')).toEqual([]);
      // Nothing was held: the failure came before writes were held.
      expect(stepsOf(migrate, 'app.maintenance')).toEqual([]);
    } finally {
      rmSync(broken);
    }
    expectNothingPrepared();
    await expectEveryHeadServes('shop.example', '10.2');
    expect(await platformOf('shop.example')).toBe('c102');
  }, 240_000);

  it('migrates 10.2 → 10.3 on every head at once under probers: updates once, no head serves code and schema that differ', async () => {
    const probers: Record<string, HttpProber> = {};
    for (const name of hosts.heads)
      probers[name] = startHttpProber(
        { request: (domain, path) => onHead(name, domain, path) },
        'shop.example',
        {
          intervalMs: 2,
        },
      );
    probers.lb = startHttpProber(hosts.lb, 'shop.example', { intervalMs: 2 });
    let migrate: TaskWithSteps;
    const samples: Record<string, ProbeSample[]> = {};
    try {
      migrate = await task('site', 'migrate', 'shop.example', '--platform', 'c103');
    } finally {
      for (const [name, prober] of Object.entries(probers)) samples[name] = await prober.stop();
    }
    expect(migrate.state, migrate.error ?? '').toBe('succeeded');
    await expectEveryHeadServes('shop.example', '10.3');
    expect(await platformOf('shop.example')).toBe('c103');

    // The database updates ran once, from web1, on the live database (the rehearsal's ran on its copy).
    const updates = migrate.steps.filter((step) => step.name === 'app.update');
    expect(updates.map((step) => step.serverName)).toEqual(['web1', 'web1']);
    const database = (await hosts.dbs.db1!.db.sql("SHOW DATABASES LIKE 'shop\\_example%'")).trim();
    const runs = await hosts.dbs.db1!.db.sql(
      `SELECT name, value FROM \`${database}\`.key_value WHERE collection = 'fixture.update_runs' ORDER BY name`,
    );
    const counted = runs.split('\n').filter(Boolean);
    expect(counted.length).toBeGreaterThan(0);
    for (const line of counted) expect(line, line).toMatch(/\ti:1;$/);
    expect(counted.some((line) => line.startsWith('system_update_10300\t'))).toBe(true);

    // No page served with code and schema that differ, through any head or the load balancer.
    for (const [name, list] of Object.entries(samples)) {
      const pages = list.filter((sample) => sample.status === 200);
      expect(pages.length, name).toBeGreaterThan(0);
      for (const page of pages) {
        const isNew = page.generator?.startsWith('Drupal 10.3') ?? false;
        expect(
          page.schema !== null && page.schema >= SCHEMA_10_3,
          `${name} at ${page.at}: ${page.generator}`,
        ).toBe(isNew);
      }
      // And once its commit returned (its nginx reloaded, old workers no longer taking requests), a
      // head served only the new code; the load balancer once every head's had.
      const reloadedAt = (server: string) =>
        Date.parse(
          (
            migrate.steps.find((step) => step.name === 'http.commit-vhost' && step.serverName === server)!
              .output as {
              reloadedAt: string;
            }
          ).reloadedAt,
        );
      const switchedAt = name === 'lb' ? Math.max(...hosts.heads.map(reloadedAt)) : reloadedAt(name);
      const after = list.filter((sample) => sample.at > switchedAt);
      expect(after.length, name).toBeGreaterThan(0);
      expect(
        after.filter((sample) => !sample.generator?.startsWith('Drupal 10.3')),
        name,
      ).toEqual([]);
    }
    // The skew between the heads, seen from outside: when each first served the new code.
    const firstNewAt = hosts.heads.map(
      (name) => samples[name]!.find((sample) => sample.generator?.startsWith('Drupal 10.3'))!.at,
    );
    const seenSkewMs = Math.max(...firstNewAt) - Math.min(...firstNewAt);
    const { switched } = migrate.result as { switched: { heads: string[]; skewMs: number } };
    expect(switched.heads).toEqual(hosts.heads);
    console.log(
      `cluster switch of 3 heads: ${switched.skewMs} ms between the first and last reload (agents' clocks), ` +
        `${seenSkewMs} ms between the first new page of the first and last head (probers, every 2 ms)`,
    );
  }, 300_000);

  it('kill -9 of a head agent between prepare and commit: every head stays on the old platform, the site serves', async () => {
    const install = await task('site', 'install', 'two.example', '--platform', 'c102', '--db-server', 'db1');
    expect(install.state, install.error ?? '').toBe('succeeded');
    const { stdout } = await berth(
      'site',
      'migrate',
      'two.example',
      '--platform',
      'c103-slow',
      '--no-wait',
      '--json',
    );
    const { id } = JSON.parse(stdout) as { id: string };
    const current = () => hosts.master.api.get<TaskWithSteps>(`/api/tasks/${id}`);
    // The second app.update is the live site's (the first the rehearsal's): prepared on every head by then.
    await eventually(
      "the live site's updates to run (slow: 2 s)",
      async () =>
        (await current()).steps.filter((step) => step.name === 'app.update')[1]?.state === 'running',
      120_000,
      10,
    );
    expect(stepsOf(await current(), 'http.prepare-vhost').sort()).toEqual(hosts.heads);
    await head('web3').agent.process.kill9();
    // The commit is refused and the undo starts; web3's part of it waits for its agent to come back.
    await eventually(
      'the undo to have put web1 on hold',
      async () => {
        const running = await current();
        const update = running.steps.filter((step) => step.name === 'app.update')[1]!;
        return running.steps.some(
          (step) =>
            step.seq > update.seq &&
            step.name === 'http.write-vhost' &&
            step.serverName === 'web1' &&
            step.state === 'done',
        );
      },
      120_000,
    );
    await head('web3').agent.restart();
    await waitForTask(hosts.master, id);
    const ended = await current();
    expect(ended.state).toBe('failed');
    expect(ended.error).toBe('web3 is not connected: no head of two.example was switched');
    expect(ended.rollbackCompleted).toBe(true);
    expect(stepsOf(ended, 'http.commit-vhost')).toEqual([]);
    expectNothingPrepared();
    await expectEveryHeadServes('two.example', '10.2');
    expect(await platformOf('two.example')).toBe('c102');
    expect(existsSync(join(head('web3').root, 'platforms', 'c103-slow', 'web', 'sites', 'two.example'))).toBe(
      false,
    );
  }, 300_000);

  it('goes on without a head that is down (--without-head), marks it stale, and syncs it back', async () => {
    type Shown = { heads: Array<{ name: string; connected: boolean; staleSince: string | null }> };
    const clusterShown = async () =>
      JSON.parse((await berth('cluster', 'show', 'front', '--json')).stdout) as Shown;
    await head('web3').agent.process.stop();
    await eventually('the master to see web3 gone', async () =>
      (await clusterShown()).heads.some((one) => one.name === 'web3' && !one.connected),
    );
    // A connected head is never left out: it takes the switch with the others.
    const refused = await berth(
      'site',
      'migrate',
      'two.example',
      '--platform',
      'c103',
      '--without-head',
      'web2',
    ).then(
      () => null,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toContain("web2's agent is connected: it takes the switch with the other heads");

    const migrate = await task(
      'site',
      'migrate',
      'two.example',
      '--platform',
      'c103',
      '--without-head',
      'web3',
    );
    expect(migrate.state, migrate.error ?? '').toBe('succeeded');
    expect(migrate.steps.filter((step) => step.serverName === 'web3')).toEqual([]);
    expect((migrate.result as { switched: { heads: string[] } }).switched.heads).toEqual(['web1', 'web2']);
    for (const name of ['web1', 'web2'])
      expect((await onHead(name, 'two.example')).body, name).toContain('Drupal 10.3');
    // web3's nginx still serves what it had: why a stale head stays out of the load balancer.
    expect((await onHead('web3', 'two.example')).body).toContain('Drupal 10.2');
    const stale = (await clusterShown()).heads.find((one) => one.name === 'web3');
    expect(stale?.staleSince).toMatch(/^\d{4}-/);
    expect((await berth('cluster', 'show', 'front')).stdout).toContain('stale since');

    // While it is stale, site tasks leave it out instead of waiting for it.
    const install = await task(
      'site',
      'install',
      'three.example',
      '--platform',
      'c103',
      '--db-server',
      'db1',
    );
    expect(install.state, install.error ?? '').toBe('succeeded');
    expect(install.steps.filter((step) => step.serverName === 'web3')).toEqual([]);
    expect((await onHead('web3', 'three.example')).status).toBe(404);

    await head('web3').agent.restart();
    const sync = await task('cluster', 'sync', 'front', 'web3');
    expect(sync.state, sync.error ?? '').toBe('succeeded');
    expect(sync.result).toMatchObject({ head: 'web3', removedVhosts: [] });
    for (const domain of ['shop.example', 'two.example', 'three.example']) {
      const page = await onHead('web3', domain);
      expect(page.status, domain).toBe(200);
      expect(page.body, domain).toContain('Drupal 10.3');
    }
    expect((await clusterShown()).heads.every((one) => one.staleSince === null)).toBe(true);
    const grants = await hosts.dbs.db1!.db.sql("SELECT host FROM mysql.user WHERE user LIKE 'three%'");
    expect(grants.split('\n').sort()).toEqual(hosts.heads.map((name) => head(name).host.address).sort());
    // And the next task includes it again.
    const disable = await task('site', 'disable', 'three.example');
    expect(stepsOf(disable, 'http.commit-vhost').sort()).toEqual(hosts.heads);
  }, 300_000);

  it("takes a fourth head that joins later: stale until the sync copied the cluster's platforms and wrote its sites", async () => {
    const joined = JSON.parse((await berth('cluster', 'add-server', 'front', 'web4', '--json')).stdout) as {
      heads: Array<{ name: string; staleSince: string | null }>;
    };
    expect(joined.heads.find((one) => one.name === 'web4')?.staleSince).toMatch(/^\d{4}-/);
    // A joined head must be seen sharing the site directory, as at cluster add.
    expect((await task('cluster', 'verify', 'front')).state).toBe('succeeded');
    // Stale: site tasks leave it out, and it has no platform yet.
    const enable = await task('site', 'enable', 'three.example');
    expect(enable.steps.filter((step) => step.serverName === 'web4')).toEqual([]);
    expect(existsSync(join(head('web4').root, 'platforms', 'c103'))).toBe(false);

    const sync = await task('cluster', 'sync', 'front', 'web4');
    expect(sync.state, sync.error ?? '').toBe('succeeded');
    expect(stepsOf(sync, 'platform.extract').length).toBe(3);
    for (const domain of ['shop.example', 'two.example', 'three.example']) {
      const page = await onHead('web4', domain);
      expect(page.status, domain).toBe(200);
      expect(page.body, domain).toContain('Drupal 10.3');
    }
    // Its codebase hashes as the others' do: the next platform verify passes on all four heads.
    const verify = await task('platform', 'verify', 'c103');
    expect(verify.state, verify.error ?? '').toBe('succeeded');
    expect(stepsOf(verify, 'platform.scan').sort()).toEqual([...hosts.heads, 'web4']);
    // And site tasks include it from now on.
    const disable = await task('site', 'disable', 'three.example');
    expect(stepsOf(disable, 'http.commit-vhost').sort()).toEqual([...hosts.heads, 'web4']);
  }, 300_000);
});
