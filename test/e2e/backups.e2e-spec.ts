import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  linkSync,
  lstatSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { type WebStack } from '../support/web-stack.js';

interface Task {
  id: string;
  state: string;
  result: Record<string, unknown> | null;
}

/**
 * A backup always restores: a site whose files/ holds what a restore refuses (links out of the
 * site, a FIFO) and what it takes differently (a setuid file, a hardlink) backs up with a warning
 * for each thing left out, and that backup restores, clones and migrates.
 */
describe('backups of a site with links, a FIFO, a setuid file and a hardlink', () => {
  let stack: HostingStack;
  let web: WebStack;
  let root: string;
  const domain = 'hostile.example';

  const berth = (...args: string[]) => stack.berth(...args);
  const task = async (...args: string[]) => {
    const { stdout, stderr } = await berth(...args, '--json');
    return { task: JSON.parse(stdout) as Task, stderr };
  };

  beforeAll(async () => {
    stack = await startHostingStack({
      label: 'backups',
      platforms: { 'fixture-10-2': 'fixture-10.2', 'fixture-10-3': 'fixture-10.3' },
    });
    ({ web, root } = stack);
    await berth('site', 'install', domain, '--platform', 'fixture-10-2');
    const files = join(root, 'sites', domain, 'files');
    writeFileSync(join(files, 'kept.txt'), 'kept');
    symlinkSync('/etc', join(files, 'absolute'));
    symlinkSync('../../../../etc', join(files, 'escaping'));
    symlinkSync('kept.txt', join(files, 'inside'));
    execFileSync('mkfifo', [join(files, 'fifo')]);
    writeFileSync(join(files, 'setuid'), '#!/bin/sh\n');
    chmodSync(join(files, 'setuid'), 0o4755);
    linkSync(join(files, 'kept.txt'), join(files, 'hardlink.txt'));
  });

  afterAll(() => stack?.stop());

  it('backs up with a warning and a manifest entry for each thing left out', async () => {
    const { task: backup, stderr } = await task('site', 'backup', domain);
    expect(backup.state).toBe('succeeded');
    const manifest = backup.result!.manifest as { skipped: Array<{ path: string; why: string }> };
    expect(manifest.skipped.map((entry) => entry.path).sort()).toEqual(
      ['files/absolute', 'files/escaping', 'files/fifo'].sort(),
    );
    // Warnings show while following the task, without --verbose.
    for (const path of ['files/absolute', 'files/escaping', 'files/fifo']) {
      expect(stderr).toContain(`warning: left out ${path}`);
    }
  });

  it("downloads the backup's files and its dump byte for byte as the store holds them; another client cannot", async () => {
    const backups = JSON.parse((await berth('site', 'backups', domain, '--json')).stdout) as Array<{
      id: string;
      reason: string;
      archiveId: string;
      databaseArchiveId: string | null;
    }>;
    const manual = backups.find((item) => item.reason === 'manual')!;
    const store = join(stack.master.dataDir, 'store', 'archives');
    const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    const saved = join(root, 'download-files.tar.gz');
    const files = JSON.parse(
      (await berth('site', 'backup-download', domain, '--backup', manual.id, '-o', saved, '--json')).stdout,
    ) as { file: string; sha256: string };
    expect(files.sha256).toBe(sha256(join(store, manual.archiveId)));
    expect(sha256(saved)).toBe(files.sha256);
    const dump = join(root, 'download-database.sql.gz');
    await berth('site', 'backup-download', domain, '--backup', manual.id, '--database', '-o', dump);
    expect(sha256(dump)).toBe(sha256(join(store, manual.databaseArchiveId!)));
    expect(execFileSync('gzip', ['-dc', dump]).toString('utf8')).toMatch(/CREATE TABLE/);

    // A client's token reaches only its own sites' backups: this site is nobody's.
    await berth('client', 'add', 'other');
    const { token } = JSON.parse((await berth('client', 'token', 'other', '--json')).stdout) as {
      token: string;
    };
    const refused = await fetch(`${stack.master.url}/api/sites/${domain}/backups/${manual.id}/archive`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(refused.status).toBe(404);
  });

  it('restores that backup: what it holds comes back, the setuid bit does not', async () => {
    const backups = JSON.parse((await berth('site', 'backups', domain, '--json')).stdout) as Array<{
      id: string;
      reason: string;
    }>;
    const manual = backups.find((item) => item.reason === 'manual')!;
    writeFileSync(join(root, 'sites', domain, 'files', 'kept.txt'), 'changed after the backup');
    const { task: restore } = await task('site', 'restore', domain, '--backup', manual.id, '--yes');
    expect(restore.state).toBe('succeeded');
    const files = join(root, 'sites', domain, 'files');
    expect(readFileSync(join(files, 'kept.txt'), 'utf8')).toBe('kept');
    expect(readFileSync(join(files, 'hardlink.txt'), 'utf8')).toBe('kept');
    expect(lstatSync(join(files, 'inside')).isSymbolicLink()).toBe(true);
    expect(statSync(join(files, 'setuid')).mode & 0o7777).toBe(0o755);
    expect(readdirSync(files)).not.toContain('fifo');
    expect(readdirSync(files)).not.toContain('absolute');
    expect((await web.request(domain, '/')).status).toBe(200);
  });

  it('clones it', async () => {
    const { task: clone } = await task('site', 'clone', domain, 'hostile-clone.example');
    expect(clone.state).toBe('succeeded');
    expect((await web.request('hostile-clone.example', '/')).status).toBe(200);
    expect(readFileSync(join(root, 'sites', 'hostile-clone.example', 'files', 'kept.txt'), 'utf8')).toBe(
      'kept',
    );
  });

  it('migrates it: rehearsed on a copy of it, then served by the new platform', async () => {
    const { task: migrate } = await task('site', 'migrate', domain, '--platform', 'fixture-10-3');
    expect(migrate.state).toBe('succeeded');
    expect((await web.request(domain, '/')).body).toContain('Drupal 10.3.0');
  });
});
