import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Project, Task } from '../../shared/src/api.js';
import { makeSiteRepository, siteFeatureReleases, type SiteRepository } from '../fixtures/site-repository.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';

/**
 * dev, test and live of one project (seed 000) against a real master, agent, nginx, PHP-FPM and
 * MariaDB: live's data synced down to test (its e-mails scrubbed there, live untouched, test's own
 * code kept), a sync up refused, and code deployed up to live from the site repository.
 */
describe('projects and environments', () => {
  let stack: HostingStack;
  let repo: SiteRepository;
  const sites = { dev: 'dev.shop.example', test: 'test.shop.example', live: 'live.shop.example' };

  const json = async <T>(...args: string[]): Promise<T> =>
    JSON.parse((await stack.berth(...args, '--json')).stdout) as T;
  const failure = (...args: string[]) =>
    stack.berth(...args).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
  const mails = async (domain: string) =>
    (
      await stack.mariadb(
        `SELECT mail FROM \`${stack.siteDatabase(domain)}\`.users WHERE uid > 0 ORDER BY uid`,
      )
    ).split('\n');

  beforeAll(async () => {
    repo = makeSiteRepository(siteFeatureReleases());
    stack = await startHostingStack({ label: 'environments', platforms: { p103: 'fixture-10.3' } });
    for (const domain of Object.values(sites)) {
      await stack.berth('site', 'install', domain, '--platform', 'p103', '--repo', repo.url, '--ref', 'r1');
    }
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    repo?.remove();
  });

  it('groups three sites as dev, test and live, in that order', async () => {
    await stack.berth('project', 'add', 'shop');
    for (const [env, domain] of Object.entries(sites))
      await stack.berth('env', 'add', 'shop', env, '--site', domain);
    const project = await json<Project>('project', 'show', 'shop');
    expect(project.environments.map((env) => [env.name, env.position, env.site, env.code?.ref])).toEqual([
      ['dev', 1, sites.dev, 'r1'],
      ['test', 2, sites.test, 'r1'],
      ['live', 3, sites.live, 'r1'],
    ]);
    const taken = await failure('env', 'add', 'shop', 'staging', '--site', sites.live);
    expect(taken?.stderr).toContain('is environment live of project shop already');
  });

  it("syncs live's database and files down to test: scrubbed there, live untouched, test's code kept", async () => {
    const liveMails = await mails(sites.live);
    expect(liveMails.join()).not.toContain('localhost.localdomain');
    expect(
      (await stack.web.request(sites.live, '/node', { method: 'POST', form: { title: 'Live order 1' } }))
        .status,
    ).toBe(303);
    writeFileSync(join(stack.root, 'sites', sites.live, 'files', 'invoice-1.txt'), 'an upload on live\n');
    const gitHeadOfTest = readFileSync(join(stack.root, 'sites', sites.test, '.git', 'HEAD'), 'utf8');

    const sync = await json<Task>('env', 'sync', 'shop', '--from', 'live', '--to', 'test');
    expect(sync.state).toBe('succeeded');
    expect(sync.result).toMatchObject({
      from: sites.live,
      to: sites.test,
      db: true,
      files: true,
      sanitized: 'sql:sanitize',
    });

    const page = await stack.web.request(sites.test, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('Live order 1');
    expect(readFileSync(join(stack.root, 'sites', sites.test, 'files', 'invoice-1.txt'), 'utf8')).toBe(
      'an upload on live\n',
    );
    expect(await mails(sites.test)).toEqual(
      liveMails.map((_, index) => `user+${index + 1}@localhost.localdomain`),
    );
    // Live is as it was; test keeps its own code and settings.
    expect(await mails(sites.live)).toEqual(liveMails);
    expect(readFileSync(join(stack.root, 'sites', sites.test, '.git', 'HEAD'), 'utf8')).toBe(gitHeadOfTest);
    expect(readFileSync(join(stack.root, 'sites', sites.test, 'settings.php'), 'utf8')).toContain(sites.test);
    // The test site was backed up first: a pre-sync backup is listed.
    expect((await stack.berth('site', 'backups', sites.test)).stdout).toContain('pre-sync');
    const shown = await json<Project>('project', 'show', 'shop');
    expect(shown.environments[1]?.lastSync).toMatchObject({
      from: sites.live,
      state: 'succeeded',
      taskId: sync.id,
    });
  });

  it('refuses to sync data up, and says how code goes up instead', async () => {
    const refused = await failure('env', 'sync', 'shop', '--from', 'test', '--to', 'live');
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toContain('data is synced down only');
    expect(refused?.stderr).toContain('berth env deploy');
    expect(existsSync(join(stack.root, 'sites', sites.live, 'files', 'invoice-1.txt'))).toBe(true);
  });

  it('deploys code up to live from the site repository, with the site deploy’s safety', async () => {
    const deploy = await json<Task>('env', 'deploy', 'shop', '--to', 'live', '--ref', 'r2');
    expect(deploy.state).toBe('succeeded');
    expect(deploy.type).toBe('site.deploy');
    const project = await json<Project>('project', 'show', 'shop');
    expect(project.environments.map((env) => env.code?.ref)).toEqual(['r1', 'r1', 'r2']);
    expect((await stack.web.request(sites.live, '/')).body).toContain('Live order 1');
    const table = (await stack.berth('project', 'show', 'shop')).stdout;
    expect(table).toMatch(/live\s+live\.shop\.example \(enabled\)\s+p103\s+r2/);
  });

  it("shows the project's environments side by side in the web UI", async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(stack.master.url);
      await page.getByLabel('API token').fill(stack.master.token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('link', { name: 'Projects' }).click();
      await page.getByRole('link', { name: 'shop', exact: true }).click();
      const cards = page.getByRole('article');
      await expect.poll(() => cards.count()).toBe(3);
      const live = page.getByRole('article', { name: 'environment live' });
      expect(await live.textContent()).toContain(`r2 ${repo.tags.r2!.slice(0, 12)}`);
      const test = page.getByRole('article', { name: 'environment test' });
      expect(await test.textContent()).toMatch(/succeeded from live\.shop\.example/);
      expect(await page.getByRole('article').first().getAttribute('aria-label')).toBe('environment dev');
    } finally {
      await browser.close();
    }
  });
});
