import { describe, expect, it } from 'vitest';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import { FilesListing, parseManifest, planEntry, safeSegments } from './site-archive.js';

function refused(header: Parameters<typeof planEntry>[0]): string {
  try {
    planEntry(header);
  } catch (error) {
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).code).toBe(StepErrorCode.UnsafeArchive);
    return (error as StepError).message;
  }
  throw new Error(`${header.name} was not refused`);
}

describe('safeSegments', () => {
  it('takes relative paths, with a leading ./ and a trailing /', () => {
    expect(safeSegments('site/files/a.txt')).toEqual(['site', 'files', 'a.txt']);
    expect(safeSegments('./site/files/')).toEqual(['site', 'files']);
    expect(safeSegments('site/a b\\c')).toEqual(['site', 'a b\\c']);
  });
  it.each([
    '',
    '/',
    '/etc/passwd',
    '../x',
    'site/../x',
    'site/./x',
    'site//x',
    'site/x/..',
    'a\0b',
    '.',
    './',
  ])('refuses %j', (name) => {
    expect(safeSegments(name)).toBeUndefined();
  });
});

describe('planEntry', () => {
  it('places the site, the database and the manifest', () => {
    expect(planEntry({ name: 'site/', type: 'directory' })).toEqual({ kind: 'site-root' });
    expect(planEntry({ name: 'site/files', type: 'directory' })).toEqual({
      kind: 'directory',
      path: 'files',
    });
    expect(planEntry({ name: 'site/files/a', type: 'file' })).toEqual({ kind: 'file', path: 'files/a' });
    expect(planEntry({ name: 'database.sql', type: 'file' })).toEqual({ kind: 'database' });
    expect(planEntry({ name: 'manifest.json', type: 'file' })).toEqual({ kind: 'manifest' });
  });

  it('keeps symlinks that stay inside the site directory', () => {
    expect(planEntry({ name: 'site/files/l', type: 'symlink', linkname: 'a/b' })).toEqual({
      kind: 'symlink',
      path: 'files/l',
      target: 'a/b',
    });
    expect(planEntry({ name: 'site/files/l', type: 'symlink', linkname: '../private/x' }).kind).toBe(
      'symlink',
    );
    expect(planEntry({ name: 'site/files/l', type: 'symlink', linkname: '..' }).kind).toBe('symlink');
  });

  it('refuses links that leave it', () => {
    expect(refused({ name: 'site/files/l', type: 'symlink', linkname: '/etc' })).toMatch(/relative links/);
    expect(refused({ name: 'site/files/l', type: 'symlink', linkname: '../../x' })).toMatch(/outside/);
    expect(refused({ name: 'site/l', type: 'symlink', linkname: '..' })).toMatch(/outside/);
    expect(refused({ name: 'site/l', type: 'symlink', linkname: '' })).toMatch(/empty/);
    expect(refused({ name: 'site/l', type: 'link', linkname: '/etc/passwd' })).toMatch(/hard link/);
    expect(refused({ name: 'site/l', type: 'link', linkname: 'site/../etc' })).toMatch(/hard link/);
    expect(refused({ name: 'site/l', type: 'link', linkname: 'database.sql' })).toMatch(/hard link/);
    expect(planEntry({ name: 'site/l', type: 'link', linkname: 'site/files/a' })).toEqual({
      kind: 'hardlink',
      path: 'l',
      target: 'files/a',
    });
  });

  it('refuses devices, FIFOs, entries outside site/ and odd top-level entries', () => {
    expect(refused({ name: 'site/dev', type: 'character-device' })).toMatch(
      /only files, directories and links/,
    );
    expect(refused({ name: 'site/dev', type: 'block-device' })).toMatch(/only files/);
    expect(refused({ name: 'site/fifo', type: 'fifo' })).toMatch(/only files/);
    expect(refused({ name: 'etc/passwd', type: 'file' })).toMatch(/outside the site directory/);
    expect(refused({ name: 'database.sql', type: 'symlink', linkname: 'x' })).toMatch(/regular file/);
    expect(refused({ name: 'site', type: 'file' })).toMatch(/must be a directory/);
    expect(refused({ name: '/site/x', type: 'file' })).toMatch(/absolute/);
  });
});

describe('parseManifest', () => {
  const files = new FilesListing().finish();
  it('reads a manifest and refuses anything else', () => {
    const manifest = {
      format: 'berth-site-archive/1',
      domain: 'a.org',
      createdAt: '',
      files,
      database: null,
    };
    expect(parseManifest(JSON.stringify(manifest))).toEqual(manifest);
    expect(() => parseManifest('{')).toThrow(/not valid JSON/);
    expect(() => parseManifest(JSON.stringify({ ...manifest, format: 'x' }))).toThrow(
      /not a berth-site-archive/,
    );
    expect(() => parseManifest(JSON.stringify({ ...manifest, database: { sha256: 1 } }))).toThrow(
      /not a berth/,
    );
    expect(() => parseManifest('null')).toThrow(/not a berth/);
  });
});
