import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import type { StepName } from '../../../../shared/src/steps.js';
import { buildFixturePlatform, FIXTURE_PLATFORMS } from '../../../../test/fixtures/platforms.js';
import { startWebStack, type WebStack } from '../../../../test/support/web-stack.js';
import { type HostSettings, loadHostSettings } from '../../config.js';
import { DrupalSite } from '../../drivers/drupal.js';
import { testMariaDb } from '../../testing/mariadb.js';
import {
  MemoryArchives,
  runStep,
  stepFailure,
  testContext,
  testRoot,
  uniqueDbName,
} from '../../testing/step-context.js';
import { dbCreate } from '../db/create.js';
import { dbDrop } from '../db/drop.js';
import { dbDump } from '../db/dump.js';
import { dbImport } from '../db/import.js';
import { dbSchemaVersions } from '../db/schema-versions.js';
import { httpWriteVhost } from '../http/write-vhost.js';
import { probeHttp } from '../probe/http.js';
import { siteLink } from '../site/link.js';
import { siteWriteSettings } from '../site/write-settings.js';
import type { StepHandler } from '../step.js';
import { appCron } from './cron.js';
import { appHook } from './hook.js';
import { appInstall } from './install.js';
import { appLoginLink } from './login-link.js';
import { appMaintenance } from './maintenance.js';
import { appPackages } from './packages.js';
import { appReadonly } from './readonly.js';
import { appStatus } from './status.js';
import { appUpdateStatus } from './update-status.js';
import { appUpdate } from './update.js';

/**
 * A site's life through the agent's steps only, on real MariaDB, nginx, PHP-FPM and the fixture
 * platforms' drush: create, install, serve, read-only, maintenance, login link, then move to a newer
 * platform and update; a failing update is reported and rolled back from a dump.
 */

let mariadb: Awaited<ReturnType<typeof testMariaDb>>;
let root: Awaited<ReturnType<typeof testRoot>>;
let stack: WebStack;
let host: HostSettings;
const logs: string[] = [];
const drop: { database: string; user: string }[] = [];
const domain = 'site1.test';
const password = `pw'${randomBytes(12).toString('base64url')}\\`;

beforeAll(async () => {
  mariadb = await testMariaDb();
  root = await testRoot();
  for (const name of ['fixture-10.2', 'fixture-10.3', 'fixture-10.3-broken-update'] as const) {
    buildFixturePlatform(name, join(root.root, 'platforms', name.replaceAll('.', '')));
  }
  stack = await startWebStack({ root: root.root });
  host = loadHostSettings({
    root: root.root,
    nginxConf: stack.nginxConf,
    phpFpmSocket: stack.phpFpmSocket,
    httpPort: `127.0.0.1:${stack.port}`,
    dbAdminDefaults: mariadb.adminDefaults,
    // The test's PHP-FPM runs as root, and the temp root is not reachable by www-data.
    webUser: 'root',
  });
});

afterAll(async () => {
  for (const { database, user } of drop) {
    await runStep(dbDrop, { database, user, host: '%' }, testContext(host)).catch(() => undefined);
  }
  await stack?.stop();
  await root?.remove();
  await mariadb?.close();
});

async function step<S extends StepName>(
  handler: StepHandler<S>,
  params: unknown,
  secrets: Record<string, string> = {},
) {
  const context = testContext(host, { secrets });
  try {
    return await runStep(handler, params, context);
  } finally {
    logs.push(...context.lines);
  }
}

async function probeUntil(params: Record<string, unknown>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await step(probeHttp, params);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('a Drupal site through the agent steps', () => {
  const database = uniqueDbName('site');
  const user = uniqueDbName('u');
  const site = { domain, platform: 'fixture-102' };

  it('is created, installed and served', async () => {
    drop.push({ database, user });
    await step(dbCreate, { database, user, host: '%' }, { dbPassword: password });
    await step(
      siteWriteSettings,
      {
        domain,
        platformPath: join(root.root, 'platforms', 'fixture-102'),
        database,
        user,
        dbHost: '127.0.0.1',
        dbPort: 3306,
        trustedHosts: [domain],
      },
      { dbPassword: password },
    );
    await step(siteLink, site);
    await step(httpWriteVhost, site);
    await step(appInstall, { ...site, profile: 'standard', siteName: 'Site One', accountName: 'admin' });
    await probeUntil({ domain, expectText: 'Site One' });

    const status = await step(appStatus, site);
    expect(status).toMatchObject({ drupalVersion: '10.2.0', dbStatus: 'Connected', bootstrap: 'Successful' });
    expect(JSON.stringify(status)).not.toContain(password);

    const packages = (await step(appPackages, site)).packages.map((found) => found.name);
    expect(packages).toEqual(
      expect.arrayContaining(['system', 'node', 'token', 'pathauto', 'readonlymode', 'olivero']),
    );

    const { versions } = await step(dbSchemaVersions, { database });
    const expected = FIXTURE_PLATFORMS['fixture-10.2'].packages;
    for (const name of ['system', 'token', 'pathauto', 'readonlymode']) {
      expect(versions[name], name).toBe(expected[name]?.installedSchema);
    }
  });

  it('goes read-only and into maintenance, and back', async () => {
    await step(appReadonly, { ...site, on: true });
    expect((await stack.request(domain, '/node', { form: { title: 'refused' } })).status).toBe(403);
    await probeUntil({ domain, expectStatus: [200] });
    await step(appReadonly, { ...site, on: false });
    expect((await stack.request(domain, '/node', { form: { title: 'accepted' } })).status).toBe(303);

    expect(await step(appMaintenance, { ...site, on: true })).toEqual({ on: true });
    await probeUntil({ domain, expectStatus: [503] });
    await step(appMaintenance, { ...site, on: false });
    await probeUntil({ domain, expectStatus: [200] });
    expect(await step(appCron, site)).toEqual({ ran: true });
  });

  it('gives a one-time login link that is in the output only', async () => {
    const { url } = await step(appLoginLink, { ...site, uid: 1 });
    expect(url).toMatch(new RegExp(`^http://${domain}/user/reset/1/\\d+/[\\w-]+/login$`));
    expect(logs.join('\n')).not.toContain(url);
    const path = new URL(url).pathname;
    expect((await stack.request(domain, path)).status).toBeLessThan(400);
  });

  it('moves to a newer platform and runs its updates', async () => {
    const next = { domain, platform: 'fixture-103' };
    await step(siteLink, next);
    const { pending } = await step(appUpdateStatus, next);
    const names = pending.map(
      (update) =>
        `${update.module}_${update.type === 'post-update' ? 'post_update' : 'update'}_${update.updateId}`,
    );
    expect(names.sort()).toEqual([
      'pathauto_update_8109',
      'system_post_update_convert_menu_links',
      'system_update_10300',
    ]);
    expect((await step(appUpdate, next)).pendingBefore).toHaveLength(3);
    expect((await step(appUpdateStatus, next)).pending).toEqual([]);
    await step(httpWriteVhost, next);
    await probeUntil({ domain, expectText: 'Site One' });
    expect((await step(appStatus, next)).drupalVersion).toBe('10.3.0');
    const { versions } = await step(dbSchemaVersions, { database });
    expect(versions).toMatchObject({ system: 10300, pathauto: 8109 });
  });

  it('runs deploy hooks: a config import from the sync directory, deploy hooks of a module in the site directory', async () => {
    const next = { domain, platform: 'fixture-103' };
    const drush = new DrupalSite(testContext(host), next.platform, domain);
    const slogan = async () =>
      JSON.parse(await drush.run(['config:get', 'system.site', 'slogan', '--format=json'])) as Record<
        string,
        string
      >;
    const siteDir = join(root.root, 'sites', domain);
    const sync = join(siteDir, 'private', 'config', 'sync');
    await mkdir(sync, { recursive: true });
    await writeFile(join(sync, 'system.site.yml'), "name: 'Site One'\nslogan: 'Shipped by a hook'\n");
    expect(await step(appHook, { ...next, hook: 'config:import' })).toMatchObject({ hook: 'config:import' });
    expect(await slogan()).toEqual({ 'system.site:slogan': 'Shipped by a hook' });

    // A file the import cannot read fails it, and nothing of it is written.
    await writeFile(join(sync, 'system.site.yml'), "slogan: 'Not this'\nthis line is not YAML\n");
    const malformed = await stepFailure(step(appHook, { ...next, hook: 'config:import' }));
    expect(malformed.code).toBe(StepErrorCode.CommandFailed);
    expect(malformed.stderrTail).toMatch(/Unable to parse at line 2/);
    expect(await slogan()).toEqual({ 'system.site:slogan': 'Shipped by a hook' });

    // A module of the site's own (sites/<domain>/modules: a site repository's code), its deploy hook run once.
    const module = join(siteDir, 'modules', 'site_tweaks');
    await mkdir(module, { recursive: true });
    await writeFile(
      join(module, 'site_tweaks.info.yml'),
      'name: Site tweaks\ntype: module\ncore_version_requirement: ^10\n',
    );
    await writeFile(
      join(module, 'site_tweaks.deploy.php'),
      "<?php\nfunction site_tweaks_deploy_front_page() {\n  fixture_kv_set($GLOBALS['fixture_db'], 'fixture.deploy', 'front', (fixture_kv_get($GLOBALS['fixture_db'], 'fixture.deploy', 'front') ?? 0) + 1);\n  return 'Front page set.';\n}\n",
    );
    await drush.run(['pm:install', 'site_tweaks', '--yes']);
    await step(appHook, { ...next, hook: 'deploy:hook' });
    await step(appHook, { ...next, hook: 'deploy:hook' });
    expect(
      await mariadb.sql(
        "SELECT value FROM key_value WHERE collection = 'fixture.deploy' AND name = 'front';",
        {
          database,
        },
      ),
    ).toBe('i:1;');
    expect(logs.join('\n')).toMatch(/Deploy hook started: site_tweaks_deploy_front_page/);

    // locale:update is the locale module's: without it drush has no such command.
    const locale = await stepFailure(step(appHook, { ...next, hook: 'locale:update' }));
    expect(locale.stderrTail).toMatch(/"locale:update" is not defined/);
    expect((await stepFailure(step(appHook, { ...next, hook: 'drush:php:eval' }))).message).toMatch(
      /not a deploy hook/,
    );
    await probeUntil({ domain, expectText: 'Site One' });
  });

  it('reports a failing update, and the rollback point restores the data', async () => {
    const archiveId = `${randomBytes(4).toString('hex')}-5d0b-4f63-9a51-0d3b1b6f7a10`;
    // Back to 10.2's schema first: a fresh database from a dump is the realistic path, so rebuild.
    const broken = { domain: 'site2.test', platform: 'fixture-103-broken-update' };
    const brokenDb = uniqueDbName('broken');
    const brokenUser = uniqueDbName('u');
    drop.push({ database: brokenDb, user: brokenUser });
    await step(dbCreate, { database: brokenDb, user: brokenUser, host: '%' }, { dbPassword: password });
    await step(
      siteWriteSettings,
      {
        domain: broken.domain,
        platformPath: join(root.root, 'platforms', 'fixture-102'),
        database: brokenDb,
        user: brokenUser,
        dbHost: '127.0.0.1',
        dbPort: 3306,
        trustedHosts: [broken.domain],
      },
      { dbPassword: password },
    );
    await step(siteLink, { domain: broken.domain, platform: 'fixture-102' });
    await step(httpWriteVhost, { domain: broken.domain, platform: 'fixture-102' });
    await step(appInstall, {
      domain: broken.domain,
      platform: 'fixture-102',
      profile: 'standard',
      siteName: 'Site Two',
    });
    await probeUntil({ domain: broken.domain, expectText: 'Site Two' });
    // The step's reload is graceful: let the old workers (which lack this vhost) finish first.
    await stack.reload();
    expect((await stack.request(broken.domain, '/node', { form: { title: 'Keep me' } })).status).toBe(303);

    const archives = new MemoryArchives();
    const context = testContext(host, { archives });
    await runStep(dbDump, { database: brokenDb, archiveId }, context);
    await step(siteLink, broken);
    const failure = await stepFailure(step(appUpdate, broken));
    expect(failure.code).toBe(StepErrorCode.CommandFailed);
    expect(failure.stderrTail).toMatch(/pathauto_update_8109/);
    // The failed update changed the data before it threw.
    const titles = await mariadb.sql("SELECT title FROM node WHERE title LIKE '%Keep me';", {
      database: brokenDb,
    });
    expect(titles).toBe('[pathauto_update_8109] Keep me');

    await runStep(dbImport, { database: brokenDb, archiveId }, testContext(host, { archives }));
    expect(
      await mariadb.sql("SELECT title FROM node WHERE title LIKE '%Keep me';", { database: brokenDb }),
    ).toBe('Keep me');
    expect((await step(dbSchemaVersions, { database: brokenDb })).versions.pathauto).toBe(8108);
  });

  it('never logged a password', () => {
    const text = logs.join('\n');
    expect(text).not.toContain(password);
    expect(text).not.toMatch(/password\s*:\s*(?!\[redacted\])\S/i);
    expect(text).toMatch(/Installation complete/);
  });

  it('refuses bad parameters before drush runs', async () => {
    for (const params of [
      { ...site, profile: 'Standard; rm' },
      { ...site, profile: 'standard', accountMail: 'not-mail' },
      { ...site, profile: 'standard', siteName: 'a\nb' },
      { domain, platform: '../x', profile: 'standard' },
    ]) {
      expect((await stepFailure(step(appInstall, params))).code).toBe(StepErrorCode.InvalidParams);
    }
    expect((await stepFailure(step(appLoginLink, { ...site, uid: 1, name: 'admin' }))).code).toBe(
      StepErrorCode.InvalidParams,
    );
  });
});
