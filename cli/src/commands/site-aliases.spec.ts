import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { useCliHarness } from '../testing/cli-harness.js';
import { aPlatform, aSite } from '../testing/factories.js';
import { type FakeRoutes, pagedList } from '../testing/fake-master.js';

const site = {
  id: '6f1c2d3e-0000-4000-8000-0000000000b1',
  domain: 'www.example.com',
  status: 'enabled',
  platform: 'd102',
  client: null,
  dbServer: 'web1',
  profile: 'standard',
  url: 'http://www.example.com/',
  verifiedAt: null,
  createdAt: '2025-01-01T10:00:00.000Z',
};
const platform = {
  id: '6f1c2d3e-0000-4000-8000-0000000000c1',
  name: 'd102',
  serverId: '6f1c2d3e-0000-4000-8000-0000000000aa',
  serverName: 'web1.example.net',
  path: '/var/berth/platforms/d102',
  docroot: 'web',
  coreVersion: '10.2.0',
  status: 'verified',
  locked: false,
  verifiedAt: null,
  createdAt: '2025-01-01T10:00:00.000Z',
  packages: [],
};
const routes: FakeRoutes = {
  'GET /api/sites/www.example.com': () => ({ body: { ...site, packages: [] } }),
  'GET /api/platforms/d102': () => ({ body: platform }),
};

describe('berth site aliases', () => {
  const cli = useCliHarness('aliases');
  const run = (argv: string[]) => cli.run(routes, argv);

  it("writes ~/.drush/sites/<name>.site.yml from the site's platform and server, and prints its path", async () => {
    const { code, stdout, stderr } = await run(['site', 'aliases', 'www.example.com', '--user', 'deploy']);
    expect(code).toBe(0);
    const path = join(cli.dir, '.drush', 'sites', 'www-example-com.site.yml');
    expect(stdout).toBe(`${path}\n`);
    expect(stderr).toContain('drush @www-example-com status');
    expect(await readFile(path, 'utf8')).toBe(
      [
        '# Drush site alias for www.example.com, written by `berth site aliases`.',
        '# Use it as: drush @www-example-com status  (or @www-example-com.live)',
        'live:',
        "  host: 'web1.example.net'",
        "  user: 'deploy'",
        "  root: '/var/berth/platforms/d102/web'",
        "  uri: 'http://www.example.com'",
        '  paths:',
        "    drush-script: '/var/berth/platforms/d102/vendor/bin/drush'",
        '',
      ].join('\n'),
    );
  });

  it('takes --dir, --name, --environment and --local, and prints JSON only with --json', async () => {
    const { code, stdout, stderr } = await run([
      'site',
      'aliases',
      'www.example.com',
      '--dir',
      join(cli.dir, 'project', 'drush', 'sites'),
      '--name',
      'shop',
      '--environment',
      'prod',
      '--local',
      '--json',
    ]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const path = join(cli.dir, 'project', 'drush', 'sites', 'shop.site.yml');
    expect(JSON.parse(stdout)).toEqual({
      path,
      name: 'shop',
      environment: 'prod',
      alias: {
        root: '/var/berth/platforms/d102/web',
        uri: 'http://www.example.com',
        paths: { 'drush-script': '/var/berth/platforms/d102/vendor/bin/drush' },
      },
    });
    const text = await readFile(path, 'utf8');
    expect(text).toContain('prod:\n');
    expect(text).not.toContain('host:');
  });

  it('refuses to overwrite without --force, with exit 2, and replaces with it', async () => {
    const path = join(cli.dir, 'www-example-com.site.yml');
    await writeFile(path, 'mine\n');
    const refused = await run(['site', 'aliases', 'www.example.com', '--dir', cli.dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`berth: ${path} exists already`);
    expect(await readFile(path, 'utf8')).toBe('mine\n');
    const forced = await run(['site', 'aliases', 'www.example.com', '--dir', cli.dir, '--force']);
    expect(forced.code).toBe(0);
    expect(await readFile(path, 'utf8')).toContain("uri: 'http://www.example.com'");
  });

  it('refuses a name with a dot or a slash before asking the master', async () => {
    for (const name of ['../x', 'a.b']) {
      const { code, stderr, requests } = await run([
        'site',
        'aliases',
        'www.example.com',
        '--dir',
        cli.dir,
        '--name',
        name,
      ]);
      expect(code).toBe(2);
      expect(stderr).toContain(`--name "${name}" is not valid`);
      expect(requests).toHaveLength(0);
    }
  });
});

describe('berth site aliases --all', () => {
  const cli = useCliHarness('aliases-all');
  const sites = [
    aSite({ domain: 'a.example', platform: 'd102' }),
    aSite({ domain: 'b.example', platform: 'd103', client: 'acme' }),
    aSite({ domain: 'c.example', platform: 'd102' }),
  ];
  /** Three sites, one a page, on two platforms on two web servers. */
  const routes: FakeRoutes = {
    'GET /api/sites': pagedList(sites, 1),
    'GET /api/platforms/d102': () => ({ body: aPlatform() }),
    'GET /api/platforms/d103': () => ({
      body: aPlatform({ name: 'd103', serverName: 'web2.example.net', path: '/var/berth/platforms/d103' }),
    }),
  };
  const dir = () => join(cli.dir, 'aliases');
  const file = (name: string) => join(dir(), `${name}.site.yml`);
  const read = async (name: string) => parse(await readFile(file(name), 'utf8')) as Record<string, unknown>;
  const live = (platform: string, host: string, domain: string) => ({
    host,
    root: `/var/berth/platforms/${platform}/web`,
    uri: `http://${domain}`,
    paths: { 'drush-script': `/var/berth/platforms/${platform}/vendor/bin/drush` },
  });

  it('writes a file per site, read 500 a page, merging an existing file: its other environment and keys kept', async () => {
    await mkdir(dir(), { recursive: true });
    const mine = [
      '# b, by hand',
      'dev:',
      '  root: /home/me/b/web',
      '  uri: http://b.local',
      'live:',
      '  root: /stale',
      'notes: keep me',
      '',
    ].join('\n');
    await writeFile(file('b-example'), mine, { mode: 0o600 });

    const { code, stdout, stderr, requests } = await cli.run(routes, [
      'site',
      'aliases',
      '--all',
      '--dir',
      dir(),
    ]);
    expect(code).toBe(0);
    expect(
      requests
        .filter((request) => request.path === '/api/sites')
        .map((request) => [request.query.get('limit'), request.query.get('cursor')]),
    ).toEqual([
      ['500', null],
      ['500', '@1'],
      ['500', '@2'],
    ]);
    // Each platform is asked for once.
    expect(requests.filter((request) => request.path.startsWith('/api/platforms/'))).toHaveLength(2);
    expect(stdout).toBe([file('a-example'), file('b-example'), file('c-example'), ''].join('\n'));
    expect(stderr).toContain(
      `3 sites in 3 alias files in ${dir()} (2 new, 1 merged: their other environments kept)`,
    );
    expect((await readdir(dir())).sort()).toEqual([
      'a-example.site.yml',
      'b-example.site.yml',
      'c-example.site.yml',
    ]);

    expect(await read('a-example')).toEqual({ live: live('d102', 'web1.example.net', 'a.example') });
    expect(await readFile(file('a-example'), 'utf8')).toMatch(
      /^# Drush site alias for a\.example, written by/,
    );
    expect(await read('c-example')).toEqual({ live: live('d102', 'web1.example.net', 'c.example') });
    const merged = await readFile(file('b-example'), 'utf8');
    expect(merged).toMatch(/^# b, by hand\n/);
    expect(parse(merged)).toEqual({
      dev: { root: '/home/me/b/web', uri: 'http://b.local' },
      live: live('d103', 'web2.example.net', 'b.example'),
      notes: 'keep me',
    });
    expect((await stat(file('b-example'))).mode & 0o777).toBe(0o600);
  });

  it("passes --client on, and prints every site's alias with --json", async () => {
    const { code, stdout, stderr, requests } = await cli.run(routes, [
      'site',
      'aliases',
      '--all',
      '--client',
      'acme',
      '--dir',
      dir(),
      '--environment',
      'prod',
      '--user',
      'deploy',
      '--json',
    ]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(requests[0]!.query.get('client')).toBe('acme');
    const printed = JSON.parse(stdout) as Array<{
      domain: string;
      path: string;
      name: string;
      environment: string;
    }>;
    expect(printed[0]).toEqual({
      domain: 'a.example',
      path: file('a-example'),
      name: 'a-example',
      environment: 'prod',
      alias: { ...live('d102', 'web1.example.net', 'a.example'), user: 'deploy' },
    });
    expect(printed).toHaveLength(3);
    expect(Object.keys(await read('b-example'))).toEqual(['prod']);
  });

  it('--one-file writes one file with an environment per site, keeping the environments already in it', async () => {
    await mkdir(dir(), { recursive: true });
    await writeFile(file('hosting'), 'legacy-site:\n  root: /old/web\n');
    const { code, stdout } = await cli.run(routes, [
      'site',
      'aliases',
      '--all',
      '--one-file',
      'hosting',
      '--dir',
      dir(),
    ]);
    expect(code).toBe(0);
    expect(stdout).toBe(`${file('hosting')}\n`);
    expect(await readdir(dir())).toEqual(['hosting.site.yml']);
    expect(await read('hosting')).toEqual({
      'legacy-site': { root: '/old/web' },
      'a-example': live('d102', 'web1.example.net', 'a.example'),
      'b-example': live('d103', 'web2.example.net', 'b.example'),
      'c-example': live('d102', 'web1.example.net', 'c.example'),
    });
  });

  it('refuses a file that is not valid YAML and then writes nothing at all, exit 2', async () => {
    await mkdir(dir(), { recursive: true });
    await writeFile(file('b-example'), 'live: [not closed\n');
    const { code, stderr } = await cli.run(routes, ['site', 'aliases', '--all', '--dir', dir()]);
    expect(code).toBe(2);
    expect(stderr).toContain('berth: 1 of 3 alias files cannot be merged: nothing was written');
    expect(stderr).toContain(`${file('b-example')} is not valid YAML (line `);
    expect(await readdir(dir())).toEqual(['b-example.site.yml']);
    expect(await readFile(file('b-example'), 'utf8')).toBe('live: [not closed\n');
  });

  it('leaves out deleted sites', async () => {
    const { code, stdout, stderr } = await cli.run(
      {
        ...routes,
        'GET /api/sites': pagedList([sites[0], aSite({ domain: 'gone.example', status: 'deleted' })], 1),
      },
      ['site', 'aliases', '--all', '--dir', dir()],
    );
    expect(code).toBe(0);
    expect(stdout).toBe(`${file('a-example')}\n`);
    expect(stderr).toContain('1 deleted sites get no alias.');
  });

  it.each([
    [['site', 'aliases'], 'name a site, or give --all'],
    [['site', 'aliases', 'a.example', '--all'], 'name a site or give --all, not both'],
    [['site', 'aliases', '--all', '--name', 'x'], '--name is for one site'],
    [['site', 'aliases', '--all', '--force'], '--force is for one site'],
    [['site', 'aliases', 'a.example', '--client', 'acme'], '--client goes with --all'],
    [['site', 'aliases', 'a.example', '--one-file', 'x'], '--one-file goes with --all'],
    [['site', 'aliases', '--all', '--one-file', 'x', '--environment', 'prod'], 'leave out --environment'],
  ])('berth %j: a usage error before any request', async (argv, message) => {
    const { code, stderr, requests } = await cli.run(routes, argv);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(requests).toHaveLength(0);
  });
});
