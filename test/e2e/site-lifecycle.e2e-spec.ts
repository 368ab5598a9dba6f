import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixturePlatform, FIXTURE_PLATFORMS, type FixturePlatformName } from '../fixtures/platforms.js';
import { type MasterHandle } from '../support/processes.js';
import { type TestDatabase } from '../support/test-database.js';
import type { WebStack } from '../support/web-stack.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';

const run = promisify(execFile);
const PLATFORM = 'fixture-10-2';

/**
 * A site's whole life through the CLI, on real MariaDB, nginx and PHP-FPM: install, serve, log in,
 * back up, restore, disable, enable, delete. Drupal is the fixture platform (test/fixtures).
 */
describe('site lifecycle', () => {
  let stack: HostingStack;
  let database: TestDatabase;
  let master: MasterHandle;
  let web: WebStack;
  let root: string;

  const berth = (...args: string[]) => stack.berth(...args);
  const mariadb = (sql: string) => stack.mariadb(sql);

  beforeAll(async () => {
    stack = await startHostingStack({ label: 'site-lifecycle', platforms: { [PLATFORM]: 'fixture-10.2' } });
    ({ database, master, web, root } = stack);
  }, 300_000);

  afterAll(() => stack?.stop());

  it('installs a site through the CLI that answers with its name, and whose login link works once', async () => {
    await berth('site', 'install', 'one.example', '--platform', PLATFORM);
    const page = await web.request('one.example', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('one.example');

    const login = await berth('site', 'login-reset', 'one.example');
    const url = new URL(login.stdout.trim().split('\n').at(-1)!);
    const first = await web.request('one.example', url.pathname);
    expect(first.status).toBeLessThan(400);
    const second = await web.request('one.example', url.pathname);
    expect(second.status).toBe(403);
  });

  it("writes a drush alias file for the site: the platform's docroot and drush on web1, the site's URI", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-drush-sites-'));
    try {
      const { stdout } = await berth('site', 'aliases', 'one.example', '--dir', dir);
      const path = join(dir, 'one-example.site.yml');
      expect(stdout.trim()).toBe(path);
      const text = readFileSync(path, 'utf8');
      const field = (key: string) => new RegExp(`^ +${key}: '([^']*)'$`, 'm').exec(text)?.[1];
      expect(text).toMatch(/^live:$/m);
      expect(field('host')).toBe('web1');
      expect(field('uri')).toBe('http://one.example');
      expect(field('root')).toBe(join(root, 'platforms', PLATFORM, 'web'));
      // The root drush would use holds the site: the platform's sites/one.example link.
      expect(existsSync(join(field('root')!, 'sites', 'one.example', 'settings.php'))).toBe(true);
      expect(existsSync(field('drush-script')!)).toBe(true);
      await expect(berth('site', 'aliases', 'one.example', '--dir', dir)).rejects.toMatchObject({ code: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("restores a backup: the content is the backup's, the manifest matches the store, a pre-restore backup exists", async () => {
    await web.request('one.example', '/node', { method: 'POST', form: { title: 'before backup' } });
    const backup = JSON.parse((await berth('site', 'backup', 'one.example', '--json')).stdout) as {
      result: { backupId: string };
    };
    await web.request('one.example', '/node', { method: 'POST', form: { title: 'after backup' } });
    expect((await web.request('one.example', '/')).body).toContain('after backup');
    // A table the site gained since the backup (a module installed since, say).
    const siteDb = stack.siteDatabase('one.example');
    await mariadb(`CREATE TABLE \`${siteDb}\`.since_backup (id INT PRIMARY KEY)`);

    await berth('site', 'restore', 'one.example', '--backup', backup.result.backupId, '--yes');
    const restored = (await web.request('one.example', '/')).body;
    expect(restored).toContain('before backup');
    expect(restored).not.toContain('after backup');
    // Restored into an empty database (the state before was set aside): no table of it survives,
    // and nothing set aside is left on the server once it is archived.
    expect(await mariadb(`SHOW TABLES FROM \`${siteDb}\` LIKE 'since_backup'`)).toBe('');
    expect(await mariadb("SHOW DATABASES LIKE 'berth\\_aside\\_%'")).toBe('');
    expect(readdirSync(join(root, 'sites')).filter((name) => name.startsWith('.'))).toEqual([]);

    const backups = JSON.parse((await berth('site', 'backups', 'one.example', '--json')).stdout) as Array<{
      id: string;
      archiveId: string;
      databaseArchiveId: string | null;
      reason: string;
      manifest: { archive: { sha256: string } };
    }>;
    expect(backups.map((item) => item.reason)).toContain('pre-restore');
    const original = backups.find((item) => item.id === backup.result.backupId)!;
    const { stdout } = await run('sha256sum', [
      join(database.dataDir, 'store', 'archives', original.archiveId),
    ]);
    expect(stdout.split(' ')[0]).toBe(original.manifest.archive.sha256);

    // The pre-restore backup holds the state before: the table and the node written after the backup.
    const preRestore = backups.find((item) => item.reason === 'pre-restore')!;
    const preDump = gunzipSync(
      readFileSync(join(database.dataDir, 'store', 'archives', preRestore.databaseArchiveId!)),
    ).toString('utf8');
    expect(preDump).toContain('CREATE TABLE `since_backup`');
    expect(preDump).toContain('after backup');

    // A backup can be deleted: its archive leaves the store.
    await berth('site', 'backup-delete', 'one.example', '--backup', preRestore.id, '--yes');
    expect(existsSync(join(database.dataDir, 'store', 'archives', preRestore.archiveId))).toBe(false);
    const remaining = JSON.parse((await berth('site', 'backups', 'one.example', '--json')).stdout) as Array<{
      id: string;
    }>;
    expect(remaining.map((item) => item.id)).not.toContain(preRestore.id);

    // And verify still finds the site healthy after the restore.
    const verified = JSON.parse((await berth('site', 'verify', 'one.example', '--json')).stdout) as {
      state: string;
      result: { probe: number };
    };
    expect(verified).toMatchObject({ state: 'succeeded', result: { probe: 200 } });
  });

  it('keeps the database password out of every archive in the store', () => {
    const credentials = readFileSync(join(root, 'config', 'sites', 'one.example', 'credentials.php'), 'utf8');
    const password = /'password'\s*=>\s*'([^']+)'/.exec(credentials)?.[1];
    expect(password).toBeTruthy();
    const archives = join(database.dataDir, 'store', 'archives');
    const files = readdirSync(archives);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const bytes = gunzipSync(readFileSync(join(archives, file)));
      expect(bytes.includes(Buffer.from(password!))).toBe(false);
    }
  });

  it('disables (the disabled page), enables (200 again) and deletes, leaving nothing but a last backup', async () => {
    await berth('site', 'disable', 'one.example');
    const disabled = await web.request('one.example', '/');
    expect(disabled.body).toMatch(/disabled/i);
    await berth('site', 'enable', 'one.example');
    expect((await web.request('one.example', '/')).status).toBe(200);

    await expect(berth('site', 'delete', 'one.example', '--yes')).rejects.toMatchObject({ code: 2 });
    await berth('site', 'disable', 'one.example');
    const site = JSON.parse((await berth('site', 'show', 'one.example', '--json')).stdout) as { id: string };
    const before = JSON.parse((await berth('site', 'backups', 'one.example', '--json')).stdout) as unknown[];
    await berth('site', 'delete', 'one.example', '--yes');

    expect(existsSync(join(root, 'sites', 'one.example'))).toBe(false);
    expect(existsSync(join(root, 'config', 'nginx', 'one.example.conf'))).toBe(false);
    expect(() => lstatSync(join(root, 'platforms', PLATFORM, 'web', 'sites', 'one.example'))).toThrow();
    expect(
      await mariadb(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'one_example%'`),
    ).toBe('0');
    expect(await mariadb(`SELECT COUNT(*) FROM mysql.user WHERE user LIKE 'one_example%'`)).toBe('0');
    const after = JSON.parse((await berth('site', 'backups', 'one.example', '--json')).stdout) as Array<{
      reason: string;
    }>;
    expect(after).toHaveLength(before.length + 1);
    expect(after[0]!.reason).toBe('delete');
    expect(site.id).toBeTruthy();
  });

  it.each([['../x'], ['a b'], ['x;rm -rf /'], [`${'a'.repeat(300)}.example`]])(
    'refuses the domain %j with a clear error and leaves nothing behind',
    async (domain) => {
      const before = readdirSync(join(root, 'config', 'nginx'));
      const response = await fetch(`${master.url}/api/sites`, {
        method: 'POST',
        headers: { authorization: `Bearer ${master.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ domain, platform: PLATFORM }),
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { message: string };
      expect(body.message).toMatch(/domain/);
      expect(readdirSync(join(root, 'config', 'nginx'))).toEqual(before);
      expect(existsSync(join(root, 'sites', domain))).toBe(false);
    },
  );

  it('refuses a duplicate domain and an unknown platform or server with a 4xx', async () => {
    await berth('site', 'install', 'two.example', '--platform', PLATFORM);
    const post = (body: unknown) =>
      fetch(`${master.url}/api/sites`, {
        method: 'POST',
        headers: { authorization: `Bearer ${master.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ domain: 'two.example', platform: PLATFORM })).status).toBe(409);
    expect((await post({ domain: 'three.example', platform: 'nope' })).status).toBe(404);
    expect((await post({ domain: 'three.example', platform: PLATFORM, dbServer: 'nope' })).status).toBe(404);
    expect(existsSync(join(root, 'sites', 'three.example'))).toBe(false);
    expect(
      await mariadb(
        `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'three_example%'`,
      ),
    ).toBe('0');
  });

  it("refuses names Drupal's sites/ keeps for itself, numbers and names nobody types, in the API and the CLI, leaving nothing behind", async () => {
    const refused = [
      'default',
      'all',
      'simpletest',
      'sites.php',
      'example.sites.php',
      'default.settings.php',
      'development.services.yml',
      'example.settings.local.php',
      '0',
      '123',
      '10.0.0.1',
      'localhost',
      'Upper.example',
      'a..b.example',
      '-dash.example',
      'under_score.example',
      `${'x'.repeat(64)}.example`,
    ];
    const sitesDir = join(root, 'sites');
    const state = async () => ({
      sites: (await master.api.get<{ items: unknown[] }>('/api/sites')).items.length,
      tasks: (await master.api.get<{ items: unknown[] }>('/api/tasks?limit=500')).items.length,
      directories: readdirSync(sitesDir).sort(),
      links: readdirSync(join(root, 'platforms', PLATFORM, 'web', 'sites')).sort(),
      vhosts: readdirSync(join(root, 'config', 'nginx')).sort(),
      databases: await mariadb('SELECT COUNT(*) FROM information_schema.schemata'),
      users: await mariadb('SELECT COUNT(*) FROM mysql.user'),
    });
    const before = await state();
    const post = (path: string, body: unknown) =>
      fetch(`${master.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${master.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, [join(process.cwd(), 'bin', 'berth.js'), ...args], {
        env: { ...process.env, BERTH_URL: master.url, BERTH_TOKEN: master.token },
      }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    for (const domain of refused) {
      const answer = await post('/api/sites', { domain, platform: PLATFORM });
      expect(answer.status, domain).toBe(400);
      expect(((await answer.json()) as { message: string }).message, domain).toMatch(/domain/);
      expect((await post('/api/sites/two.example/clone', { domain })).status, `clone to ${domain}`).toBe(400);
      expect((await post('/api/sites/two.example/rename', { domain })).status, `rename to ${domain}`).toBe(
        400,
      );
    }
    for (const domain of refused) {
      const installed = await cli('site', 'install', domain, '--platform', PLATFORM);
      expect(installed.code, domain).toBe(2);
      // A name with a leading dash is taken for an option before it is taken for a domain.
      expect(installed.stderr, domain).toMatch(domain.startsWith('-') ? /unknown option/ : /domain/);
      expect((await cli('site', 'clone', 'two.example', domain)).code, `clone to ${domain}`).toBe(2);
    }
    expect(await state()).toEqual(before);
  });

  it('takes a platform named after its build, dots and all, and serves a site from it', async () => {
    const name = 'd10.2.0-acme';
    buildFixturePlatform('fixture-10.2', join(root, 'platforms', name));
    await berth('platform', 'add', name, '--server', 'web1', '--path', join(root, 'platforms', name));
    await berth('site', 'install', 'dotted.example', '--platform', name);
    const page = await web.request('dotted.example', '/');
    expect(page.status).toBe(200);
    expect(readFileSync(join(root, 'config', 'nginx', 'dotted.example.conf'), 'utf8')).toContain(
      `root ${join(root, 'platforms', name, 'web')};`,
    );
    for (const bad of ['a..b', '.hidden', 'trailing.', '10.2']) {
      const answer = await fetch(`${master.url}/api/platforms`, {
        method: 'POST',
        headers: { authorization: `Bearer ${master.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: bad, server: 'web1' }),
      });
      expect(answer.status, bad).toBe(400);
    }
  });

  it('verifies each fixture platform into exactly the packages and schema versions in its files', async () => {
    for (const [fixture, expected] of Object.entries(FIXTURE_PLATFORMS) as Array<
      [FixturePlatformName, (typeof FIXTURE_PLATFORMS)[FixturePlatformName]]
    >) {
      const name = `scan-${fixture.replace(/\./g, '-')}`;
      buildFixturePlatform(fixture, join(root, 'platforms', name));
      await berth('platform', 'add', name, '--server', 'web1', '--path', join(root, 'platforms', name));
      const platform = JSON.parse((await berth('platform', 'show', name, '--json')).stdout) as {
        coreVersion: string;
        packages: Array<{ name: string; type: string; version: string | null; schemaVersion: number }>;
      };
      expect(platform.coreVersion).toBe(expected.coreVersion);
      const found = Object.fromEntries(
        platform.packages
          .filter((item) => item.type !== 'core')
          .map((item) => [item.name, { type: item.type, version: item.version, schema: item.schemaVersion }]),
      );
      const wanted = Object.fromEntries(
        Object.entries(expected.packages).map(([packageName, item]) => [
          packageName,
          { type: item.type, version: item.version, schema: item.schema ?? 0 },
        ]),
      );
      expect(found, fixture).toEqual(wanted);
    }
  });
});
