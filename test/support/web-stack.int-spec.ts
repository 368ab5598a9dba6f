import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDrupalVhost } from '../../shared/src/nginx-vhost.js';
import { startWebStack, type WebStack } from './web-stack.js';

/** A docroot with a front controller that says which platform served it, and files nginx must refuse. */
function makePlatform(root: string, name: string): string {
  const web = join(root, 'platforms', name, 'web');
  mkdirSync(join(web, 'sites', 'site.test', 'files'), { recursive: true });
  mkdirSync(join(web, 'sites', 'site.test', 'private'), { recursive: true });
  writeFileSync(
    join(web, 'index.php'),
    `<?php echo "${name} " . $_SERVER['SCRIPT_FILENAME'] . ' ' . ($_GET['q'] ?? '') . ' ' . $_SERVER['REQUEST_URI'];`,
  );
  writeFileSync(join(web, 'other.php'), '<?php echo "must not run";');
  writeFileSync(join(web, 'sites', 'site.test', 'files', 'evil.php'), '<?php echo "must not run";');
  writeFileSync(join(web, 'sites', 'site.test', 'files', 'hello.txt'), 'static file');
  writeFileSync(join(web, 'sites', 'site.test', 'private', 'secret.txt'), 'secret');
  writeFileSync(join(web, '.env'), 'SECRET=1');
  writeFileSync(join(web, 'composer.json'), '{}');
  writeFileSync(join(web, 'system.install'), '<?php');
  return web;
}

describe('startWebStack', () => {
  let root: string;
  let stack: WebStack;
  let current: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'berth-root-'));
    makePlatform(root, 'alpha');
    makePlatform(root, 'beta');
    // The vhost names a stable path; re-pointing the symlink moves the site to another codebase.
    current = join(root, 'platforms', 'current');
    symlinkSync(join(root, 'platforms', 'alpha'), current);
    stack = await startWebStack({ root });
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  function writeVhost(domain: string, options: { disabled?: boolean; redirectFrom?: string[] } = {}) {
    const conf = renderDrupalVhost({
      domain,
      docroot: join(current, 'web'),
      phpFpmSocket: stack.phpFpmSocket,
      listen: `127.0.0.1:${stack.port}`,
      ...options,
    });
    writeFileSync(join(root, 'config', 'nginx', `${domain}.conf`), conf);
  }

  it('serves a rendered vhost through PHP-FPM and refuses what Drupal refuses', async () => {
    writeVhost('site.test', { redirectFrom: ['www.site.test'] });
    await stack.reload();

    const front = await stack.request('site.test', '/node/1?x=1');
    expect(front.status, stack.logs()).toBe(200);
    expect(front.body).toContain(`alpha ${join(root, 'platforms', 'alpha', 'web', 'index.php')}`);
    expect(front.body).toContain('/node/1?x=1');

    expect((await stack.request('site.test', '/sites/site.test/files/hello.txt')).body).toBe('static file');
    expect((await stack.request('site.test', '/sites/site.test/files/evil.php')).status).toBe(403);
    expect((await stack.request('site.test', '/sites/site.test/private/secret.txt')).status).toBe(403);
    // A site serves its own files only: another's (here its platform's sites/default) answer 404.
    mkdirSync(join(root, 'platforms', 'alpha', 'web', 'sites', 'default', 'files'), { recursive: true });
    writeFileSync(join(root, 'platforms', 'alpha', 'web', 'sites', 'default', 'files', 'x.txt'), 'x');
    expect((await stack.request('site.test', '/sites/default/files/x.txt')).status).toBe(404);
    expect((await stack.request('site.test', '/other.php')).status).toBe(404);
    expect((await stack.request('site.test', '/.env')).status).toBe(403);
    expect((await stack.request('site.test', '/composer.json')).status).toBe(404);
    expect((await stack.request('site.test', '/system.install')).status).toBe(404);

    const redirect = await stack.request('www.site.test', '/a?b=c');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('http://site.test/a?b=c');

    expect((await stack.request('unknown.test', '/')).status).toBe(404);
  });

  it('follows a re-pointed symlink after a graceful reload ($realpath_root)', async () => {
    writeVhost('site.test');
    await stack.reload();
    expect((await stack.request('site.test', '/')).body).toMatch(/^alpha /);

    unlinkSync(current);
    symlinkSync(join(root, 'platforms', 'beta'), current);
    await stack.reload();
    const after = await stack.request('site.test', '/');
    expect(after.body).toContain(`beta ${join(root, 'platforms', 'beta', 'web', 'index.php')}`);
  });

  it('serves the disabled page with 503 and no PHP', async () => {
    writeVhost('site.test', { disabled: true });
    await stack.reload();
    const page = await stack.request('site.test', '/');
    expect(page.status).toBe(503);
    expect(page.body).toContain('This site is disabled');
    expect(page.headers['content-type']).toContain('text/html');
    writeVhost('site.test');
    await stack.reload();
    expect((await stack.request('site.test', '/')).status).toBe(200);
  });

  it('rejects an invalid config with nginx -t and keeps serving the old one', async () => {
    const broken = join(root, 'config', 'nginx', 'broken.conf');
    writeFileSync(broken, 'server { listen nonsense; }\n');
    try {
      await expect(stack.test()).rejects.toThrow(/nginx -t failed/);
      await expect(stack.reload()).rejects.toThrow(/nginx -t failed/);
      expect((await stack.request('site.test', '/')).status).toBe(200);
    } finally {
      unlinkSync(broken);
    }
  });

  it('stops cleanly and removes its directory', async () => {
    const other = await startWebStack({ root });
    expect(existsSync(other.phpFpmSocket)).toBe(true);
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
  });
});
