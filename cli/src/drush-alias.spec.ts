import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  aliasNameForDomain,
  buildAliasEnvironment,
  checkAliasName,
  defaultAliasDirectory,
  renderAliasFile,
  toYaml,
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
  it('single-quotes every value, doubling quotes, so nothing turns into a number, boolean or alias', () => {
    expect(
      toYaml({
        live: { root: "/it's/here", uri: '*', host: '10', user: 'true', paths: { 'drush-script': '@x: #y' } },
      }),
    ).toBe(
      [
        'live:',
        "  root: '/it''s/here'",
        "  uri: '*'",
        "  host: '10'",
        "  user: 'true'",
        '  paths:',
        "    drush-script: '@x: #y'",
        '',
      ].join('\n'),
    );
  });

  it('refuses line breaks and control characters in values, and keys that are not plain words', () => {
    expect(() => toYaml({ live: { root: '/a\nb: c' } })).toThrow(/line break/);
    expect(() => toYaml({ live: { root: '/a\x1b[31m' } })).toThrow(/control character/);
    expect(() => toYaml({ 'a: b': 'c' })).toThrow(/not a plain word/);
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

  it('defaults to ~/.drush/sites', () => {
    expect(defaultAliasDirectory('/home/op')).toBe('/home/op/.drush/sites');
  });
});
