import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { type MasterHandle } from '../support/processes.js';
import { type WebStack } from '../support/web-stack.js';

const PLATFORM = 'fixture-10-2';

interface PlatformJson {
  name: string;
  locked: boolean;
  path: string;
}

/**
 * A platform's registry life through the CLI and the API: lock (no new sites), unlock, and delete,
 * which waits for the platform to be empty and leaves its codebase on the server.
 */
describe('platform lock, unlock and delete', () => {
  let stack: HostingStack;
  let master: MasterHandle;
  let web: WebStack;
  let root: string;

  const berth = (...args: string[]) => stack.berth(...args);
  const post = async (path: string, body?: unknown) => {
    const response = await fetch(`${master.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${master.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { code?: string; message?: string } };
  };
  const platformNames = async () =>
    (JSON.parse((await berth('platform', 'list', '--json')).stdout) as PlatformJson[]).map(
      (item) => item.name,
    );

  beforeAll(async () => {
    stack = await startHostingStack({ label: 'platforms', platforms: { [PLATFORM]: 'fixture-10.2' } });
    ({ master, web, root } = stack);
    await berth('site', 'install', 'one.example', '--platform', PLATFORM);
  });

  afterAll(() => stack?.stop());

  it('a locked platform refuses new sites with a 409 that says why; its sites keep working', async () => {
    const locked = JSON.parse((await berth('platform', 'lock', PLATFORM, '--json')).stdout) as PlatformJson;
    expect(locked).toMatchObject({ name: PLATFORM, locked: true });

    const refused = await post('/api/sites', { domain: 'two.example', platform: PLATFORM });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/locked.*no new sites/);
    await expect(berth('site', 'install', 'two.example', '--platform', PLATFORM)).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/locked/) as unknown,
    });
    expect(existsSync(join(root, 'sites', 'two.example'))).toBe(false);
    expect((await web.request('one.example', '/')).status).toBe(200);

    const { stdout } = await berth('platform', 'unlock', PLATFORM);
    expect(stdout).toMatch(/unlocked/);
    await berth('site', 'install', 'two.example', '--platform', PLATFORM);
    expect((await web.request('two.example', '/')).status).toBe(200);
  });

  it('refuses to delete a platform with sites on it, then deletes it from the registry only', async () => {
    const refused = await post(`/api/platforms/${PLATFORM}/delete`);
    expect(refused).toMatchObject({ status: 409, body: { code: 'PLATFORM_BUSY' } });
    expect(refused.body.message).toMatch(/2 sites on it \(one\.example, two\.example\): migrate or delete/);
    await expect(berth('platform', 'delete', PLATFORM, '--yes')).rejects.toMatchObject({ code: 2 });
    expect(await platformNames()).toContain(PLATFORM);

    for (const domain of ['one.example', 'two.example']) {
      await berth('site', 'disable', domain);
      await berth('site', 'delete', domain, '--yes');
    }
    const deleted = JSON.parse((await berth('platform', 'delete', PLATFORM, '--json', '--yes')).stdout) as {
      deleted: PlatformJson;
      message: string;
    };
    expect(deleted.deleted.name).toBe(PLATFORM);
    expect(deleted.message).toMatch(/codebase is still at/);
    expect(await platformNames()).not.toContain(PLATFORM);
    // The codebase is the operator's.
    expect(existsSync(join(root, 'platforms', PLATFORM, 'web', 'index.php'))).toBe(true);
    expect((await post(`/api/platforms/${PLATFORM}/lock`)).status).toBe(404);
  });
});
