import { execFileSync } from 'node:child_process';
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
