import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmod,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gunzipSync, createGzip } from 'node:zlib';
import { pack as tarPack, type Header } from 'tar-stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import { extractSiteArchive, FilesListing } from '../../adapters/site-archive.js';
import { testMariaDb } from '../../testing/mariadb.js';
import {
  MemoryArchives,
  runStep,
  stepFailure,
  testContext,
  testRoot,
  uniqueDbName,
} from '../../testing/step-context.js';
import { siteArchive } from './archive.js';
import { siteDropAside, sitePutBack } from './aside.js';
import { siteExtract } from './extract.js';
import { siteLink, siteUnlink } from './link.js';
import { chownTree } from './ownership.js';
import { siteRemove } from './remove.js';
import { siteWriteSettings } from './write-settings.js';

const PHP_HINT = 'php is not installed: run `apt-get install -y php-cli` (these tests are never skipped)';

let mariadb: Awaited<ReturnType<typeof testMariaDb>>;
let root: Awaited<ReturnType<typeof testRoot>>;
const dropAfter: string[] = [];

beforeAll(async () => {
  mariadb = await testMariaDb();
});
beforeEach(async () => {
  root = await testRoot({ dbAdminDefaults: mariadb.adminDefaults });
  await mkdir(join(root.root, 'platforms', 'p1', 'web', 'sites'), { recursive: true });
});
afterEach(async () => {
  await root.remove();
  if (dropAfter.length > 0) await mariadb.sql(dropAfter.splice(0).join('\n'));
});
afterAll(async () => {
  await mariadb?.close();
});

const domain = 'www.example.org';
const ids = () => `${randomBytes(4).toString('hex')}-5d0b-4f63-9a51-0d3b1b6f7a10`;

function settingsParams(overrides: Record<string, unknown> = {}) {
  return {
    domain,
    platformPath: join(root.root, 'platforms', 'p1'),
    database: 'site_db',
    user: 'site_user',
    dbHost: '127.0.0.1',
    dbPort: 3306,
    trustedHosts: [domain, '*.example.org'],
    ...overrides,
  };
}

async function writeSettings(password = 'pw', overrides: Record<string, unknown> = {}) {
  return runStep(
    siteWriteSettings,
    settingsParams(overrides),
    testContext(root.host, { secrets: { dbPassword: password } }),
  );
}

async function phpLint(path: string): Promise<void> {
  const result = await execa('php', ['-l', path], { reject: false }).catch((error: unknown) => {
    throw new Error(`${PHP_HINT} (${(error as Error).message})`);
  });
  if ((result as { code?: string }).code === 'ENOENT') throw new Error(PHP_HINT);
  expect(result.exitCode, result.stdout + result.stderr).toBe(0);
}

/** Every path under dir with its type and size: to prove that nothing changed. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string) => {
    for (const name of (await readdir(path)).sort()) {
      const full = join(path, name);
      const stats = await lstat(full);
      out.push(`${full} ${stats.isDirectory() ? 'd' : stats.isSymbolicLink() ? 'l' : 'f'} ${stats.size}`);
      if (stats.isDirectory()) await walk(full);
    }
  };
  await walk(dir);
  return out;
}

describe('site.write-settings', () => {
  it('writes settings.php and credentials.php outside the site directory, valid PHP, and keeps the hash salt', async () => {
    const password = `p'w\\"$x${randomBytes(6).toString('hex')}`;
    const first = await writeSettings(password);
    const siteDir = join(root.root, 'sites', domain);
    expect(first).toEqual({
      settingsPath: join(siteDir, 'settings.php'),
      credentialsPath: join(root.root, 'config', 'sites', domain, 'credentials.php'),
      hashSaltSource: 'generated',
    });
    const settings = await readFile(first.settingsPath, 'utf8');
    const credentials = await readFile(first.credentialsPath, 'utf8');
    expect(settings).not.toContain(password);
    expect(settings).toContain(`$settings['file_public_path'] = 'sites/${domain}/files';`);
    expect(settings).toContain(`$settings['file_private_path'] = '${siteDir}/private';`);
    expect(settings).toContain(`$settings['config_sync_directory'] = is_dir('${siteDir}/config/sync')`);
    expect(settings).toContain(`: '${siteDir}/private/config/sync';`);
    expect(settings).toContain(`$berth_credentials = '${first.credentialsPath}';`);
    expect(settings).toContain('require $berth_credentials;');
    expect((await stat(first.credentialsPath)).mode & 0o777).toBe(0o640);
    for (const dir of ['files', 'private', 'private/config/sync'])
      expect((await stat(join(siteDir, dir))).isDirectory()).toBe(true);
    await phpLint(first.settingsPath);
    await phpLint(first.credentialsPath);

    // PHP reads back exactly what was given, the password's quotes and backslashes included.
    const { stdout } = await execa('php', [
      '-r',
      `$app_root = '/'; $site_path = ''; require '${first.settingsPath}'; echo json_encode([$databases['default']['default']['password'], $settings['trusted_host_patterns']]);`,
    ]);
    const [readPassword, patterns] = JSON.parse(stdout) as [string, string[]];
    expect(readPassword).toBe(password);
    expect(patterns).toEqual(['^www\\.example\\.org$', '^.+\\.example\\.org$']);
    expect(credentials).toContain("'database' => 'site_db'");

    const salt = /hash_salt'\] = '([^']+)'/.exec(settings)?.[1];
    expect(salt?.length).toBeGreaterThanOrEqual(64);
    const second = await writeSettings('other');
    expect(second.hashSaltSource).toBe('kept');
    expect(await readFile(second.settingsPath, 'utf8')).toContain(`'${salt}'`);
    const given = 'G'.repeat(40);
    expect((await writeSettings('other', { hashSalt: given })).hashSaltSource).toBe('params');
    expect(await readFile(second.settingsPath, 'utf8')).toContain(`'${given}'`);
    // No temp file is left beside them.
    expect((await readdir(siteDir)).sort()).toEqual(['files', 'private', 'settings.php']);
  });

  it('finds the platform by name under its own root (a head of a cluster), and refuses one it lacks', async () => {
    const byName = await writeSettings('pw', { platformPath: undefined, platform: 'p1' });
    expect(byName.settingsPath).toBe(join(root.root, 'sites', domain, 'settings.php'));
    const missing = await stepFailure(writeSettings('pw', { platformPath: undefined, platform: 'nowhere' }));
    expect(missing.code).toBe(StepErrorCode.NotFound);
    expect(missing.message).toContain(join(root.root, 'platforms', 'nowhere'));
  });

  it('refuses a platform path outside <root>/platforms, bad hosts and a missing password', async () => {
    for (const [overrides, field] of [
      [{ platformPath: '/etc' }, /platformPath/],
      [{ platform: 'p1' }, /by platformPath or by platform/],
      [{ platformPath: undefined }, /by platformPath or by platform/],
      [{ platformPath: undefined, platform: '../p1' }, /platform/],
      [{ trustedHosts: ['ex ample.org'] }, /trustedHosts\[0\]/],
      [{ trustedHosts: [] }, /trustedHosts/],
      [{ dbHost: 'db;rm' }, /dbHost/],
      [{ hashSalt: "x'" }, /hashSalt/],
    ] as const) {
      const error = await stepFailure(writeSettings('pw', overrides));
      expect(error.code).toBe(StepErrorCode.InvalidParams);
      expect(error.message).toMatch(field);
    }
    const missing = await stepFailure(runStep(siteWriteSettings, settingsParams(), testContext(root.host)));
    expect(missing.message).toMatch(/dbPassword/);
  });
});

describe('site.link and site.unlink', () => {
  it('links the site into the platform atomically, twice, creates sites.php only when missing, and unlinks', async () => {
    await writeSettings();
    const params = { domain, platform: 'p1' };
    const link = join(root.root, 'platforms', 'p1', 'web', 'sites', domain);
    const target = join(root.root, 'sites', domain);
    expect(await runStep(siteLink, params, testContext(root.host))).toEqual({ link, target });
    expect(await runStep(siteLink, params, testContext(root.host))).toEqual({ link, target });
    expect(await readlink(link)).toBe(target);
    const sitesPhp = join(dirname(link), 'sites.php');
    expect(await readFile(sitesPhp, 'utf8')).toContain('multi-site lookup');
    await phpLint(sitesPhp);
    await writeFile(sitesPhp, "<?php\n$sites['x'] = 'y';\n");
    await runStep(siteLink, params, testContext(root.host));
    expect(await readFile(sitesPhp, 'utf8')).toBe("<?php\n$sites['x'] = 'y';\n");

    expect(await runStep(siteUnlink, params, testContext(root.host))).toEqual({ link, removed: true });
    expect(await runStep(siteUnlink, params, testContext(root.host))).toEqual({ link, removed: false });
  });

  it('replaces a stale link, refuses a real directory, and needs the platform and the site', async () => {
    await writeSettings();
    const link = join(root.root, 'platforms', 'p1', 'web', 'sites', domain);
    await symlink('/nonexistent', link);
    await runStep(siteLink, { domain, platform: 'p1' }, testContext(root.host));
    expect(await readlink(link)).toBe(join(root.root, 'sites', domain));

    const other = 'other.example.org';
    await writeSettings('pw', { domain: other, trustedHosts: [other] });
    await mkdir(join(root.root, 'platforms', 'p1', 'web', 'sites', other));
    const refused = await stepFailure(
      runStep(siteLink, { domain: other, platform: 'p1' }, testContext(root.host)),
    );
    expect(refused.code).toBe(StepErrorCode.Refused);
    const noPlatform = await stepFailure(
      runStep(siteLink, { domain, platform: 'p2' }, testContext(root.host)),
    );
    expect(noPlatform.code).toBe(StepErrorCode.NotFound);
    const noSite = await stepFailure(
      runStep(siteLink, { domain: 'none.example.org', platform: 'p1' }, testContext(root.host)),
    );
    expect(noSite.code).toBe(StepErrorCode.NotFound);
  });
});

describe('site.archive and site.extract', () => {
  async function seedSite(): Promise<string> {
    await writeSettings('the-db-password-123');
    const siteDir = join(root.root, 'sites', domain);
    await writeFile(join(siteDir, 'files', 'a.txt'), 'hello');
    await mkdir(join(siteDir, 'files', 'deep', 'er'), { recursive: true });
    await writeFile(join(siteDir, 'files', 'deep', 'er', 'big.bin'), randomBytes(3 * 1024 * 1024));
    await writeFile(join(siteDir, 'files', 'deep', 'empty'), '');
    await writeFile(join(siteDir, 'files', `long-${'n'.repeat(150)}.txt`), 'long name');
    await writeFile(join(siteDir, 'files', 'exec.sh'), '#!/bin/sh\n', { mode: 0o750 });
    await symlink('deep/er/big.bin', join(siteDir, 'files', 'link-to-big'));
    await writeFile(join(siteDir, 'private', 'secret.txt'), 'private file');
    return siteDir;
  }

  async function seedDatabase(): Promise<string> {
    const database = uniqueDbName('arch');
    dropAfter.push(`DROP DATABASE IF EXISTS \`${database}\`;`);
    await mariadb.sql(
      `CREATE DATABASE \`${database}\`; USE \`${database}\`; CREATE TABLE node (nid INT PRIMARY KEY, title TEXT);
       INSERT INTO node SELECT seq, CONCAT('node ', seq) FROM seq_1_to_500;`,
    );
    return database;
  }

  it('round-trips files and database; the manifest matches; no password and no settings.php in the archive', async () => {
    const siteDir = await seedSite();
    const source = await seedDatabase();
    const archives = new MemoryArchives();
    const archiveId = ids();
    const archived = await runStep(
      siteArchive,
      { domain, archiveId, includeDatabase: { database: source } },
      testContext(root.host, { archives }),
    );
    const bytes = archives.archives.get(archiveId) ?? Buffer.alloc(0);
    expect(archived.bytes).toBe(bytes.length);
    expect(archived.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(archived.manifest).toMatchObject({
      format: 'berth-site-archive/1',
      domain,
      database: { database: source },
    });
    const tar = gunzipSync(bytes);
    expect(tar.includes('the-db-password-123')).toBe(false);
    expect(bytes.includes('the-db-password-123')).toBe(false);
    expect(tar.includes('hash_salt')).toBe(false);
    expect((await readdir(join(root.root, 'tmp'))).length).toBe(0);

    // Restore as a new site into a new database.
    const target = uniqueDbName('restored');
    dropAfter.push(`DROP DATABASE IF EXISTS \`${target}\`;`);
    await mariadb.sql(`CREATE DATABASE \`${target}\`;`);
    const newDomain = 'clone.example.org';
    const progress: Array<{ phase: string; done: number; total: number }> = [];
    const extracted = await runStep(
      siteExtract,
      { domain, archiveId, targetDomain: newDomain, importDatabase: { database: target } },
      {
        ...testContext(root.host, { archives }),
        progress: (phase, done, total) => progress.push({ phase, done, total }),
      },
    );
    expect(extracted).toMatchObject({ files: 6, databaseImported: true, manifest: archived.manifest });
    // One phase with the archive's size as its total, so that a follower can show an ETA.
    expect(new Set(progress.map(({ phase, total }) => `${phase} of ${total}`))).toEqual(
      new Set([`download of ${bytes.length}`]),
    );
    expect(progress.at(-1)?.done).toBe(bytes.length);
    const restored = join(root.root, 'sites', newDomain);
    for (const file of [
      'files/a.txt',
      'files/deep/er/big.bin',
      'files/deep/empty',
      'private/secret.txt',
      `files/long-${'n'.repeat(150)}.txt`,
    ]) {
      expect((await readFile(join(restored, file))).equals(await readFile(join(siteDir, file)))).toBe(true);
    }
    expect(await readlink(join(restored, 'files', 'link-to-big'))).toBe('deep/er/big.bin');
    expect((await stat(join(restored, 'files', 'exec.sh'))).mode & 0o777).toBe(0o750);
    expect(await readdir(restored)).not.toContain('settings.php');
    expect(await mariadb.sql(`SELECT COUNT(*) FROM \`${target}\`.node;`)).toBe('500');
    // Only the new site directory appeared: no temp directory is left.
    expect((await readdir(join(root.root, 'sites'))).sort()).toEqual([newDomain, domain].sort());

    // Restore in place: the files come back, the site's own settings.php stays.
    const settingsBefore = await readFile(join(siteDir, 'settings.php'), 'utf8');
    await writeFile(join(siteDir, 'files', 'a.txt'), 'changed since the backup');
    await writeFile(join(siteDir, 'files', 'new.txt'), 'added since the backup');
    await runStep(
      siteExtract,
      { domain, archiveId, importDatabase: null },
      testContext(root.host, { archives }),
    );
    expect(await readFile(join(siteDir, 'files', 'a.txt'), 'utf8')).toBe('hello');
    expect(await readdir(join(siteDir, 'files'))).not.toContain('new.txt');
    expect(await readFile(join(siteDir, 'settings.php'), 'utf8')).toBe(settingsBefore);
  });

  it('sets the site directory it replaces aside, archives it from there as the site, puts it back, drops it', async () => {
    const siteDir = await seedSite();
    const archives = new MemoryArchives();
    const backupId = ids();
    await runStep(
      siteArchive,
      { domain, archiveId: backupId, includeDatabase: null },
      testContext(root.host, { archives }),
    );
    // What a restore replaces: the site as it is now.
    await writeFile(join(siteDir, 'files', 'a.txt'), 'the state before the restore');
    const settings = await readFile(join(siteDir, 'settings.php'), 'utf8');
    const aside = 'pre-restore-0123456789abcdef';
    const asideDir = join(root.root, 'sites', `.aside-${aside}`);

    await runStep(
      siteExtract,
      { domain, archiveId: backupId, importDatabase: null, setAsideAs: aside },
      testContext(root.host, { archives }),
    );
    expect(await readFile(join(siteDir, 'files', 'a.txt'), 'utf8')).toBe('hello');
    expect(await readFile(join(asideDir, 'files', 'a.txt'), 'utf8')).toBe('the state before the restore');
    expect(await readFile(join(siteDir, 'settings.php'), 'utf8')).toBe(settings);
    // Never set aside over another one.
    const again = await stepFailure(
      runStep(
        siteExtract,
        { domain, archiveId: backupId, importDatabase: null, setAsideAs: aside },
        testContext(root.host, { archives }),
      ),
    );
    expect(again.code).toBe(StepErrorCode.Refused);

    // Archived as the site's (its domain in the manifest), from where it was set aside.
    const preId = ids();
    const archived = await runStep(
      siteArchive,
      { domain, archiveId: preId, includeDatabase: null, aside },
      testContext(root.host, { archives }),
    );
    expect(archived.manifest.domain).toBe(domain);
    const tar = gunzipSync(archives.archives.get(preId)!);
    expect(tar.includes('the state before the restore')).toBe(true);

    // Put back (a restore that failed): the state before in place; then nothing to put back.
    expect(await runStep(sitePutBack, { domain, aside }, testContext(root.host))).toEqual({ putBack: true });
    expect(await readFile(join(siteDir, 'files', 'a.txt'), 'utf8')).toBe('the state before the restore');
    expect(await runStep(sitePutBack, { domain, aside }, testContext(root.host))).toEqual({ putBack: false });
    expect((await readdir(join(root.root, 'sites'))).sort()).toEqual([domain]);

    // Dropped once archived; a name that is not one is refused.
    await runStep(
      siteExtract,
      { domain, archiveId: backupId, importDatabase: null, setAsideAs: aside },
      testContext(root.host, { archives }),
    );
    expect(await runStep(siteDropAside, { aside }, testContext(root.host))).toEqual({ removed: true });
    expect(await runStep(siteDropAside, { aside }, testContext(root.host))).toEqual({ removed: false });
    expect((await readdir(join(root.root, 'sites'))).sort()).toEqual([domain]);
    await expect(runStep(siteDropAside, { aside: '../../etc' }, testContext(root.host))).rejects.toThrow(
      /aside/,
    );
  });

  it('copies a site to another directory, then only what changed since in a delta: changes, additions, deletions, a link replaced by a directory', async () => {
    const siteDir = await seedSite();
    const archives = new MemoryArchives();
    const full = ids();
    const archived = await runStep(
      siteArchive,
      { domain, archiveId: full, includeDatabase: null },
      testContext(root.host, { archives }),
    );
    const copy = 'moved.example.org';
    await runStep(
      siteExtract,
      { domain, archiveId: full, targetDomain: copy, importDatabase: null },
      testContext(root.host, { archives }),
    );
    const copied = join(root.root, 'sites', copy);
    await writeFile(join(copied, 'settings.php'), "<?php // the copy's own settings");

    // What the site does while the copy is made, and after.
    await writeFile(join(siteDir, 'files', 'a.txt'), 'changed after the copy');
    await writeFile(join(siteDir, 'files', 'new.txt'), 'added after the copy');
    await execa('rm', ['-r', join(siteDir, 'files', 'deep', 'er')]);
    await execa('rm', [join(siteDir, 'files', 'link-to-big')]);
    await mkdir(join(siteDir, 'files', 'link-to-big'));
    await writeFile(join(siteDir, 'files', 'link-to-big', 'inside.txt'), 'a directory now');

    const delta = ids();
    const changed = await runStep(
      siteArchive,
      { domain, archiveId: delta, includeDatabase: null, changedSince: archived.startedAt },
      testContext(root.host, { archives }),
    );
    expect(changed.manifest.delta?.since).toBe(archived.startedAt);
    // The big file that did not change is not in the delta.
    expect(changed.bytes).toBeLessThan(archived.bytes / 10);
    // A delta never restores as a whole site, and a full archive never merges.
    await expect(
      runStep(
        siteExtract,
        { domain, archiveId: delta, targetDomain: 'other.example.org', importDatabase: null },
        testContext(root.host, { archives }),
      ),
    ).rejects.toThrow(/a delta is merged into the copy|is a delta/);
    await expect(
      runStep(
        siteExtract,
        { domain, archiveId: full, targetDomain: copy, importDatabase: null, delta: true },
        testContext(root.host, { archives }),
      ),
    ).rejects.toThrow(/is a full archive, not a delta/);

    await runStep(
      siteExtract,
      { domain, archiveId: delta, targetDomain: copy, importDatabase: null, delta: true },
      testContext(root.host, { archives }),
    );
    const tree = async (dir: string) => {
      const found: string[] = [];
      const walk = async (relative: string): Promise<void> => {
        for (const name of (await readdir(join(dir, relative))).sort()) {
          const path = relative ? `${relative}/${name}` : name;
          if (path === 'settings.php') continue;
          const stats = await lstat(join(dir, path));
          if (stats.isDirectory()) {
            found.push(`d ${path}`);
            await walk(path);
          } else if (stats.isSymbolicLink()) found.push(`l ${path} ${await readlink(join(dir, path))}`);
          else
            found.push(
              `f ${path} ${createHash('sha256')
                .update(await readFile(join(dir, path)))
                .digest('hex')}`,
            );
        }
      };
      await walk('');
      return found;
    };
    expect(await tree(copied)).toEqual(await tree(siteDir));
    // present.list: every path of the site directory but settings.php, the unchanged ones too.
    expect(changed.manifest.delta?.present).toBe((await tree(siteDir)).length);
    expect(await readFile(join(copied, 'settings.php'), 'utf8')).toBe("<?php // the copy's own settings");
    expect((await readdir(join(root.root, 'sites'))).sort()).toEqual([copy, domain].sort());
  });

  it('refuses an archive of another domain, and leaves the target as it was', async () => {
    await seedSite();
    const archives = new MemoryArchives();
    const archiveId = ids();
    await runStep(
      siteArchive,
      { domain, archiveId, includeDatabase: null },
      testContext(root.host, { archives }),
    );
    const before = await snapshot(root.root);
    const error = await stepFailure(
      runStep(
        siteExtract,
        { domain: 'other.example.org', archiveId, importDatabase: null },
        testContext(root.host, { archives }),
      ),
    );
    expect(error.code).toBe(StepErrorCode.UnsafeArchive);
    expect(await snapshot(root.root)).toEqual(before);
  });

  /** A gzipped tar with the given entries (content for files), as an attacker would make it. */
  /** The manifest.json of an archive of `domain`'s files with this listing, and no database. */
  function manifestOf(listing: FilesListing): string {
    return JSON.stringify({
      format: 'berth-site-archive/1',
      domain,
      createdAt: new Date().toISOString(),
      files: listing.finish(),
      database: null,
    });
  }

  async function hostileArchive(
    entries: { header: Header | (Partial<Header> & { name: string }); content?: string }[],
  ) {
    const pack = tarPack();
    const gzip = createGzip();
    const out = buffer(pack.pipe(gzip));
    for (const { header, content } of entries) {
      await new Promise<void>((resolve, reject) =>
        pack.entry(header, content ?? '', (error) => (error ? reject(error) : resolve())),
      );
    }
    pack.finalize();
    return out;
  }

  it.each([
    ['a ../ path', [{ header: { name: 'site/files/../../../x' }, content: 'x' }]],
    ['a path through .. at the top', [{ header: { name: '../x' }, content: 'x' }]],
    ['an absolute path', [{ header: { name: '/etc/x' }, content: 'x' }]],
    ['an entry outside site/', [{ header: { name: 'other/x' }, content: 'x' }]],
    ['a symlink to /etc', [{ header: { name: 'site/files/etc', type: 'symlink', linkname: '/etc' } }]],
    [
      'a relative symlink out',
      [{ header: { name: 'site/files/up', type: 'symlink', linkname: '../../../etc' } }],
    ],
    [
      'a file written through an inner symlink',
      [
        { header: { name: 'site/files/in', type: 'symlink', linkname: '.' } },
        { header: { name: 'site/files/in/x' }, content: 'x' },
      ],
    ],
    ['a hardlink out', [{ header: { name: 'site/files/passwd', type: 'link', linkname: '/etc/passwd' } }]],
    [
      'a hardlink to ../',
      [{ header: { name: 'site/files/passwd', type: 'link', linkname: 'site/../../etc/passwd' } }],
    ],
    [
      'a character device',
      [{ header: { name: 'site/files/null', type: 'character-device', devmajor: 1, devminor: 3 } }],
    ],
    ['a FIFO', [{ header: { name: 'site/files/fifo', type: 'fifo' } }]],
    [
      'a file twice (the second would follow what the first made)',
      [
        { header: { name: 'site/files/a' }, content: 'x' },
        { header: { name: 'site/files/a' }, content: 'y' },
      ],
    ],
  ] as const)('refuses %s, writes nothing outside its temp dir and removes it', async (_case, entries) => {
    await seedSite();
    const archives = new MemoryArchives();
    const archiveId = ids();
    archives.archives.set(
      archiveId,
      await hostileArchive([
        { header: { name: 'site/', type: 'directory' } },
        ...entries.map((entry) => ({ ...entry })),
      ]),
    );
    const parent = dirname(root.root);
    const outside = (await readdir(parent)).sort();
    const before = await snapshot(root.root);
    const error = await stepFailure(
      runStep(siteExtract, { domain, archiveId, importDatabase: null }, testContext(root.host, { archives })),
    );
    expect(error.code).toBe(StepErrorCode.UnsafeArchive);
    expect(await snapshot(root.root)).toEqual(before);
    expect((await readdir(parent)).sort()).toEqual(outside);
  });

  it('refuses an archive without a manifest, and one whose files do not match it', async () => {
    await seedSite();
    const archives = new MemoryArchives();
    const noManifest = ids();
    archives.archives.set(
      noManifest,
      await hostileArchive([{ header: { name: 'site/files/a' }, content: 'a' }]),
    );
    const listing = new FilesListing();
    listing.add('f', 'files/a', 1, createHash('sha256').update('a').digest('hex'));
    const manifest = manifestOf(listing);
    const tampered = ids();
    archives.archives.set(
      tampered,
      await hostileArchive([
        { header: { name: 'site/files/a' }, content: 'b' },
        { header: { name: 'manifest.json' }, content: manifest },
      ]),
    );
    const before = await snapshot(root.root);
    for (const archiveId of [noManifest, tampered]) {
      const error = await stepFailure(
        runStep(
          siteExtract,
          { domain, archiveId, importDatabase: null },
          testContext(root.host, { archives }),
        ),
      );
      expect(error.code).toBe(StepErrorCode.UnsafeArchive);
    }
    expect(await snapshot(root.root)).toEqual(before);
  });

  it('refuses a chain of links each inside by its text that leads out, and changes nothing outside, ownership included', async () => {
    await seedSite();
    const archives = new MemoryArchives();
    // files/l -> .  files/u -> l/..  (the site directory)  files/u2 -> u/..  (the sites directory)
    const links: Array<[string, string]> = [
      ['files/l', '.'],
      ['files/u', 'l/..'],
      ['files/u2', 'u/..'],
    ];
    const listing = new FilesListing();
    listing.add('d', 'files', 0, '-');
    for (const [path, target] of links) listing.add('l', path, 0, target);
    const manifest = manifestOf(listing);
    const chain = ids();
    archives.archives.set(
      chain,
      await hostileArchive([
        { header: { name: 'site/', type: 'directory' } },
        { header: { name: 'site/files/', type: 'directory' } },
        ...links.map(([path, target]) => ({
          header: { name: `site/${path}`, type: 'symlink' as const, linkname: target },
        })),
        { header: { name: 'manifest.json' }, content: manifest },
      ]),
    );
    const sites = join(root.root, 'sites');
    const before = await snapshot(root.root);
    const owner = (await stat(sites)).uid;
    const error = await stepFailure(
      runStep(
        siteExtract,
        { domain, archiveId: chain, targetDomain: 'chain.example.org', importDatabase: null },
        testContext(root.host, { archives }),
      ),
    );
    expect(error.code).toBe(StepErrorCode.UnsafeArchive);
    expect(error.message).toMatch(/site\/files\/u2.*leads outside the site directory through other links/);
    expect(await snapshot(root.root)).toEqual(before);
    expect((await stat(sites)).uid).toBe(owner);
  });

  it('leaves out of a backup what a restore would refuse, with a warning and a list in the manifest, and that backup restores', async () => {
    const siteDir = await seedSite();
    const files = join(siteDir, 'files');
    await symlink('/etc', join(files, 'absolute'));
    await symlink('../../../etc', join(files, 'escaping'));
    await symlink('.', join(files, 'l'));
    await symlink('l/..', join(files, 'u'));
    await symlink('u/..', join(files, 'u2'));
    await execa('mkfifo', [join(files, 'fifo')]);
    await writeFile(join(files, 'setuid'), '#!/bin/sh\n', { mode: 0o755 });
    await chmod(join(files, 'setuid'), 0o4755);
    await link(join(files, 'a.txt'), join(files, 'hardlink.txt'));
    const archives = new MemoryArchives();
    const archiveId = ids();
    const context = testContext(root.host, { archives });
    const archived = await runStep(siteArchive, { domain, archiveId, includeDatabase: null }, context);
    expect(archived.manifest.skipped?.map((entry) => entry.path).sort()).toEqual(
      ['files/absolute', 'files/escaping', 'files/fifo', 'files/u2'].sort(),
    );
    for (const path of ['files/absolute', 'files/escaping', 'files/fifo', 'files/u2']) {
      expect(context.lines.some((line) => line.startsWith(`agent: warning: left out ${path}: `))).toBe(true);
    }

    const restored = join(root.root, 'sites', 'restored.example.org');
    await runStep(
      siteExtract,
      { domain, archiveId, targetDomain: 'restored.example.org', importDatabase: null },
      testContext(root.host, { archives }),
    );
    expect(await readlink(join(restored, 'files', 'l'))).toBe('.');
    expect(await readlink(join(restored, 'files', 'u'))).toBe('l/..');
    expect(await readFile(join(restored, 'files', 'hardlink.txt'), 'utf8')).toBe('hello');
    // Restored, without its setuid bit.
    expect((await stat(join(restored, 'files', 'setuid'))).mode & 0o7777).toBe(0o755);
    for (const name of ['absolute', 'escaping', 'fifo', 'u2']) {
      expect(await readdir(join(restored, 'files'))).not.toContain(name);
    }
  });

  it('gives the web user files/ and private/ without following a link anywhere', async () => {
    const site = join(root.root, 'chown-site');
    const outside = join(root.root, 'outside');
    await mkdir(join(site, 'private', 'deep'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'passwd'), "not the site's");
    await symlink(outside, join(site, 'files'));
    await symlink(join(outside, 'passwd'), join(site, 'private', 'deep', 'link'));
    await chownTree(site, ['files', 'private'], { uid: 65534, gid: 65534 });
    for (const path of [outside, join(outside, 'passwd')]) expect((await stat(path)).uid).toBe(0);
    expect((await lstat(join(site, 'files'))).uid).toBe(0);
    for (const path of ['private', 'private/deep', 'private/deep/link']) {
      expect((await lstat(join(site, path))).uid, path).toBe(65534);
    }
  });

  it('extracts a hardlink to a file of the site', async () => {
    const dir = join(root.root, 'x');
    await mkdir(dir);
    const pack = tarPack();
    const entries: [Partial<Header> & { name: string }, string][] = [
      [{ name: 'site/files/a' }, 'a'],
      [{ name: 'site/files/b', type: 'link', linkname: 'site/files/a' }, ''],
    ];
    const listing = new FilesListing();
    listing.add('f', 'files/a', 1, createHash('sha256').update('a').digest('hex'));
    listing.add('h', 'files/b', 0, 'files/a');
    const manifest = {
      format: 'berth-site-archive/1',
      domain,
      createdAt: '',
      files: listing.finish(),
      database: null,
    };
    entries.push([{ name: 'manifest.json' }, JSON.stringify(manifest)]);
    const { extract } = await import('tar-stream');
    const extractor = extract();
    pack.pipe(extractor);
    const done = extractSiteArchive(extractor, dir, { onDatabase: () => Promise.resolve() });
    for (const [header, content] of entries) {
      await new Promise<void>((resolve, reject) =>
        pack.entry(header, content, (error) => (error ? reject(error) : resolve())),
      );
    }
    pack.finalize();
    expect((await done).files).toBe(1);
    expect((await stat(join(dir, 'files', 'b'))).ino).toBe((await stat(join(dir, 'files', 'a'))).ino);
  });
});

describe('site.remove', () => {
  it('removes the site and config directories and the platform links, twice', async () => {
    await writeSettings();
    await runStep(siteLink, { domain, platform: 'p1' }, testContext(root.host));
    const first = await runStep(siteRemove, { domain }, testContext(root.host));
    expect(first.removed).toEqual([
      join(root.root, 'platforms', 'p1', 'web', 'sites', domain),
      join(root.root, 'sites', domain),
      join(root.root, 'config', 'sites', domain),
    ]);
    expect(await runStep(siteRemove, { domain }, testContext(root.host))).toEqual({ removed: [] });
    expect(await readdir(join(root.root, 'sites'))).toEqual([]);
  });

  it('refuses names that are not domains', async () => {
    for (const bad of ['..', '.', '', 'a/b', '../etc']) {
      expect((await stepFailure(runStep(siteRemove, { domain: bad }, testContext(root.host)))).code).toBe(
        StepErrorCode.InvalidParams,
      );
    }
  });
});
