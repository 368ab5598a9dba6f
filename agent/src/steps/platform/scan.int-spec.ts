import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import {
  buildFixturePlatform,
  FIXTURE_PLATFORMS,
  type FixturePlatformName,
} from '../../../../test/fixtures/platforms.js';
import { runStep, stepFailure, testContext, testRoot } from '../../testing/step-context.js';
import { platformScan } from './scan.js';

let root: Awaited<ReturnType<typeof testRoot>>;
beforeEach(async () => {
  root = await testRoot();
});
afterEach(async () => {
  await root.remove();
});

describe('platform.scan', () => {
  it.each(Object.keys(FIXTURE_PLATFORMS) as FixturePlatformName[])(
    'lists exactly the packages and schema versions of %s',
    async (name) => {
      const fixture = FIXTURE_PLATFORMS[name];
      buildFixturePlatform(name, join(root.root, 'platforms', 'p1'));
      const scan = await runStep(platformScan, { platform: 'p1' }, testContext(root.host));
      expect(scan.coreVersion).toBe(fixture.coreVersion);
      const expected = [
        {
          name: 'drupal',
          type: 'core',
          version: fixture.coreVersion,
          schemaVersion: 0,
          lastRemovedSchema: 0,
          postUpdates: [],
          removedPostUpdates: [],
          path: 'core',
        },
        ...Object.entries(fixture.packages).map(([packageName, found]) => ({
          name: packageName,
          type: found.type,
          version: found.version,
          schemaVersion: found.schema ?? 0,
          lastRemovedSchema: found.lastRemovedSchema,
          postUpdates: found.postUpdates,
          removedPostUpdates: found.removedPostUpdates,
          path: found.path,
        })),
      ];
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      expect([...scan.packages].sort(byName)).toEqual(expected.sort(byName));
    },
  );

  it('hashes the codebase: the same build twice gives the same sha256, a changed file another; linked sites do not count', async () => {
    buildFixturePlatform('fixture-10.2', join(root.root, 'platforms', 'p1'));
    buildFixturePlatform('fixture-10.2', join(root.root, 'platforms', 'p2'));
    const scan = (platform: string) => runStep(platformScan, { platform }, testContext(root.host));
    const [first, second] = [await scan('p1'), await scan('p2')];
    expect(first.content?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.content?.files).toBeGreaterThan(5);
    expect(second.content).toEqual(first.content);
    // A site linked into one of them (each head links its own) changes nothing.
    await mkdir(join(root.root, 'sites', 'a.example'), { recursive: true });
    await symlink(
      join(root.root, 'sites', 'a.example'),
      join(root.root, 'platforms', 'p2', 'web', 'sites', 'a.example'),
    );
    expect((await scan('p2')).content).toEqual(first.content);
    // One byte of code does.
    await writeFile(join(root.root, 'platforms', 'p2', 'web', 'index.php'), '<?php // changed\n');
    expect((await scan('p2')).content?.sha256).not.toBe(first.content?.sha256);
  });

  it('leaves out test modules, theme engines and what symlinks point to', async () => {
    const platform = join(root.root, 'platforms', 'p1');
    buildFixturePlatform('fixture-10.2', platform);
    const web = join(platform, 'web');
    await mkdir(join(web, 'core', 'modules', 'node', 'tests', 'modules', 'node_test'), { recursive: true });
    await writeFile(
      join(web, 'core', 'modules', 'node', 'tests', 'modules', 'node_test', 'node_test.info.yml'),
      'type: module\n',
    );
    await mkdir(join(web, 'core', 'themes', 'engines', 'twig'), { recursive: true });
    await writeFile(join(web, 'core', 'themes', 'engines', 'twig', 'twig.info.yml'), 'type: theme_engine\n');
    await symlink('/usr/share', join(web, 'modules', 'outside'));
    const scan = await runStep(platformScan, { platform: 'p1' }, testContext(root.host));
    const names = scan.packages.map((found) => found.name);
    expect(names).not.toContain('node_test');
    expect(names).not.toContain('twig');
    expect(names).toHaveLength(Object.keys(FIXTURE_PLATFORMS['fixture-10.2'].packages).length + 1);
  });

  it('fails with NOT_FOUND for a missing platform or one without core', async () => {
    expect(
      (await stepFailure(runStep(platformScan, { platform: 'none' }, testContext(root.host)))).code,
    ).toBe(StepErrorCode.NotFound);
    await mkdir(join(root.root, 'platforms', 'empty', 'web'), { recursive: true });
    const error = await stepFailure(runStep(platformScan, { platform: 'empty' }, testContext(root.host)));
    expect(error.code).toBe(StepErrorCode.NotFound);
    expect(error.message).toMatch(/no Drupal core/);
    expect(
      (await stepFailure(runStep(platformScan, { platform: '../etc' }, testContext(root.host)))).code,
    ).toBe(StepErrorCode.InvalidParams);
  });
});
