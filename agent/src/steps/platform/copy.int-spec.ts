import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import { buildFixturePlatform } from '../../../../test/fixtures/platforms.js';
import { MemoryArchives, runStep, stepFailure, testContext, testRoot } from '../../testing/step-context.js';
import { platformArchive, platformExtract } from './copy.js';
import { platformScan } from './scan.js';

let source: Awaited<ReturnType<typeof testRoot>>;
let head: Awaited<ReturnType<typeof testRoot>>;
beforeEach(async () => {
  source = await testRoot();
  head = await testRoot();
});
afterEach(async () => {
  await source.remove();
  await head.remove();
});

const archiveId = '3d2f6a1e-5d0b-4f63-9a51-0d3b1b6f7a10';

describe('platform.archive and platform.extract (a platform copied to a new head)', () => {
  it('copies the codebase to another root with the same content hash, without the sites linked into it', async () => {
    buildFixturePlatform('fixture-10.3', join(source.root, 'platforms', 'p1'));
    // A site linked into the platform, as site.link makes it: per head, never copied.
    await mkdir(join(source.root, 'sites', 'a.example'), { recursive: true });
    await symlink(
      join(source.root, 'sites', 'a.example'),
      join(source.root, 'platforms', 'p1', 'web', 'sites', 'a.example'),
    );
    const archives = new MemoryArchives();
    const archived = await runStep(
      platformArchive,
      { platform: 'p1', archiveId },
      testContext(source.host, { archives }),
    );
    expect(archived.files).toBeGreaterThan(5);
    const copied = await runStep(
      platformExtract,
      { platform: 'p1', archiveId },
      testContext(head.host, { archives }),
    );
    expect(copied.files).toBeGreaterThan(5);
    const scan = async (root: typeof source) =>
      (await runStep(platformScan, { platform: 'p1' }, testContext(root.host))).content;
    expect(await scan(head)).toEqual(await scan(source));
    expect(await readdir(join(head.root, 'platforms', 'p1', 'web', 'sites'))).not.toContain('a.example');
    // Nothing left beside it.
    expect(await readdir(join(head.root, 'platforms'))).toEqual(['p1']);
  });

  it('never replaces a platform that is there, and leaves nothing when the archive is not a platform copy', async () => {
    buildFixturePlatform('fixture-10.2', join(source.root, 'platforms', 'p1'));
    const archives = new MemoryArchives();
    await runStep(platformArchive, { platform: 'p1', archiveId }, testContext(source.host, { archives }));
    await mkdir(join(head.root, 'platforms', 'p1'), { recursive: true });
    await writeFile(join(head.root, 'platforms', 'p1', 'mine.txt'), 'keep');
    const refused = await stepFailure(
      runStep(platformExtract, { platform: 'p1', archiveId }, testContext(head.host, { archives })),
    );
    expect(refused.code).toBe(StepErrorCode.Refused);
    expect(await readdir(join(head.root, 'platforms', 'p1'))).toEqual(['mine.txt']);
    // The copy of p1 is not one of p2.
    const wrong = await stepFailure(
      runStep(platformExtract, { platform: 'p2', archiveId }, testContext(head.host, { archives })),
    );
    expect(wrong.code).toBe(StepErrorCode.UnsafeArchive);
    expect((await readdir(join(head.root, 'platforms'))).sort()).toEqual(['p1']);
    // Under another name (build --from-platform) when the step says which platform it was made of.
    const renamed = await runStep(
      platformExtract,
      { platform: 'p1-copy', archiveId, from: 'p1' },
      testContext(head.host, { archives }),
    );
    expect(renamed.path).toBe(join(head.root, 'platforms', 'p1-copy'));
    expect((await readdir(join(head.root, 'platforms'))).sort()).toEqual(['p1', 'p1-copy']);
    const claimed = await stepFailure(
      runStep(
        platformExtract,
        { platform: 'p3', archiveId, from: 'p2' },
        testContext(head.host, { archives }),
      ),
    );
    expect(claimed.code).toBe(StepErrorCode.UnsafeArchive);
  });
});
