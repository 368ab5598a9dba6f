import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  aliasNameForDomain,
  buildAliasEnvironment,
  checkAliasName,
  defaultAliasDirectory,
  type DrushAliasEnvironment,
  mergeAliasFile,
  planAliasFiles,
  readAliasFile,
  renderAliasFile,
  writeAliasFile,
} from './drush-alias.js';
import { CliError } from './errors.js';

describe('alias names', () => {
  it('turns a domain into a drush site name without dots', () => {
    expect(aliasNameForDomain('www.example.com')).toBe('www-example-com');
    expect(aliasNameForDomain('shop-2.example.co.uk')).toBe('shop-2-example-co-uk');
    expect(aliasNameForDomain('a'.repeat(70) + '.example.com')).toHaveLength(63);
  });

  it('refuses names that could leave the directory or that drush reserves', () => {
    for (const bad of ['../x', 'a/b', 'a.b', '.hidden', '', 'UPPER', 'x y', '-x', 'a\nb']) {
      expect(() => checkAliasName('--name', bad), bad).toThrow(CliError);
    }
    expect(() => checkAliasName('--name', 'self')).toThrow(/reserved/);
    expect(() => checkAliasName('--name', 'none')).toThrow(/reserved/);
    expect(checkAliasName('--name', 'example-com_2')).toBe('example-com_2');
  });
});

describe('the alias environment', () => {
  it("points at the platform's docroot and drush, with the site's URI and the server to ssh to", () => {
    expect(
      buildAliasEnvironment({
        url: 'http://example.com/',
        platformPath: '/var/berth/platforms/d102',
        docroot: 'web',
        host: 'web1.example.net',
        user: 'deploy',
      }),
    ).toEqual({
      root: '/var/berth/platforms/d102/web',
      uri: 'http://example.com',
      host: 'web1.example.net',
      user: 'deploy',
      paths: { 'drush-script': '/var/berth/platforms/d102/vendor/bin/drush' },
    });
  });

  it('has no host or user for a local site, and the platform itself as root without a docroot', () => {
    expect(buildAliasEnvironment({ url: 'http://a.example/', platformPath: '/srv/p', docroot: '' })).toEqual({
      root: '/srv/p',
      uri: 'http://a.example',
      paths: { 'drush-script': '/srv/p/vendor/bin/drush' },
    });
  });
});

describe('YAML', () => {
  const where = { path: 'x.site.yml' };
  const env = (overrides: Partial<DrushAliasEnvironment> = {}): DrushAliasEnvironment => ({
    root: '/p/web',
    uri: 'http://example.com',
    paths: { 'drush-script': '/p/vendor/bin/drush' },
    ...overrides,
  });

  it('single-quotes every value, doubling quotes, so nothing turns into a number, boolean or alias', () => {
    expect(
      mergeAliasFile(
        undefined,
        {
          live: {
            host: '10',
            user: 'true',
            root: "/it's/here",
            uri: '*',
            paths: { 'drush-script': '@x: #y' },
          },
        },
        [],
        where,
      ),
    ).toBe(
      [
        'live:',
        "  host: '10'",
        "  user: 'true'",
        "  root: '/it''s/here'",
        "  uri: '*'",
        '  paths:',
        "    drush-script: '@x: #y'",
        '',
      ].join('\n'),
    );
  });

  it('refuses line breaks and control characters in values', () => {
    expect(() => mergeAliasFile(undefined, { live: env({ root: '/a\nb: c' }) }, [], where)).toThrow(
      /line break/,
    );
    expect(() => mergeAliasFile(undefined, { live: env({ root: '/a\x1b[31m' }) }, [], where)).toThrow(
      /control character/,
    );
  });

  it("replaces only Berth's environment in an existing file, keeping the others, other keys and comments", () => {
    const existing = [
      '# my aliases',
      'dev:',
      '  root: /home/me/site/web # my checkout',
      '  uri: http://site.local',
      'live:',
      '  root: /old',
      'drush:',
      '  paths:',
      '    alias-path: [a, b]',
      '',
    ].join('\n');
    const merged = mergeAliasFile(existing, { live: env() }, ['never used'], where);
    expect(merged).toContain('# my aliases\n');
    expect(merged).toContain('  root: /home/me/site/web # my checkout\n');
    expect(merged).not.toContain('/old');
    expect(merged).not.toContain('never used');
    expect(parse(merged)).toEqual({
      dev: { root: '/home/me/site/web', uri: 'http://site.local' },
      live: env(),
      drush: { paths: { 'alias-path': ['a', 'b'] } },
    });
  });

  it('writes equal environments out in full, never as a YAML anchor and alias', () => {
    const same = env();
    const text = mergeAliasFile(undefined, { a: same, b: same }, [], where);
    expect(text).not.toMatch(/[&*]a1/);
    expect(parse(text)).toEqual({ a: same, b: same });
    expect(mergeAliasFile('x: 1\n', { a: same, b: same }, [], where)).not.toMatch(/[&*]a1/);
  });

  it('adds to an empty file, or one of comments only', () => {
    expect(parse(mergeAliasFile('', { live: env() }, [], where))).toEqual({ live: env() });
    const commented = mergeAliasFile('# nothing yet\n', { live: env() }, [], where);
    expect(commented).toMatch(/^# nothing yet\n/);
    expect(parse(commented)).toEqual({ live: env() });
  });

  it('refuses a file that is not YAML, or not a map of environments, naming it', () => {
    expect(() => mergeAliasFile('live: [unclosed\n', { live: env() }, [], where)).toThrow(
      /^x\.site\.yml is not valid YAML \(line \d+: .*\): not touched$/,
    );
    expect(() => mergeAliasFile('live: 1\nlive: 2\n', { live: env() }, [], where)).toThrow(/not valid YAML/);
    expect(() => mergeAliasFile('- a\n- b\n', { live: env() }, [], where)).toThrow(
      'x.site.yml does not hold a map of environments at its top level: not touched',
    );
  });

  it('renders the whole file with a comment saying how to use it', () => {
    const text = renderAliasFile(
      'example-com',
      'live',
      { root: '/p/web', uri: 'http://example.com', paths: { 'drush-script': '/p/vendor/bin/drush' } },
      'example.com',
    );
    expect(text).toBe(
      [
        '# Drush site alias for example.com, written by `berth site aliases`.',
        '# Use it as: drush @example-com status  (or @example-com.live)',
        'live:',
        "  root: '/p/web'",
        "  uri: 'http://example.com'",
        '  paths:',
        "    drush-script: '/p/vendor/bin/drush'",
        '',
      ].join('\n'),
    );
  });
});

describe('writeAliasFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-alias-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes <name>.site.yml, creating the directory, and leaves no temporary file', async () => {
    const target = join(dir, 'drush', 'sites');
    const path = await writeAliasFile(target, 'example-com', 'live: {}\n', { force: false });
    expect(path).toBe(join(target, 'example-com.site.yml'));
    expect(await readFile(path, 'utf8')).toBe('live: {}\n');
    expect(await readdir(target)).toEqual(['example-com.site.yml']);
  });

  it('refuses to replace a file (or a symlink) unless forced', async () => {
    const path = join(dir, 'example-com.site.yml');
    await writeFile(path, 'mine\n');
    await expect(writeAliasFile(dir, 'example-com', 'new\n', { force: false })).rejects.toThrow(
      /exists already/,
    );
    expect(await readFile(path, 'utf8')).toBe('mine\n');
    await symlink('/etc/passwd', join(dir, 'other.site.yml'));
    await expect(writeAliasFile(dir, 'other', 'new\n', { force: false })).rejects.toThrow(/exists already/);

    await writeAliasFile(dir, 'example-com', 'new\n', { force: true });
    expect(await readFile(path, 'utf8')).toBe('new\n');
    expect((await readdir(dir)).sort()).toEqual(['example-com.site.yml', 'other.site.yml']);
  });

  it('refuses a name with a path in it before touching the disk', async () => {
    await mkdir(join(dir, 'sub'));
    await expect(writeAliasFile(join(dir, 'sub'), '../escape', 'x', { force: true })).rejects.toThrow(
      CliError,
    );
    expect(await readdir(dir)).toEqual(['sub']);
  });

  it('reads an existing file with its mode, nothing for none, and refuses a symlink', async () => {
    expect(await readAliasFile(join(dir, 'none.site.yml'))).toBeUndefined();
    await writeFile(join(dir, 'mine.site.yml'), 'dev: {}\n', { mode: 0o600 });
    expect(await readAliasFile(join(dir, 'mine.site.yml'))).toEqual({ text: 'dev: {}\n', mode: 0o600 });
    await symlink('/etc/passwd', join(dir, 'link.site.yml'));
    await expect(readAliasFile(join(dir, 'link.site.yml'))).rejects.toThrow(/not a regular file/);
  });

  it('defaults to ~/.drush/sites', () => {
    expect(defaultAliasDirectory('/home/op')).toBe('/home/op/.drush/sites');
  });
});

describe('planAliasFiles', () => {
  const site = (domain: string) => ({
    domain,
    url: `http://${domain}/`,
    platformPath: '/srv/p',
    docroot: 'web',
    host: 'web1',
  });

  it('plans a file per site with the one environment, or one file with an environment per site', () => {
    const sites = [site('a.example'), site('b.example')];
    const perSite = planAliasFiles(sites, { environment: 'live' });
    expect(perSite.map((file) => [file.name, Object.keys(file.environments)])).toEqual([
      ['a-example', ['live']],
      ['b-example', ['live']],
    ]);
    expect(perSite[0]!.environments.live).toEqual(buildAliasEnvironment(sites[0]!));
    const shared = planAliasFiles(sites, { environment: 'live', oneFile: 'hosting' });
    expect(shared).toHaveLength(1);
    expect(shared[0]!.name).toBe('hosting');
    expect(Object.keys(shared[0]!.environments)).toEqual(['a-example', 'b-example']);
    expect(shared[0]!.sites.map((entry) => entry.environment)).toEqual(['a-example', 'b-example']);
  });

  it('refuses two sites that make one alias name, before anything is written', () => {
    expect(() => planAliasFiles([site('a-b.example'), site('a.b-example')], { environment: 'live' })).toThrow(
      /same alias name/,
    );
    expect(() => planAliasFiles([site('a.example')], { environment: 'live', oneFile: '../x' })).toThrow(
      /--one-file/,
    );
  });
});
