import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import { runStep, stepFailure, testContext, testRoot } from '../../testing/step-context.js';
import { siteAbsent } from './absent.js';

let root: Awaited<ReturnType<typeof testRoot>>;
beforeEach(async () => {
  root = await testRoot();
});
afterEach(async () => {
  await root.remove();
});

describe('site.absent', () => {
  it('passes on a server with nothing of the site, and refuses its directory, config or vhost, naming them', async () => {
    const check = () => runStep(siteAbsent, { domain: 'a.example' }, testContext(root.host));
    await expect(check()).resolves.toEqual({ domain: 'a.example' });
    for (const path of [
      join(root.root, 'sites', 'a.example'),
      join(root.root, 'config', 'sites', 'a.example'),
      join(root.root, 'config', 'nginx', 'a.example.conf'),
    ]) {
      if (path.endsWith('.conf')) {
        await mkdir(join(root.root, 'config', 'nginx'), { recursive: true });
        await writeFile(path, '# left over\n');
      } else {
        await mkdir(path, { recursive: true });
      }
      const refused = await stepFailure(check());
      expect(refused.code).toBe(StepErrorCode.Refused);
      expect(refused.message).toContain(path);
      await rm(path, { recursive: true, force: true });
    }
    await expect(check()).resolves.toEqual({ domain: 'a.example' });
    // Another site's directory is not this one's.
    await mkdir(join(root.root, 'sites', 'b.example'), { recursive: true });
    await expect(check()).resolves.toEqual({ domain: 'a.example' });
  });
});
