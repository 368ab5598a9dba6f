import { createHash, randomBytes, randomInt } from 'node:crypto';
import { lstat, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import type { StepName } from '../../../../shared/src/steps.js';
import { buildFixturePlatform } from '../../../../test/fixtures/platforms.js';
import { startWebStack, type WebStack } from '../../../../test/support/web-stack.js';
import { PhpFpm, socketAnswers } from '../../adapters/php-fpm.js';
import { readGroups, readUsers } from '../../adapters/unix-users.js';
import { type HostSettings, loadHostSettings } from '../../config.js';
import { DrupalSite } from '../../drivers/drupal.js';
import { testMariaDb } from '../../testing/mariadb.js';
import { runStep, stepFailure, testContext, testRoot, uniqueDbName } from '../../testing/step-context.js';
import { appInstall } from '../app/install.js';
import { dbCreate } from '../db/create.js';
import { dbDrop } from '../db/drop.js';
import { probeHttp } from '../probe/http.js';
import { httpWriteVhost } from '../http/write-vhost.js';
import { siteCopy } from '../site/copy.js';
import { siteLink } from '../site/link.js';
import { siteRemove } from '../site/remove.js';
import { siteWriteSettings } from '../site/write-settings.js';
import { replacePool } from './pool-files.js';
import { phpRemovePool } from './remove-pool.js';
import type { StepHandler } from '../step.js';
import { phpWritePool } from './write-pool.js';

/**
 * Sites' own PHP-FPM pools on a real private PHP-FPM and nginx (startWebStack), with real Unix
 * users: two sites on one platform, each running as its own user, neither able to read the
 * other's settings, files or private files, through PHP (open_basedir) nor through the OS (owners
 * and modes).
 */

let root: Awaited<ReturnType<typeof testRoot>>;
let stack: WebStack;
let host: HostSettings;

const tag = randomBytes(3).toString('hex');
/** The test's Unix users (made by the steps, deleted in afterAll whatever happens). */
const users = { a: `bt${tag}a`, b: `bt${tag}b`, c: `bt${tag}c`, other: `bt${tag}x` };
/** A site's pool socket: named by its domain (pool-files.ts), whatever user runs it. */
const socketOf = (domain: string) =>
  join(
    root.root,
    'run',
    'php-fpm',
    `site-${createHash('sha256').update(domain).digest('hex').slice(0, 16)}.sock`,
  );
const uids: Record<keyof typeof users, number> = { a: 0, b: 0, c: 0, other: 0 };
const A = 'a.test';
const B = 'b.test';
const GREEN = 'green-a.test';

/**
 * The platform's front controller for this test: as the site of the Host header, it tries to read
 * both sites' settings.php, a public file and a private file, and reports what PHP says.
 */
const PROBE_PHP = `<?php
header('Content-Type: application/json');
$root = dirname(__DIR__, 3);
$result = ['user' => posix_getpwuid(posix_geteuid())['name'], 'reads' => []];
$warnings = [];
set_error_handler(function ($level, $message) use (&$warnings) { $warnings[] = $message; return TRUE; });
foreach (['${A}', '${B}'] as $site) {
  foreach (['settings.php', 'files/secret.txt', 'private/secret.txt'] as $file) {
    $warnings = [];
    $content = file_get_contents("$root/sites/$site/$file");
    $result['reads']["$site/$file"] = $content === false ? implode(' / ', $warnings) : 'read';
  }
}
$result['memory_limit'] = ini_get('memory_limit');
$result['raised'] = ini_set('memory_limit', '4G') !== false;
echo json_encode($result);
`;

function freeId(taken: Set<number>): number {
  for (;;) {
    const id = randomInt(1_900_000_000, 2_000_000_000);
    if (!taken.has(id)) {
      taken.add(id);
      return id;
    }
  }
}

const context = (secrets: Record<string, string> = {}) => testContext(host, { secrets });

async function setUpSite(domain: string, who: 'a' | 'b', poolFirst: boolean) {
  const pool = () =>
    runStep(
      phpWritePool,
      { domain, user: users[who], uid: uids[who], settings: { memory_limit: '192M' } },
      context(),
    );
  const settings = () =>
    runStep(
      siteWriteSettings,
      {
        domain,
        platform: 'p1',
        database: `db_${who}`,
        user: `u_${who}`,
        dbHost: '127.0.0.1',
        dbPort: 3306,
        trustedHosts: [domain],
      },
      context({ dbPassword: `secret-of-${who}` }),
    );
  if (poolFirst) {
    await pool();
    await settings();
  } else {
    await settings();
    await pool();
  }
  await runStep(siteLink, { domain, platform: 'p1' }, context());
  await runStep(httpWriteVhost, { domain, platform: 'p1' }, context());
}

/** What the probe script says as `domain`; a reload is graceful, so asked until nginx serves it. */
async function probe(domain: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await stack.request(domain, '/');
    if (response.status === 200 || Date.now() > deadline) {
      expect(response.status, `${domain}: ${response.body}\n${stack.logs()}`).toBe(200);
      return JSON.parse(response.body) as {
        user: string;
        reads: Record<string, string>;
        memory_limit: string;
        raised: boolean;
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `php -n` (no php.ini: no open_basedir) as a user: what the OS alone lets it read. */
async function readAs(uid: number, path: string): Promise<string> {
  const result = await execa(
    'setpriv',
    [
      `--reuid=${uid}`,
      `--regid=${uid}`,
      '--init-groups',
      'php',
      '-n',
      '-r',
      'echo file_get_contents($argv[1]);',
      path,
    ],
    { reject: false },
  );
  return `${result.stdout}${result.stderr}`;
}

const site = (domain: string, ...parts: string[]) => join(root.root, 'sites', domain, ...parts);

beforeAll(async () => {
  root = await testRoot();
  const web = join(root.root, 'platforms', 'p1', 'web');
  await mkdir(join(web, 'sites'), { recursive: true });
  await writeFile(join(web, 'index.php'), PROBE_PHP);
  // A drush that says who runs it, for the driver.
  await mkdir(join(root.root, 'platforms', 'p1', 'vendor', 'bin'), { recursive: true });
  await writeFile(
    join(root.root, 'platforms', 'p1', 'vendor', 'bin', 'drush'),
    '#!/bin/sh\necho "$(id -un) HOME=$HOME"\n',
    { mode: 0o755 },
  );
  const taken = new Set([
    ...(await readUsers()).map((user) => user.uid),
    ...(await readGroups()).map((group) => group.gid),
  ]);
  for (const who of Object.keys(users) as (keyof typeof users)[]) uids[who] = freeId(taken);
  stack = await startWebStack({ root: root.root });
  host = loadHostSettings({
    root: root.root,
    nginxConf: stack.nginxConf,
    phpFpmSocket: stack.phpFpmSocket,
    phpFpmConf: stack.phpFpmConf,
    httpPort: `127.0.0.1:${stack.port}`,
  });
  if (!host.webUser)
    throw new Error('these tests need the www-data user (nginx and PHP-FPM packages make it)');
});

afterAll(async () => {
  await stack?.stop();
  for (const name of Object.values(users)) {
    await execa('userdel', [name], { reject: false });
    await execa('groupdel', [name], { reject: false });
  }
  await root?.remove();
});

describe('php.write-pool and php.remove-pool', () => {
  it('gives two sites on one platform each their own pool, user and socket', async () => {
    await setUpSite(A, 'a', true);
    await setUpSite(B, 'b', false);
    for (const [domain, who] of [
      [A, 'a'],
      [B, 'b'],
    ] as const) {
      await writeFile(site(domain, 'files', 'secret.txt'), `public file of ${domain}\n`);
      await writeFile(site(domain, 'private', 'secret.txt'), `private file of ${domain}\n`);
      // Again, unchanged: nothing reloaded, and what is in the site directory is the user's.
      const again = await runStep(
        phpWritePool,
        { domain, user: users[who], uid: uids[who], settings: { memory_limit: '192M' } },
        context(),
      );
      expect(again).toEqual({
        path: join(root.root, 'config', 'php-fpm', `${domain}.conf`),
        socket: socketOf(domain),
        changed: false,
        user: users[who],
      });
      const vhost = await readFile(join(root.root, 'config', 'nginx', `${domain}.conf`), 'utf8');
      expect(vhost).toContain(`fastcgi_pass unix:${again.socket};`);

      const uid = uids[who];
      const owner = async (path: string) => {
        const stats = await lstat(path);
        return { uid: stats.uid, gid: stats.gid, mode: (stats.mode & 0o777).toString(8) };
      };
      expect(await owner(site(domain))).toEqual({ uid: 0, gid: uid, mode: '750' });
      expect(await owner(site(domain, 'settings.php'))).toEqual({ uid: 0, gid: uid, mode: '440' });
      expect(await owner(site(domain, 'files'))).toMatchObject({ uid, gid: uid });
      expect(await owner(site(domain, 'files', 'secret.txt'))).toMatchObject({ uid, gid: uid });
      expect(await owner(site(domain, 'private', 'secret.txt'))).toMatchObject({ uid, gid: uid });
      const config = join(root.root, 'config', 'sites', domain);
      expect(await owner(config)).toEqual({ uid: 0, gid: uid, mode: '750' });
      expect(await owner(join(config, 'credentials.php'))).toEqual({ uid: 0, gid: uid, mode: '640' });
      expect(await owner(join(root.root, 'tmp', 'php', users[who]))).toEqual({ uid, gid: uid, mode: '700' });

      const account = (await readUsers()).find((user) => user.name === users[who]);
      expect(account).toMatchObject({ uid, gid: uid, comment: 'Berth site user' });
      // nginx's user is in the site's group: it serves the site's public files through it.
      const group = (await readGroups()).find((entry) => entry.name === users[who]);
      expect(group?.members).toContain(host.webUser!.name);
    }
  });

  it("runs each site's PHP as its user, which open_basedir keeps out of the other site", async () => {
    const asA = await probe(A);
    expect(asA.user).toBe(users.a);
    expect(asA.memory_limit).toBe('192M');
    expect(asA.raised).toBe(false);
    for (const file of ['settings.php', 'files/secret.txt', 'private/secret.txt']) {
      expect(asA.reads[`${A}/${file}`]).toBe('read');
      expect(asA.reads[`${B}/${file}`]).toMatch(/open_basedir restriction in effect/);
    }
    const asB = await probe(B);
    expect(asB.user).toBe(users.b);
    for (const file of ['settings.php', 'files/secret.txt', 'private/secret.txt']) {
      expect(asB.reads[`${B}/${file}`]).toBe('read');
      expect(asB.reads[`${A}/${file}`]).toMatch(/open_basedir restriction in effect/);
    }
  });

  it("lets the OS refuse too: a site's user cannot read the other's files even without open_basedir", async () => {
    expect(await readAs(uids.a, site(A, 'settings.php'))).toContain('$settings');
    expect(await readAs(uids.a, site(A, 'private', 'secret.txt'))).toBe(`private file of ${A}`);
    for (const path of [
      site(B, 'settings.php'),
      site(B, 'files', 'secret.txt'),
      site(B, 'private', 'secret.txt'),
      join(root.root, 'config', 'sites', B, 'credentials.php'),
    ]) {
      expect(await readAs(uids.a, path)).toMatch(/Permission denied/);
    }
    // nginx's user reads the sites' public files through their groups.
    const web = host.webUser!;
    for (const domain of [A, B]) {
      const cat = await execa(
        'setpriv',
        [
          `--reuid=${web.uid}`,
          `--regid=${web.gid}`,
          '--init-groups',
          'cat',
          site(domain, 'files', 'secret.txt'),
        ],
        { reject: false },
      );
      expect(cat.stdout).toBe(`public file of ${domain}`);
    }
  });

  it('runs drush as the site user, with its HOME in the user’s temporary directory', async () => {
    const output = await new DrupalSite(context(), 'p1', A).run(['status']);
    expect(output.trim()).toBe(`${users.a} HOME=${join(root.root, 'tmp', 'php', users.a, 'drush-home')}`);
  });

  it('puts the previous pool back when PHP-FPM refuses the new one, and keeps serving both sites', async () => {
    const path = join(root.root, 'config', 'php-fpm', `${A}.conf`);
    const before = await readFile(path, 'utf8');
    const fpm = new PhpFpm(context());
    const broken = before.replace(/^pm\.max_children = \d+$/m, 'pm.max_children = lots');
    const refused = await stepFailure(
      fpm.exclusive(() => replacePool(context(), fpm, path, broken, { answers: [] })),
    );
    expect(refused.code).toBe(StepErrorCode.ConfigRejected);
    expect(refused.message).toMatch(
      /^PHP-FPM refused the configuration: \[.*a\.test\.conf:\d+\] unable to parse value for entry 'pm\.max_children'/,
    );
    expect(await readFile(path, 'utf8')).toBe(before);

    // Through the step: another file PHP-FPM cannot load is in its directory.
    const stray = join(root.root, 'config', 'php-fpm', 'zz-stray.conf');
    await writeFile(stray, '[stray]\nuser = nobody\nlisten = /nonexistent/s.sock\npm = sometimes\n');
    const ctx = context();
    const failed = await stepFailure(
      runStep(
        phpWritePool,
        { domain: A, user: users.a, uid: uids.a, settings: { memory_limit: '256M' } },
        ctx,
      ),
    );
    expect(failed.code).toBe(StepErrorCode.ConfigRejected);
    expect(failed.message).toMatch(/PHP-FPM refused the configuration: .*pm/);
    expect(ctx.lines).toContain(`agent: ${path} put back as it was`);
    expect(await readFile(path, 'utf8')).toBe(before);
    await execa('rm', ['-f', stray]);

    expect((await probe(A)).user).toBe(users.a);
    expect((await probe(B)).user).toBe(users.b);
  });

  it("refuses to write a pool PHP-FPM's configuration does not include, and says which line to add", async () => {
    const dir = join(root.root, 'fpm-check');
    await mkdir(join(dir, 'pool.d'), { recursive: true });
    const main = join(dir, 'php-fpm.conf');
    await writeFile(main, `[global]\npid = ${dir}/fpm.pid\ninclude=${dir}/pool.d/*.conf\n`);
    const elsewhere = { ...host, phpFpmConf: main };
    const refused = await stepFailure(
      runStep(
        phpWritePool,
        { domain: 'c.test', user: users.other, uid: uids.other, settings: {} },
        testContext(elsewhere),
      ),
    );
    expect(refused.code).toBe(StepErrorCode.MissingDependency);
    expect(refused.message).toContain(
      `add the line "include=${join(root.root, 'config', 'php-fpm')}/*.conf"`,
    );
    expect((await readUsers()).some((user) => user.name === users.other)).toBe(false);

    // As ops/web-services.sh does it: a file of pool.d includes the pools (PHP-FPM follows it).
    await writeFile(
      join(dir, 'pool.d', 'berth.conf'),
      `[global]\ninclude=${root.root}/config/php-fpm/*.conf\n`,
    );
    expect(await new PhpFpm(testContext(elsewhere)).includes(join(root.root, 'config', 'php-fpm'))).toBe(
      true,
    );
    // A pattern that would take the agent's `.conf.old` copies in too does not count.
    await writeFile(join(dir, 'pool.d', 'berth.conf'), `include=${root.root}/config/php-fpm/*\n`);
    expect(await new PhpFpm(testContext(elsewhere)).includes(join(root.root, 'config', 'php-fpm'))).toBe(
      false,
    );
  });

  it("refuses another site's user, a uid that is someone else's and a user Berth did not make", async () => {
    const refused = (params: Record<string, unknown>) =>
      stepFailure(runStep(phpWritePool, { domain: 'c.test', settings: {}, ...params }, context()));
    expect((await refused({ user: users.a, uid: uids.a })).message).toMatch(
      new RegExp(`user ${users.a} runs the pool of a\\.test already`),
    );
    expect((await refused({ user: users.other, uid: uids.a })).message).toMatch(
      new RegExp(`uid ${uids.a} belongs to user ${users.a}`),
    );
    await execa('useradd', ['-u', String(uids.other), '-M', '-s', '/usr/sbin/nologin', users.other]);
    try {
      expect((await refused({ user: users.other, uid: uids.other })).message).toMatch(
        /was not made by Berth/,
      );
    } finally {
      await execa('userdel', [users.other], { reject: false });
      await execa('groupdel', [users.other], { reject: false });
    }
    expect((await refused({ user: 'root', uid: 1000 })).code).toBe(StepErrorCode.InvalidParams);
    expect((await refused({ user: 'ok', uid: 33 })).message).toMatch(/uid must be between 1000/);
    expect((await refused({ user: 'ok', uid: 5000, settings: { disable_functions: '' } })).message).toMatch(
      /not a PHP setting a site may change/,
    );
  });

  it("runs a twin (blue-green copy) as its site's user, and a clone in the shared pool until it has its own", async () => {
    await runStep(
      siteWriteSettings,
      {
        domain: GREEN,
        platform: 'p1',
        database: 'db_green',
        user: 'u_a',
        dbHost: '127.0.0.1',
        dbPort: 3306,
        trustedHosts: [GREEN],
        sameAs: A,
      },
      context({ dbPassword: 'secret-of-green' }),
    );
    const twinPool = await readFile(join(root.root, 'config', 'php-fpm', `${GREEN}.conf`), 'utf8');
    expect(twinPool).toContain(`; twin of ${A}\n`);
    expect(twinPool).toContain(`user = ${users.a}\n`);
    expect(await stat(site(GREEN, 'settings.php'))).toMatchObject({ uid: 0, gid: uids.a });
    await runStep(siteLink, { domain: GREEN, platform: 'p1' }, context());
    await runStep(httpWriteVhost, { domain: GREEN, platform: 'p1' }, context());
    const asGreen = await probe(GREEN);
    expect(asGreen.user).toBe(users.a);
    expect(asGreen.reads[`${A}/files/secret.txt`]).toBe('read');
    expect(asGreen.reads[`${B}/settings.php`]).toMatch(/open_basedir/);
    await runStep(siteRemove, { domain: GREEN }, context());
    expect((await readUsers()).some((user) => user.name === users.a)).toBe(true);

    await runStep(siteCopy, { domain: A, targetDomain: 'clone-a.test' }, context());
    const web = host.webUser!;
    expect(await stat(site('clone-a.test', 'files', 'secret.txt'))).toMatchObject({ uid: web.uid });
    expect(((await stat(site('clone-a.test'))).mode & 0o777).toString(8)).toBe('755');
    await runStep(siteRemove, { domain: 'clone-a.test' }, context());
  });

  it('removes a pool and its user; site.remove removes the pool of the site it removes', async () => {
    const socketB = socketOf(B);
    expect(await runStep(phpRemovePool, { domain: B }, context())).toEqual({ removed: true });
    expect(await socketAnswers(socketB)).toBe(false);
    expect((await readUsers()).some((user) => user.name === users.b)).toBe(false);
    expect((await readGroups()).some((group) => group.name === users.b)).toBe(false);
    // Back in the shared pool's hands: the web user's files, a directory others may enter.
    expect(await stat(site(B, 'files', 'secret.txt'))).toMatchObject({ uid: host.webUser!.uid });
    expect(((await stat(site(B))).mode & 0o777).toString(8)).toBe('755');
    expect(await runStep(phpRemovePool, { domain: B }, context())).toEqual({ removed: false });

    const removed = await runStep(siteRemove, { domain: A }, context());
    expect(removed.removed).toContain(join(root.root, 'config', 'php-fpm', `${A}.conf`));
    expect((await readUsers()).some((user) => user.name === users.a)).toBe(false);
    expect(await socketAnswers(stack.phpFpmSocket)).toBe(true);
  });
});

describe('a fixture Drupal site in its own pool', () => {
  let mariadb: Awaited<ReturnType<typeof testMariaDb>>;
  let withDb: HostSettings;
  const domain = 'drupal-c.test';
  const database = uniqueDbName('pool');
  const dbUser = uniqueDbName('u');
  const step = <S extends StepName>(
    handler: StepHandler<S>,
    params: unknown,
    secrets: Record<string, string> = {},
  ) => runStep(handler, params, testContext(withDb, { secrets }));

  beforeAll(async () => {
    mariadb = await testMariaDb();
    buildFixturePlatform('fixture-10.2', join(root.root, 'platforms', 'fixture-102'));
    withDb = { ...host, dbAdminDefaults: mariadb.adminDefaults };
  });
  afterAll(async () => {
    await step(dbDrop, { database, user: dbUser, host: '%' }).catch(() => undefined);
    await mariadb?.close();
  });

  it("is installed by drush as its user, serves, and what its PHP writes is its user's", async () => {
    const place = { domain, platform: 'fixture-102' };
    await step(dbCreate, { database, user: dbUser, host: '%' }, { dbPassword: 'pw-of-c' });
    await step(phpWritePool, { domain, user: users.c, uid: uids.c, settings: {} });
    await step(
      siteWriteSettings,
      { ...place, database, user: dbUser, dbHost: '127.0.0.1', dbPort: 3306, trustedHosts: [domain] },
      { dbPassword: 'pw-of-c' },
    );
    await step(siteLink, place);
    await step(httpWriteVhost, place);
    await step(appInstall, { ...place, profile: 'standard', siteName: 'Site C', accountName: 'admin' });
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await step(probeHttp, { domain, expectText: 'Site C' });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const upload = await stack.request(domain, '/file/upload', {
      form: { name: 'hello.txt', content: 'hi' },
    });
    expect(upload.status, upload.body).toBe(201);
    expect(await stat(site(domain, 'files', 'hello.txt'))).toMatchObject({ uid: uids.c, gid: uids.c });
    await step(siteRemove, { domain });
    expect((await readUsers()).some((user) => user.name === users.c)).toBe(false);
  });
});
