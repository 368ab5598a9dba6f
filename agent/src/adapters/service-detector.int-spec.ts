import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessRunner } from './process-runner.js';
import { ServiceDetector } from './service-detector.js';

async function fakeProgram(dir: string, name: string, script: string): Promise<void> {
  await writeFile(join(dir, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
}

async function fakeProcess(procRoot: string, pid: number, comm: string): Promise<void> {
  await mkdir(join(procRoot, String(pid)), { recursive: true });
  await writeFile(join(procRoot, String(pid), 'comm'), `${comm}\n`);
}

describe('ServiceDetector', () => {
  it('finds programs, reads their versions and tells which daemons run', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-detect-'));
    try {
      const sbin = join(root, 'sbin');
      const bin = join(root, 'bin');
      const proc = join(root, 'proc');
      await Promise.all([mkdir(sbin), mkdir(bin), mkdir(proc)]);
      await fakeProgram(sbin, 'nginx', 'echo "nginx version: nginx/1.22.1" >&2');
      await fakeProgram(sbin, 'php-fpm8.2', 'echo "PHP 8.2.28 (fpm-fcgi)"');
      await fakeProgram(sbin, 'mariadbd', 'echo "mariadbd  Ver 10.11.11-MariaDB for debian-linux-gnu"');
      await symlink(join(sbin, 'mariadbd'), join(sbin, 'mysqld'));
      await fakeProgram(bin, 'php', 'echo "PHP 8.2.28 (cli)"; exit 1');
      await fakeProgram(bin, 'drush', 'sleep 5');
      await writeFile(join(bin, 'apache2'), 'not executable', { mode: 0o644 });
      await fakeProcess(proc, 1, 'systemd');
      await fakeProcess(proc, 812, 'php-fpm8.2');
      await fakeProcess(proc, 900, 'mariadbd');
      await mkdir(join(proc, 'self'));

      const detector = new ServiceDetector({
        runner: new ProcessRunner(),
        searchDirs: [sbin, bin],
        procRoot: proc,
        versionTimeoutMs: 300,
      });
      const started = Date.now();
      const services = await detector.detect();
      expect(Date.now() - started).toBeLessThan(1500);
      const byName = Object.fromEntries(services.map((service) => [service.name, service]));

      expect(Object.keys(byName).sort()).toEqual(['drush', 'mariadb', 'nginx', 'php', 'php-fpm']);
      expect(byName.nginx).toEqual({
        kind: 'http',
        name: 'nginx',
        version: '1.22.1',
        running: false,
        path: join(sbin, 'nginx'),
      });
      expect(byName['php-fpm']).toMatchObject({ kind: 'php', version: '8.2.28', running: true });
      expect(byName.mariadb).toMatchObject({ kind: 'db', version: '10.11.11', running: true });
      expect(byName.php).toMatchObject({ kind: 'php', version: '8.2.28', running: false });
      // drush hangs: it is reported, without a version, and detection does not wait for it.
      expect(byName.drush).toMatchObject({ kind: 'tool', version: '' });

      expect(await detector.cached()).toBe(services);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reports nothing, without failing, on a server with none of the services', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-detect-'));
    try {
      const detector = new ServiceDetector({
        runner: new ProcessRunner(),
        searchDirs: [join(root, 'missing')],
        procRoot: join(root, 'no-proc'),
      });
      expect(await detector.detect()).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('runs fast on this host', async () => {
    const detector = new ServiceDetector({ runner: new ProcessRunner() });
    const started = Date.now();
    const services = await detector.detect();
    expect(Date.now() - started).toBeLessThan(2000);
    for (const service of services) expect(['http', 'db', 'php', 'tool']).toContain(service.kind);
  });
});
