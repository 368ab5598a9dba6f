import { existsSync, readdirSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import {
  makePlatformRepository,
  type PlatformRepository,
} from '../../../../test/fixtures/platform-repository.js';
import { runStep, stepFailure, testContext, testRoot } from '../../testing/step-context.js';
import { platformBuild, platformCommits, platformPull, platformRemove } from './build.js';
import { platformScan } from './scan.js';

/**
 * Platform builds with real git and Composer, offline: a local bare repository of fixture platforms
 * whose composer.json requires a library from a path repository, and a local Composer repository.
 */
describe('platform.build, pull, commits and remove', () => {
  let repo: PlatformRepository;
  let host: Awaited<ReturnType<typeof testRoot>>;
  const platformsDir = () => join(host.root, 'platforms');
  const git = (ref: string) => ({ kind: 'git', url: repo.url, ref });

  beforeAll(() => {
    repo = makePlatformRepository(['fixture-10.2', 'fixture-10.3']);
  });
  afterAll(() => repo?.remove());
  beforeEach(async () => {
    host = await testRoot();
  });
  afterEach(async () => {
    await host.remove();
  });

  it('clones a tag, runs composer install, and puts the tree in place with nothing beside it', async () => {
    const context = testContext(host.host);
    const built = await runStep(platformBuild, { platform: 'p102', source: git('v10.2') }, context);
    const dir = join(platformsDir(), 'p102');
    expect(built).toEqual({ path: dir, commit: repo.tags['v10.2'], composer: true });
    expect(existsSync(join(dir, 'vendor', 'autoload.php'))).toBe(true);
    expect(existsSync(join(dir, 'vendor', 'berth-fixture', 'banner', 'banner.php'))).toBe(true);
    expect(existsSync(join(dir, 'vendor', 'bin', 'drush'))).toBe(true);
    expect(readdirSync(platformsDir())).toEqual(['p102']);
    expect(context.lines.join('\n')).toContain(`checked out v10.2 at ${repo.tags['v10.2']}`);
    const scan = await runStep(platformScan, { platform: 'p102' }, testContext(host.host));
    expect(scan.coreVersion).toMatch(/^10\.2\./);
    // The build's scratch HOME and deploy key file are gone.
    expect(readdirSync(join(host.root, 'tmp'))).toEqual([]);
  });

  it('takes a branch as its origin has it', async () => {
    const built = await runStep(
      platformBuild,
      { platform: 'tip', source: git('main') },
      testContext(host.host),
    );
    expect(built.commit).toBe(repo.tags['v10.3']);
  });

  it('leaves nothing behind for a ref the repository lacks, and never builds over a directory', async () => {
    const missing = await stepFailure(
      runStep(platformBuild, { platform: 'p1', source: git('v9.9') }, testContext(host.host)),
    );
    expect(missing).toMatchObject({
      code: StepErrorCode.NotFound,
      message: expect.stringContaining('"v9.9"') as string,
    });
    expect(readdirSync(platformsDir())).toEqual([]);
    await mkdir(join(platformsDir(), 'p1'));
    const refused = await stepFailure(
      runStep(platformBuild, { platform: 'p1', source: git('v10.2') }, testContext(host.host)),
    );
    expect(refused.code).toBe(StepErrorCode.Refused);
    expect(readdirSync(join(platformsDir(), 'p1'))).toEqual([]);
  });

  it('refuses sources that could run a command or leak a password, before anything runs', async () => {
    for (const source of [
      { kind: 'git', url: '--upload-pack=touch /tmp/x', ref: 'main' },
      { kind: 'git', url: 'ext::sh -c touch% /tmp/x', ref: 'main' },
      { kind: 'git', url: 'https://user:secret@git.example/p.git', ref: 'main' },
      { kind: 'git', url: repo.url, ref: '--output=/etc/passwd' },
      { kind: 'composer-project', package: 'drupal/x', version: '--no-dev' },
    ]) {
      const refused = await stepFailure(
        runStep(platformBuild, { platform: 'p1', source }, testContext(host.host)),
      );
      expect(refused.code).toBe(StepErrorCode.InvalidParams);
    }
    // Refused at the parameters: not even the platforms directory was made.
    expect(existsSync(platformsDir())).toBe(false);
  });

  it('pulls a platform without sites to another ref, lists the commits between, and refuses with a site linked', async () => {
    await runStep(platformBuild, { platform: 'p1', source: git('v10.2') }, testContext(host.host));
    const pulled = await runStep(platformPull, { platform: 'p1', ref: 'v10.3' }, testContext(host.host));
    expect(pulled).toEqual({ commit: repo.tags['v10.3'], previous: repo.tags['v10.2'], composer: true });
    expect((await runStep(platformScan, { platform: 'p1' }, testContext(host.host))).coreVersion).toMatch(
      /^10\.3\./,
    );
    const between = await runStep(
      platformCommits,
      { platform: 'p1', from: repo.tags['v10.2'], to: repo.tags['v10.3'] },
      testContext(host.host),
    );
    expect(between).toEqual({
      commits: [{ sha: repo.tags['v10.3'], subject: 'Platform fixture-10.3' }],
      truncated: false,
    });

    await mkdir(join(host.root, 'sites', 'a.example'), { recursive: true });
    await symlink(
      join(host.root, 'sites', 'a.example'),
      join(platformsDir(), 'p1', 'web', 'sites', 'a.example'),
    );
    const refused = await stepFailure(
      runStep(platformPull, { platform: 'p1', ref: 'v10.2' }, testContext(host.host)),
    );
    expect(refused).toMatchObject({
      code: StepErrorCode.Refused,
      message: expect.stringContaining('has sites linked into it (a.example)') as string,
    });
    const kept = await stepFailure(runStep(platformRemove, { platform: 'p1' }, testContext(host.host)));
    expect(kept.code).toBe(StepErrorCode.Refused);
    expect(existsSync(join(platformsDir(), 'p1'))).toBe(true);
  });

  it('removes a platform no site is linked into, and says so when it is gone already', async () => {
    await runStep(platformBuild, { platform: 'p1', source: git('v10.2') }, testContext(host.host));
    expect(await runStep(platformRemove, { platform: 'p1' }, testContext(host.host))).toEqual({
      removed: true,
    });
    expect(await runStep(platformRemove, { platform: 'p1' }, testContext(host.host))).toEqual({
      removed: false,
    });
    expect(readdirSync(platformsDir())).toEqual([]);
  });

  it('creates a Composer project from a local Composer repository', async () => {
    const built = await runStep(
      platformBuild,
      {
        platform: 'cp',
        source: {
          kind: 'composer-project',
          package: 'berth-fixture/platform',
          version: '1.0.0',
          repository: repo.composerRepository,
        },
      },
      testContext(host.host),
    );
    expect(built).toMatchObject({ commit: null, composer: true });
    expect(existsSync(join(platformsDir(), 'cp', 'vendor', 'berth-fixture', 'banner', 'banner.php'))).toBe(
      true,
    );
    expect((await runStep(platformScan, { platform: 'cp' }, testContext(host.host))).coreVersion).toMatch(
      /^10\.2\./,
    );
  });
});
