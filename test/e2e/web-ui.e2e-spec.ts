import { PGlite } from '@electric-sql/pglite';
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../shared/src/package-root.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { Api, ApiError, waitForTask, type TaskSummary } from '../support/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(packageRoot(), 'test-artifacts', 'screenshots');

/**
 * Records, on every change of the page, how many log lines the task page shows and the task's state
 * badge: proof that lines arrived while the task was still running, not all at once at the end.
 * A string, because the test is compiled without the DOM's types.
 */
const LOG_SAMPLER = `
  window.__logSamples = [];
  const record = () => {
    const lines = document.querySelectorAll('.task-page .log-line').length;
    const state = document.querySelector('.task-page h1 .badge')?.textContent ?? '';
    const last = window.__logSamples.at(-1);
    if (!last || last.lines !== lines || last.state !== state) window.__logSamples.push({ lines, state });
  };
  new MutationObserver(record).observe(document, { subtree: true, childList: true, characterData: true });
`;

interface LogSample {
  lines: number;
  state: string;
}

/**
 * Each badge on the page, its text's contrast with its background (WCAG's relative luminance; a
 * badge's colours are opaque hex). A string, for the same reason as LOG_SAMPLER.
 */
const BADGE_CONTRAST = `(() => {
  const rgb = (css) => (css.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const channel = (c) => { const v = c / 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = (css) => { const [r, g, b] = rgb(css).map(channel); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  return [...document.querySelectorAll('.badge')].map((badge) => {
    const style = getComputedStyle(badge);
    const [a, b] = [luminance(style.color), luminance(style.backgroundColor)].sort((x, y) => y - x);
    return { text: badge.textContent, ratio: (a + 0.05) / (b + 0.05) };
  });
})()`;

/** How many sites the scale test puts in the registry. */
const MANY_SITES = 500;
/** How many projects the scale test adds, each with one of those sites as its live. */
const MANY_PROJECTS = 120;
/** The inserted site with a task history (25 tasks: more than one page of 20). */
const BUSY_SITE = 'site0123.example';
/** The lists whose every request must be a page (a limit), never the whole list. */
const LIST_PATHS = [
  '/api/sites',
  '/api/tasks',
  '/api/platforms',
  '/api/servers',
  '/api/clients',
  '/api/projects',
];

function isWholeList(request: Request): boolean {
  const url = new URL(request.url());
  return LIST_PATHS.includes(url.pathname) && !url.searchParams.has('limit');
}

/** What a datetime-local input takes: the local time, to the second (the browser shares our zone). */
function localDateTime(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}` +
    `T${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`
  );
}

/**
 * The web UI against a real master and agent (nginx, PHP-FPM, MariaDB, fixture platforms), driven
 * in Debian's Chromium: sign in, install a site, its log arriving live, a backup, the migrate
 * dialog's compatibility tables, a client token that sees only its own sites, the audit log, a
 * failed task retried from its page; then 500 more sites: searched, paged, the dashboard's requests
 * counted, the migrate dialog driven by keyboard, a phone's screen.
 */
describe('web UI', () => {
  let stack: HostingStack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startHostingStack({
      label: 'web-ui',
      platforms: {
        p101: 'fixture-10.1',
        p102: 'fixture-10.2',
        p103: 'fixture-10.3',
        p103m: 'fixture-10.3-missing-module',
      },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function signIn(token: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await context.addInitScript(LOG_SAMPLER);
    const page = await context.newPage();
    // Confirmations (disable, restore) are accepted as a person would.
    page.on('dialog', (dialog) => void dialog.accept());
    // The app's own errors go to the test's output: a failure here says why.
    page.on('pageerror', (error) => console.error(`web UI error: ${error.stack ?? error.message}`));
    page.on('console', (message) => {
      // A 404 the test asks for (another client's site) is not the app's error.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        console.error(`web UI console: ${message.text()}`);
    });
    await page.goto(stack.master.url);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    return page;
  }

  const stateBadge = (page: Page) => page.locator('h1 .badge');
  /** The nav bar's link to a page. */
  const nav = (page: Page, name: string) =>
    page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name, exact: true });

  /** From a task page: waits for its end, then follows the link to its site. */
  async function finishTaskAndOpenSite(page: Page, domain: string): Promise<void> {
    await expect.poll(() => stateBadge(page).textContent(), { timeout: 90_000 }).toBe('succeeded');
    await page.getByRole('heading', { level: 1 }).getByRole('link', { name: domain }).click();
    await page.getByRole('heading', { name: 'Backups' }).waitFor();
  }

  it('serves the UI at / beside the API and its OpenAPI document, which describes what the UI uses', async () => {
    const index = await fetch(`${stack.master.url}/`);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toMatch(/<div id="root">/);
    const openapi = (await (await fetch(`${stack.master.url}/api/docs/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/api/auth/me',
        '/api/clients/{client}/tokens',
        '/api/sites/{domain}/migrate-candidates',
        '/api/sites/{domain}/migrate-check',
        '/api/tasks/{id}/events',
      ]),
    );
  });

  it('installs a site from the UI with its log live, backs it up, shows the migrate compatibility tables', async () => {
    const page = await signIn(stack.master.token);
    await nav(page, 'Servers').click();
    const servers = page.getByRole('table', { name: 'Servers' });
    await expect
      .poll(() => servers.getByRole('row', { name: /web1/ }).textContent())
      .toMatch(/^web1.*(?<!dis)connected/);
    await nav(page, 'Platforms').click();
    const platforms = page.getByRole('table', { name: 'Platforms' });
    await platforms.waitFor();
    await expect(platforms.locator('tbody td:first-child').allTextContents()).resolves.toEqual([
      'p101',
      'p102',
      'p103',
      'p103m',
    ]);

    // Install from the Sites page's form; the task page opens at once and shows the log as the steps write it.
    await nav(page, 'Sites').click();
    const install = page.getByRole('region', { name: 'Install a site' });
    await install.getByLabel('Domain').fill('ui.example');
    await install.getByLabel('Platform').selectOption('p102');
    await install.getByRole('button', { name: 'Install' }).click();
    await page.waitForURL(/#\/tasks\//);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toMatch(/site\.install/);
    await expect.poll(() => stateBadge(page).textContent(), { timeout: 90_000 }).toBe('succeeded');
    const samples = await page.evaluate<LogSample[]>('window.__logSamples');
    const finalLines = await page.locator('.log-line').count();
    // Lines were on the page while the task was still running, and more came after them.
    const whileRunning = samples.filter(
      (sample) => sample.lines > 0 && ['queued', 'running'].includes(sample.state),
    );
    expect(whileRunning.length, JSON.stringify(samples)).toBeGreaterThan(0);
    expect(whileRunning[0]!.lines).toBeLessThan(finalLines);
    // Several separate arrivals (one per step or so), not one burst.
    expect(new Set(whileRunning.map((sample) => sample.lines)).size).toBeGreaterThanOrEqual(3);
    const stored = await stack.master.api.get<{ lines: unknown[] }>(
      `/api/tasks/${page.url().split('/').pop()}/log?limit=5000`,
    );
    expect(finalLines).toBe(stored.lines.length);
    const phases = page.getByRole('region', { name: 'Phases' });
    for (const phase of ['database', 'files', 'install', 'vhost', 'probe']) {
      await expect(
        phases.getByRole('row', { name: new RegExp(`^${phase}\\b`) }).textContent(),
        // A duration as the CLI writes it (shared/src/format.ts): "96ms", "4.2s", "42s", "1m 05s".
      ).resolves.toMatch(/\d(ms|s)$/);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'task-log.png'), fullPage: true });

    // The site page offers what an enabled site offers; a backup shows up in its list.
    await page.getByRole('heading', { level: 1 }).getByRole('link', { name: 'ui.example' }).click();
    await page.getByRole('heading', { name: 'Backups' }).waitFor();
    const tasks = page.getByRole('group', { name: 'Tasks' });
    await expect(tasks.getByRole('link', { name: 'Go to' }).getAttribute('href')).resolves.toBe(
      'http://ui.example/',
    );
    await expect(tasks.getByRole('button').allTextContents()).resolves.toEqual([
      'Log in',
      'Verify',
      'Back up',
      'Run cron',
      'Disable',
      'Migrate…',
    ]);
    await tasks.getByRole('button', { name: 'Back up' }).click();
    await page.waitForURL(/#\/tasks\//);
    await finishTaskAndOpenSite(page, 'ui.example');
    const backups = page.getByRole('region', { name: 'Backups' });
    await backups
      .getByRole('row', { name: /manual/ })
      .getByRole('button', { name: 'Restore', exact: true })
      .waitFor();
    await expect(backups.getByRole('row', { name: /manual/ }).textContent()).resolves.toMatch(
      /manual\d+(\.\d+)? KiBp102/,
    );

    await tasks.getByRole('button', { name: 'Log in' }).click();
    const loginLink = tasks.getByRole('link', { name: /one-time link/ });
    await loginLink.waitFor({ timeout: 30_000 });
    await expect(loginLink.getAttribute('href')).resolves.toMatch(/^http:\/\/ui\.example\/user\/reset\/1\//);
    await page.screenshot({ path: join(SCREENSHOTS, 'site.png'), fullPage: true });

    // The migrate dialog: one compatibility table per other verified platform, with its verdict.
    await tasks.getByRole('button', { name: 'Migrate…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Migrate ui.example' });
    await dialog.getByRole('region').nth(2).waitFor();
    const regions = await dialog.getByRole('region').all();
    expect(await Promise.all(regions.map((region) => region.getAttribute('aria-label')))).toEqual([
      'Move to p101',
      'Move to p103',
      'Move to p103m',
    ]);
    const older = dialog.getByRole('region', { name: 'Move to p101', exact: true });
    await expect(older.getByRole('row', { name: /^pathauto/ }).textContent()).resolves.toMatch(
      /8108 → 8107.*schema downgrade/,
    );
    await expect(older.getByRole('button', { name: 'Cannot migrate to p101' }).isDisabled()).resolves.toBe(
      true,
    );
    const newer = dialog.getByRole('region', { name: 'Move to p103', exact: true });
    await expect(newer.getByRole('row', { name: /^pathauto/ }).textContent()).resolves.toMatch(
      /8108 → 8109.*database updates to run: schema 8108 → 8109/,
    );
    await expect(newer.getByRole('heading').textContent()).resolves.toMatch(
      /0 errors · 0 warnings · [1-9]\d* upgrades/,
    );
    await expect(newer.getByRole('button', { name: 'Migrate to p103' }).isEnabled()).resolves.toBe(true);
    const missing = dialog.getByRole('region', { name: 'Move to p103m', exact: true });
    await expect(missing.getByRole('row', { name: /^admin_toolbar/ }).textContent()).resolves.toMatch(
      /missing.*does not have admin_toolbar/,
    );
    await expect(
      missing.getByRole('button', { name: 'Migrate to p103m despite warnings' }).isEnabled(),
    ).resolves.toBe(true);
    // A modal dialog is at most as tall as the viewport: make it tall enough for the whole dialog.
    const height = await page.evaluate<number>(`document.querySelector('dialog').scrollHeight`);
    await page.setViewportSize({ width: 1200, height: height + 120 });
    await page.screenshot({ path: join(SCREENSHOTS, 'migrate-dialog.png') });
    await page.setViewportSize({ width: 1200, height: 900 });
    await dialog.getByRole('button', { name: 'Close' }).click();

    // A platform's page lists its packages with their schema versions.
    await page.getByRole('link', { name: 'p102' }).first().click();
    await expect(
      page
        .getByRole('region', { name: 'Packages and schema versions' })
        .getByRole('row', { name: /^pathauto/ })
        .textContent(),
    ).resolves.toMatch(/module.*8108/);

    // Disabled, the site offers only enable and delete (Aegir's rule, shared with the API).
    await page.goBack();
    await page.getByRole('group', { name: 'Tasks' }).getByRole('button', { name: 'Disable' }).click();
    await page.waitForURL(/#\/tasks\//);
    await finishTaskAndOpenSite(page, 'ui.example');
    await expect(
      page.getByRole('group', { name: 'Tasks' }).getByRole('button').allTextContents(),
    ).resolves.toEqual(['Enable', 'Delete']);

    await nav(page, 'Sites').click();
    await page.getByRole('table', { name: 'Sites' }).getByRole('link', { name: 'ui.example' }).waitFor();
    await page.getByRole('link', { name: 'Berth' }).click();
    await expect(
      page
        .getByRole('table', { name: 'Latest tasks' })
        .getByRole('row', { name: /site\.backup/ })
        .first()
        .textContent(),
    ).resolves.toMatch(/succeeded/);
    await page.context().close();
  });

  it("gives a client token its own sites and not another client's, in the UI and the API", async () => {
    const master = stack.master;
    const berth = (...args: string[]) => stack.berth(...args);
    await berth('client', 'add', 'acme');
    await berth('client', 'add', 'globex');
    await berth('site', 'install', 'acme.example', '--platform', 'p102', '--client', 'acme');
    await berth('site', 'install', 'globex.example', '--platform', 'p102', '--client', 'globex');
    for (const client of ['acme', 'globex']) {
      await berth('project', 'add', `${client}-shop`, '--client', client);
      await berth('env', 'add', `${client}-shop`, 'live', '--site', `${client}.example`);
    }
    const { token } = JSON.parse((await berth('client', 'token', 'acme', '--json')).stdout) as {
      token: string;
    };
    const acme = new Api(master.url, token);
    const status = (promise: Promise<unknown>) =>
      promise.then(
        () => 200,
        (error: unknown) => (error instanceof ApiError ? error.status : -1),
      );

    // The API: its own sites, tasks and backups only; the hosting side is an admin's.
    await expect(acme.get('/api/auth/me')).resolves.toMatchObject({ role: 'client', client: 'acme' });
    const sites = await acme.get<{ items: Array<{ domain: string }> }>('/api/sites');
    expect(sites.items.map((site) => site.domain)).toEqual(['acme.example']);
    const tasks = await acme.get<{ items: Array<{ targetName: string }> }>('/api/tasks?limit=100');
    expect(tasks.items.length).toBeGreaterThan(0);
    expect(new Set(tasks.items.map((task) => task.targetName))).toEqual(new Set(['acme.example']));
    // Its own projects, whole or a page, whatever client it names.
    for (const path of ['/api/projects', '/api/projects?limit=10&client=globex'])
      await expect(acme.get(path)).resolves.toMatchObject({
        items: [{ name: 'acme-shop', environments: [{ name: 'live', site: 'acme.example' }] }],
        next: null,
      });
    const globexTasks = await master.api.get<{ items: Array<{ id: string; targetName: string }> }>(
      '/api/tasks?limit=100',
    );
    const globexInstall = globexTasks.items.find((task) => task.targetName === 'globex.example')!;
    expect(await status(acme.get(`/api/tasks/${globexInstall.id}`))).toBe(404);
    expect(await status(acme.get(`/api/tasks/${globexInstall.id}/log`))).toBe(404);
    expect(await status(acme.get('/api/sites/globex.example'))).toBe(404);
    expect(await status(acme.get('/api/sites/globex.example/backups'))).toBe(404);
    expect(await status(acme.get('/api/sites/globex.example/migrate-candidates'))).toBe(404);
    expect(await status(acme.post('/api/sites/globex.example/backups'))).toBe(404);
    expect(await status(acme.get('/api/servers'))).toBe(403);
    expect(await status(acme.get('/api/platforms'))).toBe(403);
    expect(await status(acme.get('/api/clients'))).toBe(403);
    expect(await status(acme.get('/api/clusters'))).toBe(403);
    expect(await status(acme.get('/api/audit'))).toBe(403);
    // Its own site works, including the migrate candidates it may not list platforms for.
    const candidates = await acme.get<{ items: Array<{ name: string }> }>(
      '/api/sites/acme.example/migrate-candidates',
    );
    expect(candidates.items.map((item) => item.name)).toEqual(['p101', 'p103', 'p103m']);
    const backup = await acme.post<{ id: string }>('/api/sites/acme.example/backups');
    expect((await waitForTask(master, backup.id)).state).toBe('succeeded');

    // The UI: no servers or platforms, only its site, and another client's site is not there.
    const page = await signIn(token);
    await expect(page.locator('header.top .who').textContent()).resolves.toMatch(/client acme/);
    const latest = page.getByRole('table', { name: 'Latest tasks' });
    await latest.waitFor();
    expect(new Set(await latest.locator('tbody td:nth-child(2)').allTextContents())).toEqual(
      new Set(['acme.example']),
    );
    await expect
      .poll(() => page.getByRole('region', { name: 'Sites' }).locator('.count').textContent())
      .toBe('1');
    for (const hosting of ['Servers', 'Platforms', 'Clients']) {
      expect(await page.getByRole('heading', { name: hosting, exact: true }).count()).toBe(0);
    }
    await nav(page, 'Sites').click();
    const siteLinks = page.getByRole('table', { name: 'Sites' }).getByRole('link');
    await siteLinks.first().waitFor();
    await expect(siteLinks.allTextContents()).resolves.toEqual(['acme.example']);
    expect(await page.getByRole('heading', { name: 'Install a site' }).count()).toBe(0);
    await siteLinks.first().click();
    await page
      .getByRole('region', { name: 'Backups' })
      .getByRole('row', { name: /manual/ })
      .waitFor();
    await page.goto(`${stack.master.url}/#/sites/globex.example`);
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/globex\.example/);
    expect(await page.getByRole('heading', { name: 'Backups' }).count()).toBe(0);

    // Platforms, servers, clients, backups and audit are an admin's pages: no links to them, and
    // their routes show the dashboard. Projects are a client's too (its own).
    expect(await page.locator('header.top').getByRole('link').allTextContents()).toEqual([
      'Berth',
      'Dashboard',
      'Sites',
      'Tasks',
      'Projects',
    ]);
    await nav(page, 'Projects').click();
    const projectLinks = page.getByRole('table', { name: 'Projects' }).getByRole('link');
    await projectLinks.first().waitFor();
    await expect(projectLinks.allTextContents()).resolves.toEqual(['acme-shop', 'live']);
    expect(await page.getByRole('textbox', { name: 'Client' }).count()).toBe(0);
    await page.goto(`${stack.master.url}/#/audit`);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    expect(await page.getByRole('heading', { name: 'Audit' }).count()).toBe(0);
    await page.context().close();
  });

  it('shows a cluster: on the servers page, and its page with each head and its agent', async () => {
    await stack.master.api.post('/api/clusters', { name: 'front', servers: ['web1'] });
    const page = await signIn(stack.master.token);
    await nav(page, 'Servers').click();
    const clusters = page.getByRole('table', { name: 'Clusters' });
    await expect.poll(() => clusters.getByRole('link').allTextContents()).toEqual(['front']);
    await clusters.getByRole('link', { name: 'front' }).click();
    await page.waitForURL(/#\/clusters\/front$/);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('front');
    const heads = page.getByRole('region', { name: 'Heads' });
    await expect
      .poll(() => heads.getByRole('row', { name: /web1/ }).textContent())
      .toMatch(/^web1.*(?<!dis)connected$/);
    await expect(
      page.getByRole('region', { name: 'Platforms on every head' }).textContent(),
    ).resolves.toContain('berth platform add NAME --cluster front');
    await page.screenshot({ path: join(SCREENSHOTS, 'cluster.png'), fullPage: true });
  });

  it('sets a backup policy on the backups page, shows it on a site, refuses a bad schedule, removes it', async () => {
    // A site for the policy to apply to; it installs while the page is used.
    const { task: install } = await stack.master.api.post<{ task: { id: string } }>('/api/sites', {
      domain: 'schedule.example',
      platform: 'p101',
    });
    const page = await signIn(stack.master.token);
    await page.locator('header.top').getByRole('link', { name: 'Backups' }).click();
    await page.waitForURL(/#\/backups$/);
    await page
      .getByRole('region', { name: 'Store' })
      .getByText(/archives$/)
      .waitFor();
    const policies = page.getByRole('region', { name: 'Policies' });
    await policies.getByText('No policies').waitFor();

    const form = page.getByRole('region', { name: 'Set a policy' });
    await expect(form.getByLabel('Scope').inputValue()).resolves.toBe('global');
    expect(await form.getByLabel('Site domain').count()).toBe(0);
    await form.getByLabel('Schedule').fill('0 2 * * *');
    await form.getByLabel('Window').fill('01:00-05:00');
    await form.getByLabel('Keep last').fill('3');
    await form.getByRole('button', { name: 'Set policy' }).click();
    const global = policies.getByRole('row', { name: /^global/ });
    await expect
      .poll(async () => (await global.locator('td').allTextContents()).slice(0, 5))
      .toEqual(['global', '–', '0 2 * * *', '01:00–05:00', 'last 3']);
    await page.screenshot({ path: join(SCREENSHOTS, 'backups.png'), fullPage: true });

    // The site page says where its schedule comes from and when it is next due.
    expect((await waitForTask(stack.master, install.id)).state).toBe('succeeded');
    await page.goto(`${stack.master.url}/#/sites/schedule.example`);
    const schedule = page.getByRole('region', { name: 'Backup schedule' });
    await expect
      .poll(() => schedule.textContent())
      .toMatch(/Policythe global default.*0 2 \* \* \*, window 01:00–05:00 \(.+\).*Keeplast 3Next due\d/);
    await page.goBack();

    // The server's message for a bad schedule; the policy stays as it was.
    await form.getByLabel('Schedule').fill('every night');
    await form.getByRole('button', { name: 'Set policy' }).click();
    await expect(form.getByRole('alert').textContent()).resolves.toMatch(
      /"every night" is not a five-field cron expression/,
    );
    await expect(global.textContent()).resolves.toMatch(/0 2 \* \* \*/);

    await global.getByRole('button', { name: 'Remove' }).click();
    await policies.getByText('No policies').waitFor();
    expect(await policies.getByRole('row').count()).toBe(0);
    await page.context().close();
  });

  it('lists the audit log for admins: newest first, by target, since a time, older events a page on', async () => {
    // A burst of refused changes, all at or after a whole second the page's "since" can name.
    const since = new Date(Math.ceil(Date.now() / 1000) * 1000);
    await sleep(since.getTime() - Date.now() + 10);
    const burst = 60;
    for (let n = 0; n < burst; n++) {
      await expect(stack.master.api.post('/api/sites/absent.example/backups')).rejects.toMatchObject({
        status: 404,
      });
    }

    const page = await signIn(stack.master.token);
    await page.locator('header.top').getByRole('link', { name: 'Audit' }).click();
    await page.waitForURL(/#\/audit$/);
    const rows = page.getByRole('table', { name: 'Changes' }).locator('tbody tr');
    const targets = () => rows.locator('td:nth-child(4)').allTextContents();
    const pages = page.getByRole('navigation', { name: 'Pages of changes' });
    // A page of the newest: the burst's requests, who made them, from where, and how they ended.
    await expect.poll(() => rows.count()).toBe(50);
    const newest = await rows.first().locator('td').allTextContents();
    expect(newest.slice(1)).toEqual([
      'admin',
      'POST /api/sites/:domain/backups',
      'absent.example',
      expect.stringMatching(/127\.0\.0\.1/),
      '404',
      expect.stringMatching(/^[A-Z_]+$/),
    ]);
    await expect(rows.first().getAttribute('class')).resolves.toBe('row-error');

    // Since the burst began: exactly the burst, its newest 50, and on the next page the older rest.
    const filter = page.getByRole('region', { name: 'Filter' });
    await filter.getByLabel('Since').fill(localDateTime(since));
    await filter.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/#\/audit\?since=/);
    await pages.getByRole('button', { name: 'Next' }).click();
    await page.waitForURL(/[?&]cursor=/);
    await expect.poll(() => rows.count()).toBe(burst - 50);
    expect(new Set(await targets())).toEqual(new Set(['absent.example']));
    expect(await pages.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await pages.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(() => rows.count()).toBe(50);
    await filter.getByLabel('Since').fill(localDateTime(new Date(Date.now() + 3_600_000)));
    await filter.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No changes recorded that match.').waitFor();

    // One site's changes, the install the first test made from the UI among them, with its task.
    await filter.getByRole('button', { name: 'Clear' }).click();
    await filter.getByLabel('Target').fill('ui.example');
    await filter.getByRole('button', { name: 'Filter' }).click();
    const install = rows.filter({ has: page.getByRole('cell', { name: 'POST /api/sites', exact: true }) });
    await expect.poll(() => install.count()).toBe(1);
    const backup = page.getByRole('cell', { name: 'POST /api/sites/:domain/backups', exact: true });
    expect(await rows.filter({ has: backup }).count()).toBeGreaterThanOrEqual(1);
    const shown = await targets();
    expect(
      shown.every((target) => target.split(' ').includes('ui.example')),
      shown.join(', '),
    ).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'audit.png'), fullPage: true });
    await install.getByRole('link', { name: /^task / }).click();
    await page.waitForURL(/#\/tasks\//);
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toMatch(/^site\.install ui\.example/);
    await page.context().close();
  });

  it('retries a failed task from its page and lands on the new one; a refused retry says why', async () => {
    // A verify fails while the platform's codebase is away.
    const codebase = join(stack.root, 'platforms', 'p103m');
    renameSync(codebase, `${codebase}.away`);
    let failed: TaskSummary;
    try {
      const verify = await stack.master.api.post<{ id: string }>('/api/platforms/p103m/verify');
      failed = await waitForTask(stack.master, verify.id);
    } finally {
      renameSync(`${codebase}.away`, codebase);
    }
    expect(failed.state).toBe('failed');

    const page = await signIn(stack.master.token);
    await page.goto(`${stack.master.url}/#/tasks/${failed.id}`);
    await expect.poll(() => stateBadge(page).textContent()).toBe('failed');
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.waitForURL((url) => /#\/tasks\/[\w-]+$/.test(url.hash) && !url.hash.endsWith(failed.id));
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toMatch(/^platform\.verify p103m/);
    const facts = page.locator('.task-page .facts');
    await expect(facts.getByRole('link', { name: `task ${failed.id}` }).getAttribute('href')).resolves.toBe(
      `#/tasks/${failed.id}`,
    );
    await expect.poll(() => stateBadge(page).textContent(), { timeout: 60_000 }).toBe('succeeded');
    expect(await page.getByRole('button', { name: 'Retry' }).count()).toBe(0);

    // An install made its site's row: the API refuses to retry one, and the page shows its message.
    const { task: install } = await stack.master.api.post<{ task: { id: string } }>('/api/sites', {
      domain: 'cancelled.example',
      platform: 'p101',
    });
    await stack.master.api.post(`/api/tasks/${install.id}/cancel`);
    expect((await waitForTask(stack.master, install.id)).state).toBe('cancelled');
    await page.goto(`${stack.master.url}/#/tasks/${install.id}`);
    await page.getByRole('button', { name: 'Retry' }).click();
    await expect(
      page.getByRole('alert').filter({ hasText: 'cannot be retried' }).textContent(),
    ).resolves.toMatch(/a site\.install task cannot be retried/);
    expect(new URL(page.url()).hash).toBe(`#/tasks/${install.id}`);
    await page.context().close();
  });
  /**
   * 500 sites (and a task history for one of them) written straight into the registry in one
   * statement: they need no Drupal, only rows. The stack's registry is the master's embedded PGlite
   * (<data dir>/pgdata), one process's files: the master stops for the insert and starts again on
   * the same data and ports, and the agent reconnects by itself.
   */
  async function insertManySites(): Promise<void> {
    await stack.master.process.stop();
    const registry = new PGlite(join(stack.database.dataDir, 'pgdata'));
    try {
      await registry.query(
        `WITH web AS (SELECT id FROM servers WHERE name = 'web1'),
              bulk AS (
                INSERT INTO platforms (name, server_id, path, docroot, core_version, status, locked, verified_at)
                SELECT 'bulk', id, '/srv/bulk', 'web', '10.3.0', 'verified', true, now() FROM web
                RETURNING id, server_id),
              sites AS (
                INSERT INTO sites (domain, platform_id, client_id, db_server_id, db_name, db_user,
                                   db_password_encrypted, status, verified_at)
                SELECT 'site' || lpad(n::text, 4, '0') || '.example', bulk.id,
                       CASE WHEN n % 5 = 0 THEN (SELECT id FROM clients WHERE name = 'acme') END,
                       bulk.server_id, 'site_' || n, 'u' || n, 'not-a-real-secret',
                       CASE WHEN n % 50 = 0 THEN 'disabled' ELSE 'enabled' END,
                       CASE WHEN n % 7 = 0 THEN NULL ELSE now() END
                  FROM generate_series(1, ${MANY_SITES}) AS n, bulk
                RETURNING id, domain)
         INSERT INTO tasks (type, state, target_kind, target_id, target_name, created_at, started_at,
                            finished_at, error)
         SELECT CASE WHEN n % 3 = 0 THEN 'site.verify' ELSE 'site.backup' END,
                CASE WHEN n = 2 THEN 'failed' ELSE 'succeeded' END, 'site', sites.id, sites.domain,
                now() - n * interval '1 minute', now() - n * interval '1 minute',
                now() - n * interval '1 minute' + interval '4 seconds',
                CASE WHEN n = 2 THEN 'the database server went away' END
           FROM generate_series(1, 25) AS n, sites WHERE sites.domain = '${BUSY_SITE}'`,
      );
      await registry.query(
        `WITH projects AS (
           INSERT INTO projects (name)
           SELECT 'proj' || lpad(n::text, 3, '0') FROM generate_series(1, ${MANY_PROJECTS}) AS n
           RETURNING id, name)
         INSERT INTO environments (project_id, name, position, site_id)
         SELECT projects.id, 'live', 1, sites.id
           FROM projects JOIN sites ON sites.domain = 'site0' || substr(projects.name, 5) || '.example'`,
      );
    } finally {
      await registry.close();
    }
    await stack.master.restart();
    await expect
      .poll(
        async () =>
          (
            await stack.master.api.get<{ items: Array<{ connected: boolean }> }>(
              '/api/servers?q=web1&limit=1',
            )
          ).items[0]?.connected,
        { timeout: 60_000 },
      )
      .toBe(true);
  }

  it('runs an operator at scale: 500 sites searched and paged, a dashboard of constant cost, keyboard and phone', async () => {
    await insertManySites();
    const page = await signIn(stack.master.token);
    const requests: Array<{ at: number; request: Request }> = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/')) requests.push({ at: Date.now(), request });
    });

    // The dashboard: counts and what needs attention from /api/overview, the latest tasks; one
    // refresh (what it asks for in one polling interval) is two requests, whatever the sites.
    const { sites: siteCounts } = await stack.master.api.get<{ sites: { total: number } }>('/api/overview');
    expect(siteCounts.total).toBeGreaterThan(MANY_SITES);
    await expect
      .poll(() => page.getByRole('region', { name: 'Sites' }).locator('.count').textContent())
      .toBe(String(siteCounts.total));
    await expect.poll(() => page.title()).toBe('Dashboard — Berth');
    const attention = await page.getByRole('region', { name: 'Needs attention' }).textContent();
    // Every 7th inserted site was never verified (the 350th is disabled).
    const unverified = /Enabled sites not verified for a day\s*(\d+)/.exec(attention ?? '');
    expect(Number(unverified?.[1])).toBeGreaterThanOrEqual(70);
    const overviews = () =>
      requests.filter(({ request }) => new URL(request.url()).pathname === '/api/overview');
    await expect.poll(() => overviews().length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    // From just before the second poll to just before the third: one interval, one refresh.
    const [second, third] = [overviews()[1]!.at - 1000, overviews()[2]!.at - 1000];
    const refresh = requests
      .filter(({ at }) => at >= second && at < third)
      .map(({ request }) => {
        const url = new URL(request.url());
        return `${url.pathname}${url.search}`;
      });
    console.log(`one dashboard refresh: ${refresh.length} requests: ${refresh.join(', ')}`);
    expect(refresh.sort()).toEqual(['/api/overview', '/api/tasks?limit=10']);
    expect(
      requests.filter(({ request }) => isWholeList(request)).map(({ request }) => request.url()),
    ).toEqual([]);
    const badges = await page.evaluate<Array<{ text: string; ratio: number }>>(BADGE_CONTRAST);
    expect(badges.length).toBeGreaterThan(0);
    expect(badges.filter((badge) => badge.ratio < 4.5)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });

    // Sites: a page of 50 in domain order; one site found among the 500 by a piece of its name.
    await nav(page, 'Sites').click();
    const sites = page.getByRole('table', { name: 'Sites' });
    const domains = () => sites.locator('tbody td:first-child').allTextContents();
    await expect.poll(async () => (await domains()).length).toBe(50);
    const firstPage = await domains();
    expect(firstPage).toEqual([...firstPage].sort());
    const badgesOfSites = await page.evaluate<Array<{ text: string; ratio: number }>>(BADGE_CONTRAST);
    expect(badgesOfSites.filter((badge) => badge.ratio < 4.5)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'sites.png'), fullPage: true });
    const pages = page.getByRole('navigation', { name: 'Pages of sites' });
    await pages.getByRole('button', { name: 'Next' }).click();
    await expect.poll(async () => (await domains())[0]).not.toBe(firstPage[0]);
    const secondPage = await domains();
    expect(secondPage).toHaveLength(50);
    expect(secondPage[0]! > firstPage.at(-1)!).toBe(true);
    expect(new URL(page.url()).hash).toMatch(/^#\/sites\?cursor=/);
    await pages.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(domains).toEqual(firstPage);
    expect(new URL(page.url()).hash).toBe('#/sites');

    const search = page.getByRole('searchbox', { name: 'Search' });
    await search.fill('site0123');
    await expect.poll(domains).toEqual([BUSY_SITE]);
    expect(new URL(page.url()).hash).toBe('#/sites?q=site0123');
    // Back leaves the search, Forward restores it (the search is in the URL).
    await page.goBack();
    await expect.poll(domains).toEqual(firstPage);
    await expect(search.inputValue()).resolves.toBe('');
    await page.goForward();
    await expect.poll(domains).toEqual([BUSY_SITE]);
    await expect(search.inputValue()).resolves.toBe('site0123');

    // Its page: its tasks, newest first, 20 a page.
    await sites.getByRole('link', { name: BUSY_SITE }).click();
    await expect.poll(() => page.title()).toBe(`${BUSY_SITE} — Sites — Berth`);
    const history = page.getByRole('table', { name: 'Task history' });
    await expect.poll(() => history.locator('tbody tr').count()).toBe(20);
    await expect(history.getByRole('row', { name: /failed/ }).textContent()).resolves.toMatch(
      /^site\.backup/,
    );
    await page
      .getByRole('navigation', { name: 'Pages of task history' })
      .getByRole('button', { name: 'Next' })
      .click();
    await expect.poll(() => history.locator('tbody tr').count()).toBe(5);

    // Platforms, servers, clients, tasks: each its own page, title and screenshot.
    for (const [name, check] of [
      ['Platforms', 'bulk'],
      ['Servers', 'web1'],
      ['Clients', 'acme'],
      ['Tasks', 'succeeded'],
    ] as const) {
      await nav(page, name).click();
      await page.getByRole('table', { name }).getByText(check).first().waitFor();
      await expect.poll(() => page.title()).toBe(`${name} — Berth`);
      await page.screenshot({ path: join(SCREENSHOTS, `${name.toLowerCase()}.png`), fullPage: true });
    }

    // Projects: a page of 50 in name order, each with its environments; one found by its name.
    await nav(page, 'Projects').click();
    const projects = page.getByRole('table', { name: 'Projects' });
    const projectNames = () => projects.locator('tbody td:first-child').allTextContents();
    await expect.poll(async () => (await projectNames()).length).toBe(50);
    const firstProjects = await projectNames();
    expect(firstProjects).toEqual([...firstProjects].sort());
    await page.screenshot({ path: join(SCREENSHOTS, 'projects.png'), fullPage: true });
    await page
      .getByRole('navigation', { name: 'Pages of projects' })
      .getByRole('button', { name: 'Next' })
      .click();
    await expect.poll(async () => (await projectNames())[0]).not.toBe(firstProjects[0]);
    expect((await projectNames())[0]! > firstProjects.at(-1)!).toBe(true);
    await page.getByRole('searchbox', { name: 'Search' }).fill('proj012');
    await expect.poll(projectNames).toEqual(['proj012']);
    expect(new URL(page.url()).hash).toBe('#/projects?q=proj012');
    await expect(
      projects.getByRole('list', { name: 'Environments of proj012' }).getByRole('link').getAttribute('href'),
    ).resolves.toBe('#/sites/site0012.example');
    expect(
      requests.filter(({ request }) => isWholeList(request)).map(({ request }) => request.url()),
    ).toEqual([]);

    // The migrate dialog by keyboard only: Tab to its button, Enter opens it with focus inside,
    // Tab and Shift+Tab stay inside, Escape closes it and focus is back on the button.
    await page.goto(`${stack.master.url}/#/sites/acme.example`);
    await page.getByRole('heading', { name: 'Task history' }).waitFor();
    const focused = () => page.evaluate<string>(`document.activeElement?.textContent ?? ''`);
    const inDialog = () => page.evaluate<boolean>(`Boolean(document.activeElement?.closest('dialog[open]'))`);
    for (let presses = 0; (await focused()) !== 'Migrate…'; presses++) {
      expect(presses, 'Tab never reached the Migrate… button').toBeLessThan(60);
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Migrate acme.example' });
    await dialog.getByRole('region').nth(2).waitFor();
    expect(await inDialog()).toBe(true);
    for (let presses = 0; presses < 12; presses++) {
      await page.keyboard.press('Tab');
      expect(await inDialog(), `after ${presses + 1} Tab presses`).toBe(true);
    }
    for (let presses = 0; presses < 12; presses++) {
      await page.keyboard.press('Shift+Tab');
      expect(await inDialog(), `after ${presses + 1} Shift+Tab presses`).toBe(true);
    }
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    await expect.poll(focused).toBe('Migrate…');

    // A phone: no page-wide sideways scroll; the tables scroll in their own box.
    await page.setViewportSize({ width: 390, height: 844 });
    const pageWidth = () => page.evaluate<number>('document.scrollingElement.scrollWidth');
    for (const route of ['#/', '#/sites', `#/sites/${BUSY_SITE}`, '#/tasks', '#/servers', '#/projects']) {
      await page.goto(`${stack.master.url}/${route}`);
      await page.locator('main h1').waitFor();
      await page.locator('main table').first().waitFor();
      expect(await pageWidth(), route).toBeLessThanOrEqual(390);
    }
    await page.goto(`${stack.master.url}/#/sites`);
    await expect.poll(async () => (await domains()).length).toBe(50);
    await page.screenshot({ path: join(SCREENSHOTS, 'sites-phone.png') });

    // A revoked token: the next poll's 401 signs the tab out.
    const issued = await stack.master.api.post<{ name: string; token: string }>('/api/clients/acme/tokens');
    const client = await signIn(issued.token);
    const tokens = await stack.master.api.get<{
      items: Array<{ id: string; name: string; createdAt: string }>;
    }>('/api/tokens');
    // Every token of acme has the same name: this one is the newest.
    const revoked = tokens.items
      .filter((item) => item.name === issued.name)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .at(-1)!;
    await stack.master.api.post(`/api/tokens/${revoked.id}/revoke`);
    await client.getByLabel('API token').waitFor({ timeout: 15_000 });
    await client.context().close();
    await page.context().close();
  });
});
