import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import {
  makeSiteRepository,
  siteFeatureReleases,
  type SiteRepository,
} from '../../../../test/fixtures/site-repository.js';
import { runStep, stepFailure, testContext, testRoot } from '../../testing/step-context.js';
import { siteCodeCheckout, siteCodeFetch, siteCodeInit } from './code.js';

/** A site's own repository checked out into its directory with real git, from a local bare repository. */
describe('site code steps', () => {
  let root: Awaited<ReturnType<typeof testRoot>>;
  let repository: SiteRepository;
  const domain = 'code.test';
  let siteDir: string;

  beforeAll(async () => {
    root = await testRoot();
    repository = makeSiteRepository(siteFeatureReleases());
    siteDir = join(root.root, 'sites', domain);
    // A site as site.write-settings and Drupal leave it: settings, uploads, private files.
    await mkdir(join(siteDir, 'files'), { recursive: true });
    await mkdir(join(siteDir, 'private'), { recursive: true });
    await writeFile(join(siteDir, 'settings.php'), '<?php // Berth\n');
    await writeFile(join(siteDir, 'files', 'upload.jpg'), 'an upload');
  });

  afterAll(async () => {
    repository?.remove();
    await root?.remove();
  });

  const run = <T>(handler: Parameters<typeof runStep>[0], params: unknown) =>
    runStep(handler, params, testContext(root.host)) as Promise<T>;

  it('refuses a site without a repository when no URL is given', async () => {
    const failure = await stepFailure(run(siteCodeFetch, { domain, ref: 'r1' }));
    expect(failure.code).toBe(StepErrorCode.Refused);
    expect(failure.message).toMatch(/no repository of its own/);
  });

  it('makes the site directory a repository, checks a release out, and leaves settings and uploads alone', async () => {
    const fetched = await run<{ commit: string; current: string | null }>(siteCodeFetch, {
      domain,
      ref: 'r1',
      url: repository.url,
    });
    expect(fetched).toEqual({ commit: repository.tags.r1, current: null });
    // Fetching changes no file.
    expect(existsSync(join(siteDir, 'modules'))).toBe(false);

    expect(await run(siteCodeCheckout, { domain, commit: fetched.commit })).toEqual({
      commit: repository.tags.r1,
      previous: null,
    });
    expect(await readFile(join(siteDir, 'config', 'sync', 'system.site.yml'), 'utf8')).toMatch(/Release one/);
    expect(await readFile(join(siteDir, 'settings.php'), 'utf8')).toBe('<?php // Berth\n');
    expect(await readFile(join(siteDir, 'files', 'upload.jpg'), 'utf8')).toBe('an upload');
    // git status shows the site's code only.
    expect(
      execFileSync('git', ['-c', 'safe.directory=*', 'status', '--porcelain'], {
        cwd: siteDir,
        encoding: 'utf8',
      }),
    ).toBe('');
  });

  it('moves to a newer release and back, files the newer one added removed again', async () => {
    const fetched = await run<{ commit: string; current: string }>(siteCodeFetch, { domain, ref: 'r2' });
    expect(fetched).toEqual({ commit: repository.tags.r2, current: repository.tags.r1 });
    await run(siteCodeCheckout, { domain, commit: fetched.commit });
    const deploy = join(siteDir, 'modules', 'site_feature', 'site_feature.deploy.php');
    expect(existsSync(deploy)).toBe(true);

    expect(await run(siteCodeCheckout, { domain, commit: repository.tags.r1 })).toEqual({
      commit: repository.tags.r1,
      previous: repository.tags.r2,
    });
    expect(existsSync(deploy)).toBe(false);
    expect(await readFile(join(siteDir, 'files', 'upload.jpg'), 'utf8')).toBe('an upload');
  });

  it('refuses a release that tracks files/, before anything is checked out', async () => {
    const failure = await stepFailure(run(siteCodeFetch, { domain, ref: 'bad' }));
    expect(failure.code).toBe(StepErrorCode.Refused);
    expect(failure.message).toMatch(/tracks files\/logo\.png: a site repository must not hold/);
    expect(
      (await stepFailure(run(siteCodeCheckout, { domain, commit: repository.tags.bad }))).message,
    ).toMatch(/must not hold/);
    expect(await readFile(join(siteDir, 'files', 'upload.jpg'), 'utf8')).toBe('an upload');
  });

  it("never runs a program a repository's own config names (hooks, fsmonitor)", async () => {
    const marker = join(root.root, 'ran');
    await writeFile(join(siteDir, '.git', 'hooks', 'post-checkout'), `#!/bin/sh\ntouch ${marker}\n`, {
      mode: 0o755,
    });
    execFileSync('git', ['-c', 'safe.directory=*', 'config', 'core.fsmonitor', `touch ${marker}`], {
      cwd: siteDir,
    });
    await run(siteCodeCheckout, { domain, commit: repository.tags.r2 });
    expect(existsSync(marker)).toBe(false);
  });

  it('makes a repository for a new site on the server, with its layout, and keeps one that is there', async () => {
    const made = await run<{ url: string; created: boolean }>(siteCodeInit, { domain: 'new.test' });
    expect(made).toEqual({ url: join(root.root, 'repositories', 'new.test.git'), created: true });
    const newSite = join(root.root, 'sites', 'new.test');
    await mkdir(join(newSite, 'files'), { recursive: true });
    await writeFile(join(newSite, 'settings.php'), '<?php // Berth\n');
    const fetched = await run<{ commit: string }>(siteCodeFetch, {
      domain: 'new.test',
      ref: 'main',
      url: made.url,
    });
    await run(siteCodeCheckout, { domain: 'new.test', commit: fetched.commit });
    expect(await readFile(join(newSite, 'README.md'), 'utf8')).toContain(
      'berth site deploy new.test --ref REF',
    );
    expect(existsSync(join(newSite, 'modules', '.gitkeep'))).toBe(true);
    expect(await run(siteCodeInit, { domain: 'new.test' })).toEqual({ url: made.url, created: false });
  });

  it('refuses parameters that could read as options or leave the site directory', async () => {
    for (const params of [
      { domain, ref: '--upload-pack=touch /tmp/x' },
      { domain: '../etc', ref: 'r1' },
      { domain, ref: 'r1', url: 'ext::sh -c touch% /tmp/x' },
    ]) {
      expect((await stepFailure(run(siteCodeFetch, params))).code).toBe(StepErrorCode.InvalidParams);
    }
    expect((await stepFailure(run(siteCodeCheckout, { domain, commit: 'HEAD~1' }))).code).toBe(
      StepErrorCode.InvalidParams,
    );
  });
});
