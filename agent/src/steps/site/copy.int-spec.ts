import { execa } from 'execa';
import { chmod, lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import { runStep, stepFailure, testContext, testRoot } from '../../testing/step-context.js';
import { siteCopy } from './copy.js';

let root: Awaited<ReturnType<typeof testRoot>>;
beforeEach(async () => {
  root = await testRoot();
});
afterEach(async () => {
  await root.remove();
});

const live = 'www.example.org';
const copy = 'rehearsal-0a0b0c0d.www.example.org';
const siteDir = (domain: string) => join(root.root, 'sites', domain);

/** A live site's directory: settings.php, files with odd modes and times, a symlink, a dotfile. */
async function liveSite(): Promise<void> {
  const dir = siteDir(live);
  await mkdir(join(dir, 'files', 'styles'), { recursive: true });
  await writeFile(join(dir, 'settings.php'), "<?php $settings['hash_salt'] = 'live-only';\n", {
    mode: 0o440,
  });
  await writeFile(join(dir, 'files', 'a.txt'), 'a', { mode: 0o640 });
  await writeFile(join(dir, 'files', 'styles', '.htaccess'), 'Deny from all\n');
  await symlink('../a.txt', join(dir, 'files', 'styles', 'a-link'));
  await mkdir(join(dir, 'private'), { mode: 0o750 });
  await writeFile(join(dir, 'private', 'secret.txt'), 'p');
}

describe('site.copy', () => {
  it("copies a site's directory beside it, symlinks as symlinks, modes kept, without settings.php", async () => {
    await liveSite();
    const context = testContext(root.host);
    const output = await runStep(siteCopy, { domain: live, targetDomain: copy }, context);

    const target = siteDir(copy);
    expect(output.bytes).toBeGreaterThan(0);
    expect((await readdir(target)).sort()).toEqual(['files', 'private']);
    expect(await readFile(join(target, 'files', 'a.txt'), 'utf8')).toBe('a');
    expect((await stat(join(target, 'files', 'a.txt'))).mode & 0o777).toBe(0o640);
    expect((await stat(join(target, 'private'))).mode & 0o777).toBe(0o750);
    expect((await lstat(join(target, 'files', 'styles', 'a-link'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(target, 'files', 'styles', 'a-link'))).toBe('../a.txt');
    expect(await readFile(join(target, 'files', 'styles', '.htaccess'), 'utf8')).toBe('Deny from all\n');
    // The live site is as it was, and nothing is left beside the copy.
    expect(await readFile(join(siteDir(live), 'settings.php'), 'utf8')).toContain('live-only');
    expect((await readdir(join(root.root, 'sites'))).sort()).toEqual([copy, live].sort());
    expect(context.lines.join('\n')).toContain(`copied ${siteDir(live)} to ${target}`);
  });

  it('leaves out FIFOs and setuid or setgid bits, as a restore of an archive does', async () => {
    await liveSite();
    await execa('mkfifo', [join(siteDir(live), 'files', 'pipe')]);
    await writeFile(join(siteDir(live), 'files', 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    await chmod(join(siteDir(live), 'files', 'tool'), 0o6755);
    await runStep(siteCopy, { domain: live, targetDomain: copy }, testContext(root.host));
    const files = join(siteDir(copy), 'files');
    expect((await readdir(files)).sort()).toEqual(['a.txt', 'styles', 'tool']);
    expect((await stat(join(files, 'tool'))).mode & 0o7777).toBe(0o755);
  });

  it('refuses a target that exists, and leaves it as it was', async () => {
    await liveSite();
    await mkdir(siteDir(copy), { recursive: true });
    await writeFile(join(siteDir(copy), 'mine.txt'), 'keep');
    const failure = await stepFailure(
      runStep(siteCopy, { domain: live, targetDomain: copy }, testContext(root.host)),
    );
    expect(failure.code).toBe(StepErrorCode.Refused);
    expect(await readdir(siteDir(copy))).toEqual(['mine.txt']);
  });

  it('fails (NOT_FOUND) when the site has no directory, and leaves nothing behind', async () => {
    await mkdir(join(root.root, 'sites'), { recursive: true });
    const failure = await stepFailure(
      runStep(siteCopy, { domain: live, targetDomain: copy }, testContext(root.host)),
    );
    expect(failure.code).toBe(StepErrorCode.NotFound);
    expect(await readdir(join(root.root, 'sites'))).toEqual([]);
  });

  it('refuses a domain that is not one (a path)', async () => {
    await expect(
      runStep(siteCopy, { domain: live, targetDomain: '../../etc' }, testContext(root.host)),
    ).rejects.toThrow(/targetDomain/);
  });
});
