import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiteEdgeView } from '../../shared/src/api.js';
import type { FixturePlatformName } from '../fixtures/platforms.js';
import { startAcmeServer, type AcmeServer } from '../support/acme-server.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { eventually, freePort } from '../support/processes.js';

const run = promisify(execFile);

const PLATFORMS: Record<string, FixturePlatformName> = {
  'fixture-10-2': 'fixture-10.2',
  'fixture-10-3': 'fixture-10.3',
};
/** The database and user names of every domain this file uses (siteDatabaseNames). */
const OWN_NAMES = '^(shop|store|other)_example_';
/** Short-lived certificates from pebble, renewed once they end within 20 s: a renewal every ~10 s. */
const CERTIFICATE_SECONDS = 30;
const RENEW_BEFORE_MS = 20_000;

/**
 * The web edge on real nginx, PHP-FPM and MariaDB, with pebble as the CA: other names served and
 * redirected and kept across a migrate and a rename; HTTPS from pebble, checked by a TLS client that
 * trusts pebble's root only, and renewed before it ends; each site in a PHP-FPM pool of its own, whose
 * user the OS keeps out of the other site's files.
 */
describe('the web edge', () => {
  let acme: AcmeServer;
  let stack: HostingStack;
  let root: string;
  let rootPem: string;
  const caDir = mkdtempSync(join(tmpdir(), 'berth-acme-ca-'));

  const berth = (...args: string[]) => stack.berth(...args);
  const edge = async (domain: string) =>
    (JSON.parse((await berth('site', 'show', domain, '--json')).stdout) as { edge: SiteEdgeView }).edge;
  /** The certificate a TLS client that trusts pebble's root only is shown for a name. */
  const peer = (servername: string) =>
    new Promise<{ authorized: boolean; error: string | null; certificate: PeerCertificate }>(
      (resolve, reject) => {
        const socket = connect(
          { host: '127.0.0.1', port: stack.web.httpsPort, servername, ca: rootPem },
          () => {
            resolve({
              authorized: socket.authorized,
              error: socket.authorizationError ? String(socket.authorizationError) : null,
              certificate: socket.getPeerCertificate(),
            });
            socket.end();
          },
        );
        socket.on('error', reject);
      },
    );
  /** A GET over HTTPS as a browser trusting pebble's root only would send it. */
  const getHttps = (host: string, path = '/') =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const request = httpsRequest(
        {
          host: '127.0.0.1',
          port: stack.web.httpsPort,
          servername: host,
          path,
          ca: rootPem,
          headers: { host },
          agent: false,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
        },
      );
      request.on('error', reject);
      request.end();
    });

  beforeAll(async () => {
    // pebble validates HTTP-01 on the port web1's nginx listens on, every name resolved to loopback.
    const webPort = await freePort();
    acme = await startAcmeServer({
      httpPort: webPort,
      resolveTo: '127.0.0.1',
      certificateValiditySeconds: CERTIFICATE_SECONDS,
    });
    const caFile = join(caDir, 'pebble-listener-ca.pem');
    writeFileSync(caFile, acme.caBundlePem);
    rootPem = await acme.rootPem();
    stack = await startHostingStack({
      label: 'web-edge',
      platforms: PLATFORMS,
      webPort,
      masterEnv: {
        BERTH_ACME_DIRECTORY: acme.directoryUrl,
        BERTH_ACME_CA_FILE: caFile,
        BERTH_CERT_RENEW_BEFORE_MS: String(RENEW_BEFORE_MS),
        BERTH_CERT_CHECK_MS: '2000',
      },
    });
    root = stack.root;
    await berth('site', 'install', 'shop.example', '--platform', 'fixture-10-2');
  });

  afterAll(async () => {
    const leftovers = await stack
      ?.mariadb(
        `SELECT CONCAT('DROP DATABASE \`', schema_name, '\`;') FROM information_schema.schemata WHERE schema_name REGEXP '${OWN_NAMES}'
       UNION ALL SELECT CONCAT('DROP USER ', QUOTE(user), '@', QUOTE(host), ';') FROM mysql.user WHERE user REGEXP '${OWN_NAMES}'`,
      )
      .catch(() => '');
    if (leftovers) await stack.mariadb(leftovers.split('\n').join(' ')).catch(() => undefined);
    // Deleting the sites removes their pools' users (berth-site-*) from this machine.
    for (const domain of ['store.example', 'other.example']) {
      await berth('site', 'disable', domain).catch(() => undefined);
      await berth('site', 'delete', domain, '--yes').catch(() => undefined);
    }
    await stack?.stop();
    await acme?.stop();
    rmSync(caDir, { recursive: true, force: true });
  });

  it('serves one alias and redirects another, and keeps both across a migrate and a rename', async () => {
    await berth('site', 'alias', 'add', 'shop.example', 'www.shop.example');
    await berth('site', 'alias', 'add', 'shop.example', 'old-shop.example', '--redirect');
    const served = await stack.web.request('www.shop.example', '/');
    expect(served.status).toBe(200);
    const redirected = await stack.web.request('old-shop.example', '/node/1?page=2');
    expect(redirected.status).toBe(301);
    expect(redirected.headers.location).toBe('http://shop.example/node/1?page=2');
    // A name that is a name of a site already is refused, with nothing queued.
    const taken = await berth('site', 'alias', 'add', 'shop.example', 'www.shop.example').then(
      () => '',
      (error: { stderr: string }) => error.stderr,
    );
    expect(taken).toMatch(/served by shop.example already/);

    await berth('site', 'migrate', 'shop.example', '--platform', 'fixture-10-3');
    expect((await stack.web.request('www.shop.example', '/')).status).toBe(200);
    expect((await stack.web.request('old-shop.example', '/')).headers.location).toBe('http://shop.example/');

    await berth('site', 'rename', 'shop.example', 'store.example', '--redirect');
    expect((await stack.web.request('www.shop.example', '/')).status).toBe(200);
    expect((await stack.web.request('old-shop.example', '/')).headers.location).toBe('http://store.example/');
    expect((await stack.web.request('shop.example', '/')).headers.location).toBe('http://store.example/');
    const kept = await edge('store.example');
    expect(kept.aliases).toEqual(['www.shop.example']);
    expect(kept.redirects.sort()).toEqual(['old-shop.example', 'shop.example']);

    // A verify writes the vhost again from the registry: the names stay.
    await berth('site', 'verify', 'store.example');
    expect((await stack.web.request('www.shop.example', '/')).status).toBe(200);
    expect((await stack.web.request('shop.example', '/')).headers.location).toBe('http://store.example/');
  });

  it('gets a certificate from the CA for every name and serves HTTPS with it; plain HTTP is redirected', async () => {
    await berth('site', 'https', 'store.example', '--letsencrypt', '--redirect');
    for (const name of ['store.example', 'www.shop.example']) {
      const shown = await peer(name);
      expect(shown.error).toBeNull();
      expect(shown.authorized).toBe(true);
    }
    const { certificate } = await peer('store.example');
    expect(certificate.subjectaltname).toContain('DNS:store.example');
    expect(certificate.subjectaltname).toContain('DNS:www.shop.example');
    expect(certificate.subjectaltname).toContain('DNS:old-shop.example');
    const page = await getHttps('store.example');
    expect(page.status).toBe(200);
    const plain = await stack.web.request('store.example', '/node/1');
    expect(plain.status).toBe(301);
    expect(plain.headers.location).toBe('https://store.example/node/1');
    // A name that redirects goes to the site's own name over HTTPS.
    expect((await getHttps('old-shop.example', '/x')).headers.location).toBe('https://store.example/x');

    const shown = await edge('store.example');
    expect(shown.https).toEqual({ mode: 'letsencrypt', redirect: true, hsts: false });
    expect(shown.certificates).toHaveLength(1);
    expect(shown.certificates[0]!.serial.toLowerCase()).toBe(certificate.serialNumber.toLowerCase());
    const metrics = await (
      await fetch(`${stack.master.url}/metrics`, {
        headers: { authorization: `Bearer ${stack.master.token}` },
      })
    ).text();
    const expiry = new RegExp(
      `berth_certificate_expiry_seconds\\{domain="store.example",server="[^"]+"\\} (\\d+)`,
    ).exec(metrics);
    expect(Number(expiry?.[1])).toBe(Math.floor(Date.parse(shown.certificates[0]!.notAfter) / 1000));
  });

  it('renews a certificate before it ends, and serves the new one', async () => {
    const first = (await edge('store.example')).certificates[0]!;
    const renewed = await eventually(
      'the certificate to be renewed',
      async () => {
        const now = (await edge('store.example')).certificates[0];
        return now && now.serial !== first.serial ? now : undefined;
      },
      CERTIFICATE_SECONDS * 1000,
      500,
    );
    expect(Date.parse(renewed.notAfter)).toBeGreaterThan(Date.parse(first.notAfter));
    const served = await eventually('the new certificate to be served', async () => {
      const { certificate, authorized } = await peer('store.example');
      return authorized && certificate.serialNumber.toLowerCase() !== first.serial.toLowerCase()
        ? certificate
        : undefined;
    });
    expect(Date.parse(served.valid_to)).toBeGreaterThan(Date.parse(first.notAfter) - 1000);
    // Before the first one ended.
    expect(Date.now()).toBeLessThan(Date.parse(first.notAfter));
    const tasks = JSON.parse((await berth('task', 'list', '--json')).stdout) as Array<{
      type: string;
      state: string;
    }>;
    expect(tasks.some((task) => task.type === 'site.certificate' && task.state === 'succeeded')).toBe(true);
  });

  it("runs each site's PHP as its own user: one site's code cannot read the other's settings or files", async () => {
    await berth('site', 'install', 'other.example', '--platform', 'fixture-10-3');
    const mine = await edge('store.example');
    const theirs = await edge('other.example');
    expect(mine.pool?.user).toMatch(/^berth-site-\d+$/);
    expect(theirs.pool?.user).toMatch(/^berth-site-\d+$/);
    expect(mine.pool!.uid).not.toBe(theirs.pool!.uid);

    // The other site's own PHP writes a file into its files directory.
    const upload = await stack.web.request('other.example', '/file/upload', {
      form: { name: 'secret.txt', content: 'the other site only' },
    });
    expect(upload.status).toBe(201);
    const otherSettings = join(root, 'sites', 'other.example', 'settings.php');
    const otherFile = join(root, 'sites', 'other.example', 'files', 'secret.txt');
    const read = (host: string, path: string) =>
      getHttps(host, `/fixture/read?path=${encodeURIComponent(path)}`).catch(() =>
        stack.web.request(host, `/fixture/read?path=${encodeURIComponent(path)}`),
      );
    // Its own settings: readable by its own pool.
    expect(
      (await stack.web.request('other.example', `/fixture/read?path=${encodeURIComponent(otherSettings)}`))
        .status,
    ).toBe(200);
    for (const path of [otherSettings, otherFile]) {
      const answer = await read('store.example', path);
      expect(answer.status).toBe(403);
    }
    // Without PHP's open_basedir in the way, the OS itself refuses the pool's user.
    for (const path of [otherSettings, otherFile]) {
      const refused = await run('setpriv', [
        `--reuid=${mine.pool!.uid}`,
        `--regid=${mine.pool!.uid}`,
        '--clear-groups',
        'cat',
        path,
      ]).then(
        () => 'read',
        (error: { stderr: string }) => error.stderr,
      );
      expect(refused).toMatch(/Permission denied/);
    }
    const own = await run('setpriv', [
      `--reuid=${theirs.pool!.uid}`,
      `--regid=${theirs.pool!.uid}`,
      '--clear-groups',
      'cat',
      otherFile,
    ]);
    expect(own.stdout).toBe('the other site only');
  });

  it('refuses a PHP setting off the allow-list or out of its form, and changes one that is on it', async () => {
    const refused = await berth('site', 'php', 'other.example', '--set', 'disable_functions=').catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect((refused as { stderr: string }).stderr).toMatch(/not a PHP setting a site may change/);
    await berth('site', 'php', 'other.example', '--set', 'memory_limit=256M');
    const pool = (await edge('other.example')).pool!;
    expect(pool.settings).toEqual({ memory_limit: '256M' });
    expect((await stack.web.request('other.example', '/')).status).toBe(200);
  });

  it('serves an uploaded certificate, keeps its key out of the task, and refuses one that does not name the site', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-upload-'));
    try {
      const made = async (name: string, names: string[]) => {
        const [cert, key] = [join(dir, `${name}.crt`), join(dir, `${name}.key`)];
        await run('openssl', [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '2',
          '-subj',
          `/CN=${names[0]}`,
          '-addext',
          `subjectAltName=${names.map((item) => `DNS:${item}`).join(',')}`,
          '-keyout',
          key,
          '-out',
          cert,
        ]);
        return { cert, key };
      };
      const wrong = await made('wrong', ['elsewhere.example']);
      const refused = await berth(
        'site',
        'https',
        'other.example',
        '--cert',
        wrong.cert,
        '--key',
        wrong.key,
      ).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('does not name other.example');

      const own = await made('own', ['other.example']);
      const task = JSON.parse(
        (await berth('site', 'https', 'other.example', '--cert', own.cert, '--key', own.key, '--json'))
          .stdout,
      ) as { id: string; state: string };
      expect(task.state).toBe('succeeded');
      const ca = readFileSync(own.cert, 'utf8');
      const shown = await new Promise<{ authorized: boolean }>((resolve, reject) => {
        const socket = connect(
          { host: '127.0.0.1', port: stack.web.httpsPort, servername: 'other.example', ca },
          () => {
            resolve({ authorized: socket.authorized });
            socket.end();
          },
        );
        socket.on('error', reject);
      });
      expect(shown.authorized).toBe(true);
      // The key reached the server as a secret: not in the task, its steps or its log.
      const record =
        (await berth('task', 'show', task.id, '--json')).stdout +
        (await berth('task', 'log', task.id)).stdout;
      expect(record).not.toContain('PRIVATE KEY');
      expect(record).not.toContain(readFileSync(own.key, 'utf8').split('\n')[1]!);
      expect((await edge('other.example')).certificates[0]).toMatchObject({
        mode: 'uploaded',
        names: ['other.example'],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails a pool change that PHP-FPM's test refuses, puts the pool back, and PHP-FPM serves on", async () => {
    // A pool file PHP-FPM cannot load, left beside Berth's (by hand, or by another tool).
    const stray = join(root, 'config', 'php-fpm', 'zz-by-hand.conf');
    writeFileSync(stray, '[by-hand]\nuser = nobody\nlisten = /nonexistent/by-hand.sock\npm = sometimes\n');
    try {
      const failed = await berth('site', 'php', 'other.example', '--set', 'memory_limit=512M').catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect((failed as { code: number }).code).toBe(1);
      // PHP-FPM's own words, naming the file it could not load.
      expect((failed as { stderr: string }).stderr).toContain('invalid process manager');
      expect((failed as { stderr: string }).stderr).toContain('zz-by-hand.conf');
    } finally {
      rmSync(stray, { force: true });
    }
    expect((await edge('other.example')).pool!.settings).toEqual({ memory_limit: '256M' });
    expect((await stack.web.request('other.example', '/')).status).toBe(200);
    expect((await getHttps('store.example')).status).toBe(200);
  });
});
