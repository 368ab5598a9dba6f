import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { type FixturePlatformName } from '../fixtures/platforms.js';
import { type MasterHandle } from '../support/processes.js';
import { type TestDatabase } from '../support/test-database.js';
import { type WebStack } from '../support/web-stack.js';

const PLATFORMS: Record<string, FixturePlatformName> = {
  'fixture-10-2': 'fixture-10.2',
  'fixture-10-3': 'fixture-10.3',
  'fixture-10-3-broken': 'fixture-10.3-broken-update',
};

/** The database and user names of every domain this file uses (siteDatabaseNames). */
const OWN_NAMES = '^(orig|copy|up|up2|renamed|broken|new)_example_';

interface SiteShown {
  id: string;
  domain: string;
  status: string;
  platform: string;
  packages: Array<{ name: string; schemaVersion: number }>;
}

/**
 * Clone and rename through the CLI on real MariaDB, nginx and PHP-FPM: a clone is a site of its own
 * (content, database, user, password), onto a newer platform it gets the updates; a rename serves
 * the same site under the new name and the old one no longer (or redirects); bad input leaves nothing.
 */
describe('clone and rename', () => {
  let stack: HostingStack;
  let database: TestDatabase;
  let master: MasterHandle;
  let web: WebStack;
  let root: string;

  const berth = (...args: string[]) => stack.berth(...args);
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
  const mariadb = (sql: string) => stack.mariadb(sql);
  const show = async (domain: string) =>
    JSON.parse((await berth('site', 'show', domain, '--json')).stdout) as SiteShown;
  const write = (domain: string, title: string) =>
    web.request(domain, '/node', { method: 'POST', form: { title } });
  const credentials = (domain: string) => {
    const text = readFileSync(join(root, 'config', 'sites', domain, 'credentials.php'), 'utf8');
    const field = (name: string) => new RegExp(`'${name}'\\s*=>\\s*'([^']+)'`).exec(text)?.[1];
    return { database: field('database'), user: field('username'), password: field('password') };
  };
  /** Everything a site leaves on the server, to prove that refused or failed requests left nothing. */
  const traces = async () => ({
    sites: readdirSync(join(root, 'sites')).sort(),
    vhosts: readdirSync(join(root, 'config', 'nginx')).sort(),
    // Only this file's names: other test files may share the MariaDB server at the same time.
    databases: await mariadb(
      `SELECT GROUP_CONCAT(schema_name ORDER BY schema_name) FROM information_schema.schemata WHERE schema_name REGEXP '${OWN_NAMES}'`,
    ),
    users: await mariadb(
      `SELECT GROUP_CONCAT(user ORDER BY user) FROM mysql.user WHERE user REGEXP '${OWN_NAMES}'`,
    ),
    registry: (JSON.parse((await berth('site', 'list', '--json')).stdout) as SiteShown[])
      .map((site) => `${site.domain} ${site.status} ${site.platform}`)
      .sort(),
  });

  beforeAll(async () => {
    stack = await startHostingStack({ label: 'clone-rename', platforms: PLATFORMS });
    ({ database, master, web, root } = stack);
    await berth('site', 'install', 'orig.example', '--platform', 'fixture-10-2');
  });

  afterAll(async () => {
    // What the sites of this file left in the shared MariaDB (the server outlives the test).
    const leftovers = await mariadb(
      `SELECT CONCAT('DROP DATABASE \`', schema_name, '\`;') FROM information_schema.schemata WHERE schema_name REGEXP '${OWN_NAMES}'
       UNION ALL SELECT CONCAT('DROP USER ', QUOTE(user), '@', QUOTE(host), ';') FROM mysql.user WHERE user REGEXP '${OWN_NAMES}'`,
    ).catch(() => '');
    if (leftovers) await mariadb(leftovers.split('\n').join(' ')).catch(() => undefined);
    await stack?.stop();
  });

  it('clones a site into one of its own: its content at the time, then its own writes, database, user and password', async () => {
    expect((await write('orig.example', 'written before the clone')).status).toBeLessThan(400);
    const cloned = await berth('site', 'clone', 'orig.example', 'copy.example');
    expect(cloned.stdout).toContain('copy.example is a clone of orig.example');

    const page = await web.request('copy.example', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('written before the clone');

    await write('orig.example', 'only on the original');
    await write('copy.example', 'only on the clone');
    const original = (await web.request('orig.example', '/')).body;
    const clone = (await web.request('copy.example', '/')).body;
    expect(original).toContain('only on the original');
    expect(original).not.toContain('only on the clone');
    expect(clone).toContain('only on the clone');
    expect(clone).not.toContain('only on the original');

    const [a, b] = [credentials('orig.example'), credentials('copy.example')];
    expect(b.database).toMatch(/^copy_example_/);
    expect(b.user).toMatch(/^copy_example_/);
    expect(b.database).not.toBe(a.database);
    expect(b.user).not.toBe(a.user);
    expect(b.password).not.toBe(a.password);
    expect(
      await mariadb(
        `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name IN ('${a.database}', '${b.database}')`,
      ),
    ).toBe('2');
    // Each user reaches its own database only.
    expect(
      // GRANT escapes the wildcard "_" in database names.
      (
        await mariadb(`SELECT GROUP_CONCAT(DISTINCT table_schema) FROM information_schema.schema_privileges
                        WHERE grantee LIKE '''${b.user}''@%'`)
      ).replace(/\\/g, ''),
    ).toBe(b.database);

    const copy = await show('copy.example');
    expect(copy).toMatchObject({ status: 'enabled', platform: 'fixture-10-2' });
    expect(copy.packages.length).toBeGreaterThan(0);
    const backups = JSON.parse((await berth('site', 'backups', 'orig.example', '--json')).stdout) as Array<{
      reason: string;
    }>;
    expect(backups.map((item) => item.reason)).toContain('clone');
  });

  it("clones onto a newer platform and runs the updates on the clone only: its schema versions are the platform's", async () => {
    const before = await show('orig.example');
    await berth('site', 'clone', 'orig.example', 'up.example', '--platform', 'fixture-10-3');
    const up = await show('up.example');
    expect(up.platform).toBe('fixture-10-3');
    const schema = Object.fromEntries(up.packages.map((item) => [item.name, item.schemaVersion]));
    expect(schema).toMatchObject({ system: 10300, pathauto: 8109 });
    expect((await web.request('up.example', '/')).body).toContain('only on the original');
    expect(await show('orig.example')).toEqual(before);
  });

  it('undoes a clone whose updates fail: no row, directory, link, vhost, database or user of it is left', async () => {
    const before = await traces();
    const outcome = await failure(
      berth('site', 'clone', 'orig.example', 'broken.example', '--platform', 'fixture-10-3-broken'),
    );
    expect(outcome?.code).toBe(1);
    expect(outcome?.stderr).toMatch(/app\.update/);
    expect(await traces()).toEqual(before);
    expect(() =>
      lstatSync(join(root, 'platforms', 'fixture-10-3-broken', 'web', 'sites', 'broken.example')),
    ).toThrow();
    expect((await web.request('orig.example', '/')).status).toBe(200);
  });

  it('renames a site: the new name serves it, the old one is gone from nginx, the registry and the disk', async () => {
    const before = await show('copy.example');
    const store = join(database.dataDir, 'store', 'archives');
    const archives = readdirSync(store).length;
    const renamed = await berth('site', 'rename', 'copy.example', 'renamed.example');
    // The backup stays in the store; the archive of the files that moved does not.
    expect(readdirSync(store)).toHaveLength(archives + 1);
    expect(renamed.stdout).toContain('copy.example is now renamed.example');

    const page = await web.request('renamed.example', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('only on the clone');
    expect((await web.request('copy.example', '/')).status).toBe(404);

    const after = await show('renamed.example');
    expect(after).toMatchObject({ id: before.id, status: 'enabled', platform: 'fixture-10-2' });
    expect((await failure(berth('site', 'show', 'copy.example')))?.code).toBe(2);
    expect(existsSync(join(root, 'sites', 'copy.example'))).toBe(false);
    expect(existsSync(join(root, 'config', 'sites', 'copy.example'))).toBe(false);
    expect(existsSync(join(root, 'config', 'nginx', 'copy.example.conf'))).toBe(false);
    expect(() =>
      lstatSync(join(root, 'platforms', 'fixture-10-2', 'web', 'sites', 'copy.example')),
    ).toThrow();
    // The same database, now written under the new name.
    expect(credentials('renamed.example').database).toMatch(/^copy_example_/);
    expect((await write('renamed.example', 'after the rename')).status).toBeLessThan(400);
    expect((await web.request('renamed.example', '/')).body).toContain('after the rename');

    const task = JSON.parse(
      (await berth('task', 'list', '--type', 'site.rename', '--json')).stdout,
    ) as Array<{ id: string }>;
    const shown = JSON.parse((await berth('task', 'show', task[0]!.id, '--json')).stdout) as {
      phases: Array<{ name: string }>;
    };
    expect(shown.phases.map((phase) => phase.name)).toEqual(
      expect.arrayContaining(['maintenance window', 'backup', 'files', 'vhost', 'probe', 'clean-up']),
    );
    // Its backups follow it, the one taken for the rename too, and one of the old name restores.
    const backups = JSON.parse(
      (await berth('site', 'backups', 'renamed.example', '--json')).stdout,
    ) as Array<{
      id: string;
      reason: string;
      domain: string;
    }>;
    const taken = backups.find((item) => item.reason === 'rename')!;
    expect(taken.domain).toBe('copy.example');
    await berth('site', 'restore', 'renamed.example', '--backup', taken.id, '--yes');
    const restored = await web.request('renamed.example', '/');
    expect(restored.status).toBe(200);
    expect(restored.body).toContain('only on the clone');
    expect(restored.body).not.toContain('after the rename');
  });

  it('renames with --redirect: the old name answers 301 to the new one', async () => {
    await berth('site', 'rename', 'up.example', 'up2.example', '--redirect');
    const old = await web.request('up.example', '/node?x=1');
    expect(old.status).toBe(301);
    expect(old.headers.location).toBe('http://up2.example/node?x=1');
    expect((await web.request('up2.example', '/')).status).toBe(200);
    expect((await show('up2.example')).platform).toBe('fixture-10-3');
    expect(existsSync(join(root, 'sites', 'up.example'))).toBe(false);
  });

  it.each([
    ['clone', 'an invalid domain', { domain: '../x' }, 400],
    ['clone', 'a taken domain', { domain: 'orig.example' }, 409],
    ['clone', 'an unknown platform', { domain: 'new.example', platform: 'nope' }, 404],
    ['rename', 'an invalid domain', { domain: 'a b' }, 400],
    ['rename', 'a taken domain', { domain: 'renamed.example' }, 409],
    ['rename', 'its own name', { domain: 'orig.example' }, 400],
  ] as const)(
    'refuses a %s to %s with a 4xx and leaves nothing behind',
    async (action, _what, body, status) => {
      const before = await traces();
      const response = await fetch(`${master.url}/api/sites/orig.example/${action}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${master.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(status);
      expect(((await response.json()) as { message: string }).message).toBeTruthy();
      expect(await traces()).toEqual(before);
    },
  );
});
