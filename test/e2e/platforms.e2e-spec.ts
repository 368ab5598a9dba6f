import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../shared/src/package-root.js';
import { buildFixturePlatform } from '../fixtures/platforms.js';
import { startAgent, startMaster, type AgentHandle, type MasterHandle } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { startWebStack, type WebStack } from '../support/web-stack.js';

const run = promisify(execFile);
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
  let database: TestDatabase;
  let master: MasterHandle;
  let agent: AgentHandle;
  let web: WebStack;
  let root: string;

  const berth = (...args: string[]) =>
    run(process.execPath, [join(packageRoot(), 'bin', 'berth.js'), ...args], {
      env: { ...process.env, BERTH_URL: master.url, BERTH_TOKEN: master.token },
      maxBuffer: 16 * 1024 * 1024,
    });
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
    database = await createTestDatabase('pglite');
    root = mkdtempSync(join(tmpdir(), 'berth-root-'));
    mkdirSync(join(root, 'platforms'), { recursive: true });
    buildFixturePlatform('fixture-10.2', join(root, 'platforms', PLATFORM));
    web = await startWebStack({ root });
    const adminDefaults = join(root, 'db-admin.cnf');
    writeFileSync(adminDefaults, '[client]\nhost=127.0.0.1\nport=3306\nuser=root\npassword=\n', {
      mode: 0o600,
    });
    master = await startMaster(database, { label: 'platforms-master' });
    agent = await startAgent(master, {
      name: 'web1',
      label: 'platforms-web1',
      args: [
        '--root',
        root,
        '--nginx-conf',
        web.nginxConf,
        '--php-fpm-socket',
        web.phpFpmSocket,
        '--http-port',
        `127.0.0.1:${web.port}`,
        '--db-admin-defaults',
        adminDefaults,
        // The test web stack runs PHP-FPM as root in a root-only temp dir (see test/support/web-stack.ts).
        '--web-user',
        'root',
      ],
    });
    await berth('platform', 'add', PLATFORM, '--server', 'web1', '--path', join(root, 'platforms', PLATFORM));
    await berth('site', 'install', 'one.example', '--platform', PLATFORM);
  });

  afterAll(async () => {
    await agent?.stop();
    await master?.stop();
    await web?.stop();
    await database?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

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
    await expect(berth('platform', 'delete', PLATFORM)).rejects.toMatchObject({ code: 2 });
    expect(await platformNames()).toContain(PLATFORM);

    for (const domain of ['one.example', 'two.example']) {
      await berth('site', 'disable', domain);
      await berth('site', 'delete', domain);
    }
    const deleted = JSON.parse((await berth('platform', 'delete', PLATFORM, '--json')).stdout) as {
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
