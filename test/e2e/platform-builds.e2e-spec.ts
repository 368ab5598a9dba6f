import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform, Site, Task } from '../../shared/src/api.js';
import type { PlatformDiff, TaskResult } from '../../shared/src/tasks.js';
import { makePlatformRepository, type PlatformRepository } from '../fixtures/platform-repository.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';

/**
 * Platforms built by Berth against a real master, agent, nginx, PHP-FPM and MariaDB, offline: a
 * local bare git repository of fixture platforms whose composer.json requires a library from a
 * Composer path repository. A build that is served, a pull refused under a site (with the leap-frog
 * to run), the leap-frog itself (new platform, each site rehearsed and moved, the old one locked),
 * the diff of the two, a failed build that leaves nothing, a deploy key that never shows.
 */
describe('platforms built from git and Composer', () => {
  let stack: HostingStack;
  let repo: PlatformRepository;
  let keyDir: string;
  const domain = 'built-one.example';

  const json = async <T>(...args: string[]): Promise<T> =>
    JSON.parse((await stack.berth(...args, '--json')).stdout) as T;
  const failure = (...args: string[]) =>
    stack.berth(...args).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
  const platformDir = (name: string) => join(stack.root, 'platforms', name);

  beforeAll(async () => {
    repo = makePlatformRepository(['fixture-10.2', 'fixture-10.3']);
    keyDir = mkdtempSync(join(tmpdir(), 'berth-deploy-key-'));
    stack = await startHostingStack({ label: 'builds', platforms: {} });
  });

  afterAll(async () => {
    await stack?.stop();
    repo?.remove();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  it('builds a platform from a git tag with composer install, and a site on it is served with the library', async () => {
    const built = await json<Task>(
      'platform',
      'build',
      'p1',
      '--git',
      repo.url,
      '--ref',
      'v10.2',
      '--server',
      'web1',
    );
    expect(built.state).toBe('succeeded');
    expect(built.result).toMatchObject({ commit: repo.tags['v10.2'], composer: true });
    expect(built.result).toMatchObject({ coreVersion: expect.stringMatching(/^10\.2\./) as string });
    const shown = await json<Platform>('platform', 'show', 'p1');
    expect(shown).toMatchObject({
      status: 'verified',
      path: platformDir('p1'),
      commit: repo.tags['v10.2'],
      source: { kind: 'git', url: repo.url, ref: 'v10.2' },
      deployKey: false,
    });
    await stack.berth('site', 'install', domain, '--platform', 'p1');
    const page = await stack.web.request(domain, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain(`<footer class="banner">${repo.banner}</footer>`);
  });

  it('refuses to pull a platform that hosts a site, naming the leap-frog to run', async () => {
    const refused = await failure('platform', 'pull', 'p1', '--ref', 'v10.3');
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toContain('hosts 1 site');
    expect(refused?.stderr).toContain('berth platform update p1 --ref v10.3');
    expect((await json<Platform>('platform', 'show', 'p1')).commit).toBe(repo.tags['v10.2']);
  });

  it('leap-frogs the site to a new platform built at the next tag: rehearsed, moved in its window, the old one locked', async () => {
    const update = await json<Task>('platform', 'update', 'p1', '--ref', 'v10.3', '--as', 'p2');
    expect(update.state).toBe('succeeded');
    const result = update.result as TaskResult<'platform.update'>;
    expect(result).toMatchObject({
      built: { platform: 'p2', commit: repo.tags['v10.3'] },
      upgrade: { migrated: 1, failed: 0 },
      locked: true,
      retired: false,
    });
    const site = await json<Site>('site', 'show', domain);
    expect(site.platform).toBe('p2');
    const migrate = (await json<Task[]>('task', 'list', '--type', 'site.migrate'))[0]!;
    const phases = (await json<Task>('task', 'show', migrate.id)).phases.map((phase) => phase.name);
    expect(phases).toEqual(expect.arrayContaining(['backup', 'rehearsal', 'offline window']));
    expect(await json<Platform>('platform', 'show', 'p1')).toMatchObject({ locked: true });
    const page = await stack.web.request(domain, '/');
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/Drupal 10\.3\.\d+ \(Berth fixture\)/);
    expect(page.body).toContain(repo.banner);
  });

  it('shows what the leap-frog brought: the packages that differ and the commit between', async () => {
    const diff = await json<Task>('platform', 'diff', 'p1', 'p2');
    const result = diff.result as PlatformDiff;
    expect(result.packages.find((row) => row.name === 'drupal')).toMatchObject({
      from: { version: expect.stringMatching(/^10\.2\./) as string },
      to: { version: expect.stringMatching(/^10\.3\./) as string },
    });
    expect(result.commits).toEqual({
      list: [{ sha: repo.tags['v10.3'], subject: 'Platform fixture-10.3' }],
      truncated: false,
    });
    expect((await stack.berth('platform', 'diff', 'p1', 'p2')).stdout).toContain('Platform fixture-10.3');
  });

  it('copies a built platform under a new name (--from-platform): its source, commit and hooks, verified', async () => {
    await stack.berth('platform', 'hooks', 'p2', 'cache:rebuild');
    const copied = await json<Task>(
      'platform',
      'build',
      'p2copy',
      '--from-platform',
      'p2',
      '--server',
      'web1',
    );
    expect(copied.state).toBe('succeeded');
    expect((await json<Task>('task', 'show', copied.id)).phases.map((phase) => phase.name)).toEqual([
      'copy',
      'scan',
    ]);
    expect(await json<Platform>('platform', 'show', 'p2copy')).toMatchObject({
      status: 'verified',
      path: platformDir('p2copy'),
      commit: repo.tags['v10.3'],
      source: { kind: 'git', url: repo.url, ref: 'v10.3' },
      deployHooks: ['cache:rebuild'],
    });
    expect(existsSync(join(platformDir('p2copy'), 'vendor', 'berth-fixture', 'banner', 'banner.php'))).toBe(
      true,
    );
    const refused = await failure(
      'platform',
      'build',
      'p3',
      '--from-platform',
      'p2',
      '--git',
      repo.url,
      '--server',
      'web1',
    );
    expect(refused?.code).toBe(2);
  });

  it('leaves nothing of a build that fails: no platform, no directory', async () => {
    const failed = await failure(
      'platform',
      'build',
      'p9',
      '--git',
      repo.url,
      '--ref',
      'v9.9',
      '--server',
      'web1',
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('the repository has no branch, tag or commit "v9.9"');
    expect((await json<Platform[]>('platform', 'list')).map((platform) => platform.name)).not.toContain('p9');
    expect(existsSync(platformDir('p9'))).toBe(false);
  });

  it('pulls a platform without sites, and keeps its deploy key out of every task, log and answer', async () => {
    // A key the local repository never asks for (it is not reached over SSH): what matters is where it goes.
    const key = `-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAtestkeyberthe2e${'A'.repeat(40)}\n-----END OPENSSH PRIVATE KEY-----\n`;
    const keyFile = join(keyDir, 'deploy-key');
    writeFileSync(keyFile, key, { mode: 0o600 });
    const built = await json<Task>(
      'platform',
      'build',
      'p3',
      '--git',
      repo.url,
      '--ref',
      'v10.2',
      '--server',
      'web1',
      '--deploy-key-file',
      keyFile,
    );
    expect(built.state).toBe('succeeded');
    const pulled = await json<Task>('platform', 'pull', 'p3', '--ref', 'v10.3');
    expect(pulled.result).toMatchObject({ commit: repo.tags['v10.3'], previous: repo.tags['v10.2'] });
    expect(await json<Platform>('platform', 'show', 'p3')).toMatchObject({
      commit: repo.tags['v10.3'],
      deployKey: true,
      coreVersion: expect.stringMatching(/^10\.3\./) as string,
    });
    const secretPart = 'testkeyberthe2e';
    for (const task of [built, pulled]) {
      expect(JSON.stringify(await json<Task>('task', 'show', task.id))).not.toContain(secretPart);
      expect((await stack.berth('task', 'log', task.id)).stdout).not.toContain(secretPart);
    }
    expect(JSON.stringify(await json<Platform[]>('platform', 'list'))).not.toContain(secretPart);
    // Nor in the master's or the agent's own output.
    expect(stack.master.process.text()).not.toContain(secretPart);
    expect(stack.agent.process.text()).not.toContain(secretPart);
  });
});
