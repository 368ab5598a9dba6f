import { mkdtemp, readdir, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import { runStep, stepFailure, testContext, testRoot } from '../../testing/step-context.js';
import { sitesMarker } from './sites-marker.js';

const NAME = '.berth-marker-0123456789abcdef';
const TOKEN = 'ab'.repeat(16);

let first: Awaited<ReturnType<typeof testRoot>>;
let second: Awaited<ReturnType<typeof testRoot>>;
beforeEach(async () => {
  [first, second] = [await testRoot(), await testRoot()];
});
afterEach(async () => {
  await first.remove();
  await second.remove();
});

describe('sites.marker', () => {
  it('writes a marker one server reads back and another does not, until their sites directory is one', async () => {
    const write = await runStep(
      sitesMarker,
      { action: 'write', name: NAME, token: TOKEN },
      testContext(first.host),
    );
    expect(write).toEqual({ dir: join(first.root, 'sites'), token: TOKEN });
    expect((await stat(join(first.root, 'sites', NAME))).mode & 0o777).toBe(0o600);
    const read = (root: typeof first) =>
      runStep(sitesMarker, { action: 'read', name: NAME }, testContext(root.host));
    expect((await read(first)).token).toBe(TOKEN);
    expect((await read(second)).token).toBeNull();

    // The second server's sites directory is the first's (a shared mount; a link here).
    await rm(join(second.root, 'sites'), { recursive: true, force: true });
    await symlink(join(first.root, 'sites'), join(second.root, 'sites'));
    expect((await read(second)).token).toBe(TOKEN);

    await runStep(sitesMarker, { action: 'remove', name: NAME }, testContext(second.host));
    expect(await readdir(join(first.root, 'sites'))).toEqual([]);
    expect((await read(first)).token).toBeNull();
  });

  it('refuses any other name, a write without a token, and a token with a read', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'berth-marker-'));
    try {
      for (const params of [
        { action: 'write', name: '../escape', token: TOKEN },
        { action: 'write', name: `${outside}/x`, token: TOKEN },
        { action: 'write', name: 'a.example', token: TOKEN },
        { action: 'write', name: NAME },
        { action: 'read', name: NAME, token: TOKEN },
        { action: 'delete', name: NAME },
      ]) {
        const failure = await stepFailure(runStep(sitesMarker, params, testContext(first.host)));
        expect(failure.code, JSON.stringify(params)).toBe(StepErrorCode.InvalidParams);
      }
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
