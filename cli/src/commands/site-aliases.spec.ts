import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCliHarness } from '../testing/cli-harness.js';
import type { FakeRoutes } from '../testing/fake-master.js';

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
