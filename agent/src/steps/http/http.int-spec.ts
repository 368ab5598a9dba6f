import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import type { StepOutput } from '../../../../shared/src/steps.js';
import { buildFixturePlatform } from '../../../../test/fixtures/platforms.js';
import { startWebStack, type WebStack } from '../../../../test/support/web-stack.js';
import { type HostSettings, loadHostSettings } from '../../config.js';
import { runStep, stepFailure, testContext, testRoot } from '../../testing/step-context.js';
import { probeHttp } from '../probe/http.js';
import { siteLink } from '../site/link.js';
import { httpRemoveVhost } from './remove-vhost.js';
import { httpWriteVhost } from './write-vhost.js';

let root: Awaited<ReturnType<typeof testRoot>>;
let stack: WebStack;
let host: HostSettings;

beforeAll(async () => {
  root = await testRoot();
  const web = join(buildFixturePlatform('fixture-10.2', join(root.root, 'platforms', 'p1')), 'web');
  await writeFile(join(web, 'berth-probe.txt'), 'served from p1\n');
  const web2 = join(buildFixturePlatform('fixture-10.3', join(root.root, 'platforms', 'p2')), 'web');
  await writeFile(join(web2, 'berth-probe.txt'), 'served from p2\n');
  stack = await startWebStack({ root: root.root });
  host = loadHostSettings({
    root: root.root,
    nginxConf: stack.nginxConf,
    phpFpmSocket: stack.phpFpmSocket,
    httpPort: `127.0.0.1:${stack.port}`,
  });
});

afterAll(async () => {
  await stack?.stop();
  await root?.remove();
});

/** A reload is graceful: old workers may answer a moment longer. Probe until the answer is the one expected. */
async function probeUntil(
  params: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<StepOutput<'probe.http'>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await runStep(probeHttp, params, testContext(host));
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const vhostDir = () => join(root.root, 'config', 'nginx');

describe('http.write-vhost, http.remove-vhost and probe.http', () => {
  it('writes, tests and reloads: both sites serve their platform; a second write is unchanged', async () => {
    const first = await runStep(httpWriteVhost, { domain: 'a.test', platform: 'p1' }, testContext(host));
    expect(first).toEqual({ path: join(vhostDir(), 'a.test.conf'), changed: true, port: stack.port });
    await runStep(httpWriteVhost, { domain: 'b.test', platform: 'p1' }, testContext(host));
    for (const domain of ['a.test', 'b.test']) {
      const probe = await probeUntil({ domain, path: '/berth-probe.txt', expectText: 'served from p1' });
      expect(probe).toMatchObject({ status: 200, bodyExcerpt: 'served from p1\n' });
      expect(probe.ms).toBeGreaterThanOrEqual(0);
    }
    expect(
      await runStep(httpWriteVhost, { domain: 'a.test', platform: 'p1' }, testContext(host)),
    ).toMatchObject({
      changed: false,
    });
    const conf = await readFile(first.path, 'utf8');
    expect(conf).toContain(`root ${join(root.root, 'platforms', 'p1', 'web')};`);
    expect(conf).toContain(`listen 127.0.0.1:${stack.port};`);
    expect(conf).toContain(`fastcgi_pass unix:${stack.phpFpmSocket};`);
  });

  it('serves each new vhost as soon as its step returns, with several steps reloading side by side', async () => {
    // Two reloads at once used to wait on each other's new workers: the later step returned before
    // nginx had read its vhost, and the probe right after it (a migrate's rehearsal) got a 404.
    const domains = Array.from({ length: 6 }, (_, index) => `side${index}.test`);
    await Promise.all(
      domains.map(async (domain) => {
        await runStep(httpWriteVhost, { domain, platform: 'p1' }, testContext(host));
        const probe = await runStep(
          probeHttp,
          { domain, path: '/berth-probe.txt', expectText: 'served from p1' },
          testContext(host),
        );
        expect(probe.status).toBe(200);
      }),
    );
    for (const domain of domains) {
      await runStep(httpRemoveVhost, { domain }, testContext(host));
    }
  });

  it('keeps the old file when nginx -t refuses the new one, and every site still serves', async () => {
    const path = join(vhostDir(), 'b.test.conf');
    const before = await readFile(path, 'utf8');
    // A 190-character name does not fit the server_names_hash_bucket_size: nginx -t fails on it.
    const tooLong = `${'x'.repeat(60)}.${'y'.repeat(60)}.${'z'.repeat(60)}.b.test`;
    const error = await stepFailure(
      runStep(
        httpWriteVhost,
        { domain: 'b.test', platform: 'p2', redirectFrom: [tooLong] },
        testContext(host),
      ),
    );
    expect(error.code).toBe(StepErrorCode.ConfigRejected);
    expect(error.message).toMatch(/nginx refused the configuration/);
    expect(error.stderrTail).toMatch(/server_names_hash/);
    expect(await readFile(path, 'utf8')).toBe(before);
    expect((await readdir(vhostDir())).sort()).toEqual(['a.test.conf', 'b.test.conf']);
    // nginx -t of the restored configuration passes, and the running nginx serves both as before.
    await stack.test();
    await probeUntil({ domain: 'a.test', path: '/berth-probe.txt', expectText: 'served from p1' });
    await probeUntil({ domain: 'b.test', path: '/berth-probe.txt', expectText: 'served from p1' });

    // A vhost that is new when it is refused leaves no file at all.
    const fresh = await stepFailure(
      runStep(
        httpWriteVhost,
        { domain: 'c.test', platform: 'p1', redirectFrom: [`${tooLong}.c`] },
        testContext(host),
      ),
    );
    expect(fresh.code).toBe(StepErrorCode.ConfigRejected);
    expect((await readdir(vhostDir())).sort()).toEqual(['a.test.conf', 'b.test.conf']);
  });

  it('moves a site to another platform, disables it, and removes its vhost', async () => {
    await runStep(
      httpWriteVhost,
      { domain: 'b.test', platform: 'p2', redirectFrom: ['www.b.test'] },
      testContext(host),
    );
    await probeUntil({ domain: 'b.test', path: '/berth-probe.txt', expectText: 'served from p2' });
    await probeUntil({ domain: 'www.b.test', path: '/x', expectStatus: [301] });
    await runStep(httpWriteVhost, { domain: 'b.test', platform: 'p2', disabled: true }, testContext(host));
    await probeUntil({ domain: 'b.test', expectStatus: [503], expectText: 'disabled' });

    expect(await runStep(httpRemoveVhost, { domain: 'b.test' }, testContext(host))).toEqual({
      path: join(vhostDir(), 'b.test.conf'),
      removed: true,
    });
    await probeUntil({ domain: 'b.test', path: '/berth-probe.txt', expectStatus: [404] });
    expect((await runStep(httpRemoveVhost, { domain: 'b.test' }, testContext(host))).removed).toBe(false);
    await probeUntil({ domain: 'a.test', path: '/berth-probe.txt', expectText: 'served from p1' });
  });

  it('fails a probe with PROBE_FAILED on an unexpected status or text, or no server', async () => {
    const status = await stepFailure(
      runStep(
        probeHttp,
        { domain: 'a.test', path: '/berth-probe.txt', expectStatus: [204] },
        testContext(host),
      ),
    );
    expect(status.code).toBe(StepErrorCode.ProbeFailed);
    expect(status.message).toMatch(/answered 200 where 204 was expected/);
    const text = await stepFailure(
      runStep(
        probeHttp,
        { domain: 'a.test', path: '/berth-probe.txt', expectText: 'nope' },
        testContext(host),
      ),
    );
    expect(text.message).toMatch(/does not contain "nope"/);
    const closed = loadHostSettings({ root: root.root, httpPort: '127.0.0.1:1' });
    const refused = await stepFailure(runStep(probeHttp, { domain: 'a.test' }, testContext(closed)));
    expect(refused).toMatchObject({ code: StepErrorCode.ProbeFailed, retryable: true });
    for (const params of [
      { domain: 'a.test', path: 'no-slash' },
      { domain: 'a.test', path: '/a b' },
      { domain: 'a.test', expectStatus: [99] },
      { domain: 'A.test' },
    ]) {
      expect((await stepFailure(runStep(probeHttp, params, testContext(host)))).code).toBe(
        StepErrorCode.InvalidParams,
      );
    }
  });

  it('needs the platform and a PHP-FPM socket', async () => {
    const missing = await stepFailure(
      runStep(httpWriteVhost, { domain: 'd.test', platform: 'nope' }, testContext(host)),
    );
    expect(missing.code).toBe(StepErrorCode.NotFound);
    const noSocket = { ...host, phpFpmSocket: undefined };
    const error = await stepFailure(
      runStep(httpWriteVhost, { domain: 'd.test', platform: 'p1' }, testContext(noSocket)),
    );
    expect(error.code).toBe(StepErrorCode.MissingDependency);
  });

  it("never serves another site's private files through a link in a site's files, whatever made it", async () => {
    const sites = join(root.root, 'sites');
    for (const domain of ['own.test', 'other.test']) {
      await mkdir(join(sites, domain, 'files'), { recursive: true });
      await mkdir(join(sites, domain, 'private'), { recursive: true });
      await runStep(siteLink, { domain, platform: 'p1' }, testContext(host));
      await runStep(httpWriteVhost, { domain, platform: 'p1' }, testContext(host));
    }
    await writeFile(join(sites, 'own.test', 'files', 'public.txt'), 'OWN-PUBLIC\n');
    await writeFile(join(sites, 'other.test', 'private', 'secret.txt'), 'OTHER-SECRET\n');
    await writeFile(join(sites, 'other.test', 'files', 'theirs.txt'), 'OTHER-PUBLIC\n');
    // Links as a site's own PHP makes them (symlink()), and a chain of links that are each "inside".
    const files = join(sites, 'own.test', 'files');
    await execa('php', [
      '-r',
      'symlink($argv[1], $argv[2]); symlink($argv[3], $argv[4]);',
      join(sites, 'other.test', 'private'),
      join(files, 'absolute'),
      '../../other.test/private',
      join(files, 'relative'),
    ]);
    await symlink('.', join(files, 'l'));
    await symlink('l/..', join(files, 'u'));
    await symlink('u/..', join(files, 'u2'));

    // Refused links fall through to Drupal's front controller (this fixture site is not installed: 500).
    const get = (path: string) =>
      runStep(probeHttp, { domain: 'own.test', path, expectStatus: [200, 403, 404, 500] }, testContext(host));
    expect(await probeUntil({ domain: 'own.test', path: '/sites/own.test/files/public.txt' })).toMatchObject({
      status: 200,
      bodyExcerpt: 'OWN-PUBLIC\n',
    });
    for (const path of [
      '/sites/own.test/files/absolute/secret.txt',
      '/sites/own.test/files/relative/secret.txt',
      '/sites/own.test/files/u2/other.test/private/secret.txt',
      // Another site's files answer under its own name only.
      '/sites/other.test/files/theirs.txt',
    ]) {
      const answer = await get(path);
      expect(answer.bodyExcerpt, path).not.toMatch(/OTHER-/);
      expect(answer.status, path).not.toBe(200);
    }
    expect(
      (
        await runStep(
          probeHttp,
          { domain: 'other.test', path: '/sites/other.test/files/theirs.txt' },
          testContext(host),
        )
      ).bodyExcerpt,
    ).toBe('OTHER-PUBLIC\n');
  });
});
