import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
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
import { httpListVhosts } from './list-vhosts.js';
import { httpRemoveVhost } from './remove-vhost.js';
import { httpCommitVhost, httpDiscardVhost, httpPrepareVhost } from './switch-vhost.js';
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
    expect(first).toEqual({
      path: join(vhostDir(), 'a.test.conf'),
      changed: true,
      port: stack.port,
      https: false,
    });
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

describe('http.prepare-vhost, http.commit-vhost and http.discard-vhost (the switch of a cluster)', () => {
  const domain = 'switch.test';
  const live = () => join(vhostDir(), `${domain}.conf`);
  const served = (text: string) => probeUntil({ domain, path: '/berth-probe.txt', expectText: text });

  it('prepares beside the live vhost without serving it, then commits it', async () => {
    await runStep(httpWriteVhost, { domain, platform: 'p1' }, testContext(host));
    await served('served from p1');
    const before = await readFile(live(), 'utf8');

    const prepared = await runStep(httpPrepareVhost, { domain, platform: 'p2' }, testContext(host));
    expect(prepared).toEqual({ path: `${live()}.next`, port: stack.port });
    expect(await readFile(live(), 'utf8')).toBe(before);
    expect(await readFile(prepared.path, 'utf8')).toContain(
      `root ${join(root.root, 'platforms', 'p2', 'web')};`,
    );
    // A reload by anything else now still serves the live file: the prepared one is not included.
    await stack.test();
    await runStep(httpWriteVhost, { domain: 'a.test', platform: 'p1' }, testContext(host));
    expect(
      (await runStep(probeHttp, { domain, path: '/berth-probe.txt' }, testContext(host))).bodyExcerpt,
    ).toBe('served from p1\n');

    const committed = await runStep(httpCommitVhost, { domain }, testContext(host));
    expect(committed.path).toBe(live());
    expect(Date.parse(committed.reloadedAt)).toBeGreaterThan(Date.now() - 60_000);
    // Served right after the step returns: the reload waited for nginx's new workers.
    const probe = await runStep(
      probeHttp,
      { domain, path: '/berth-probe.txt', expectText: 'served from p2' },
      testContext(host),
    );
    expect(probe.status).toBe(200);
    expect((await readdir(vhostDir())).filter((name) => name.startsWith(domain))).toEqual([`${domain}.conf`]);
    // Nothing prepared any more: a second commit is refused, the live file kept.
    const again = await stepFailure(runStep(httpCommitVhost, { domain }, testContext(host)));
    expect(again.code).toBe(StepErrorCode.NotFound);
    expect(again.message).toContain('no vhost of switch.test is prepared here');
  });

  it('prepares nothing when nginx -t refuses the candidate, the live vhost untouched and served', async () => {
    const before = await readFile(live(), 'utf8');
    const tooLong = `${'x'.repeat(60)}.${'y'.repeat(60)}.${'z'.repeat(60)}.switch.test`;
    const error = await stepFailure(
      runStep(httpPrepareVhost, { domain, platform: 'p1', redirectFrom: [tooLong] }, testContext(host)),
    );
    expect(error.code).toBe(StepErrorCode.ConfigRejected);
    expect(await readFile(live(), 'utf8')).toBe(before);
    expect((await readdir(vhostDir())).filter((name) => name.startsWith(domain))).toEqual([`${domain}.conf`]);
    await stack.test();
    await served('served from p2');
  });

  it('refuses a candidate when another vhost of this nginx is broken: the test is of the whole configuration', async () => {
    const broken = join(vhostDir(), 'broken.test.conf');
    await writeFile(broken, 'server { this is not nginx; }\n');
    try {
      const error = await stepFailure(
        runStep(httpPrepareVhost, { domain, platform: 'p1' }, testContext(host)),
      );
      expect(error.code).toBe(StepErrorCode.ConfigRejected);
      expect(error.message).toMatch(/unknown directive "this"/);
    } finally {
      await rm(broken);
    }
    await served('served from p2');
  });

  it('fails the commit and puts the live vhost back when nginx does not take it after all', async () => {
    const before = await readFile(live(), 'utf8');
    await runStep(httpPrepareVhost, { domain, platform: 'p1' }, testContext(host));
    // Broken after the prepare: the reload is refused by nginx, whose old workers go on serving.
    const broken = join(vhostDir(), 'broken-later.test.conf');
    await writeFile(broken, 'server { this is not nginx; }\n');
    try {
      const error = await stepFailure(runStep(httpCommitVhost, { domain }, testContext(host)));
      expect(error.code).toBe(StepErrorCode.ConfigRejected);
      expect(error.message).toContain('nginx did not take the new configuration');
    } finally {
      await rm(broken);
    }
    expect(await readFile(live(), 'utf8')).toBe(before);
    await served('served from p2');
    await runStep(httpDiscardVhost, { domain }, testContext(host));
  }, 30_000);

  it('lists the domains it has a vhost of, and nothing else in the directory', async () => {
    await writeFile(join(vhostDir(), 'notes.txt'), 'not a vhost\n');
    await runStep(httpPrepareVhost, { domain, platform: 'p1' }, testContext(host));
    try {
      const { domains } = await runStep(httpListVhosts, {}, testContext(host));
      expect(domains).toContain(domain);
      expect(domains).toContain('a.test');
      expect(domains.every((name) => !name.endsWith('.next') && name !== 'notes.txt')).toBe(true);
    } finally {
      await rm(join(vhostDir(), 'notes.txt'));
      await runStep(httpDiscardVhost, { domain }, testContext(host));
    }
  });

  it('discards a prepared vhost (and says when there was none); the live one keeps serving', async () => {
    await runStep(httpPrepareVhost, { domain, platform: 'p1' }, testContext(host));
    expect(await runStep(httpDiscardVhost, { domain }, testContext(host))).toEqual({ discarded: true });
    expect(await runStep(httpDiscardVhost, { domain }, testContext(host))).toEqual({ discarded: false });
    expect((await readdir(vhostDir())).filter((name) => name.startsWith(domain))).toEqual([`${domain}.conf`]);
    await served('served from p2');
  });

  it('puts the live vhost back first when an agent stopped in the middle of a test', async () => {
    // What a kill -9 between "candidate in place" and "live file back" leaves: the candidate at the
    // live name, the live file aside.
    const before = await readFile(live(), 'utf8');
    await writeFile(`${live()}.live`, before);
    await writeFile(live(), before.replaceAll('/platforms/p2/', '/platforms/p1/'));
    await writeFile(join(vhostDir(), 'new.test.conf.none'), '');
    await writeFile(join(vhostDir(), 'new.test.conf'), 'server { listen 127.0.0.1:1; }\n');
    await runStep(httpWriteVhost, { domain: 'a.test', platform: 'p1' }, testContext(host));
    expect(await readFile(live(), 'utf8')).toBe(before);
    const left = (await readdir(vhostDir())).filter(
      (name) => name.startsWith(domain) || name.startsWith('new.'),
    );
    expect(left).toEqual([`${domain}.conf`]);
    await served('served from p2');
    await runStep(httpRemoveVhost, { domain }, testContext(host));
  });
});
