import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixturePlatformName } from '../fixtures/platforms.js';
import { type MasterHandle, type TaskSummary } from '../support/processes.js';
import type { WebStack } from '../support/web-stack.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { startHttpProber } from '../support/http-prober.js';

const PLATFORMS: Record<string, FixturePlatformName> = {
  'fixture-10-1': 'fixture-10.1',
  'fixture-10-2': 'fixture-10.2',
  'fixture-10-3': 'fixture-10.3',
  'fixture-10-3-missing': 'fixture-10.3-missing-module',
  'fixture-10-3-broken': 'fixture-10.3-broken-update',
};

/**
 * The optimistic migrate on real MariaDB, nginx and PHP-FPM, watched from outside by an HTTP prober
 * (every 20 ms) and a writer: 503 only inside the offline window, no acknowledged write lost, a
 * failing update caught by the rehearsal without the live site ever going offline.
 */
describe('migrate', () => {
  let stack: HostingStack;
  let master: MasterHandle;
  let web: WebStack;
  let root: string;

  const berth = (...args: string[]) => stack.berth(...args);
  const mariadb = (sql: string) => stack.mariadb(sql);
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );

  beforeAll(async () => {
    stack = await startHostingStack({ label: 'migrate', platforms: PLATFORMS });
    ({ master, web, root } = stack);
    await berth('site', 'install', 'm.example', '--platform', 'fixture-10-2');
    await berth('site', 'install', 'b.example', '--platform', 'fixture-10-2');
  }, 300_000);

  afterAll(() => stack?.stop());

  it("checks compatibility with Aegir's rules: upgrades, a refused downgrade, a warning that needs --force", async () => {
    const check = JSON.parse(
      (await berth('site', 'migrate', 'm.example', '--platform', 'fixture-10-3', '--check', '--json')).stdout,
    ) as { errors: number; warnings: number; rows: Array<{ name: string; status: string }> };
    expect(check.errors).toBe(0);
    expect(check.rows.filter((row) => row.status === 'upgrade').map((row) => row.name)).toEqual(
      expect.arrayContaining(['system', 'pathauto']),
    );

    const older = await failure(berth('site', 'migrate', 'm.example', '--platform', 'fixture-10-1'));
    expect(older?.code).toBe(2);
    expect(older?.stderr).toMatch(/cannot move to fixture-10-1/);

    const missing = await failure(
      berth('site', 'migrate', 'm.example', '--platform', 'fixture-10-3-missing'),
    );
    expect(missing?.code).toBe(2);
    expect(missing?.stderr).toMatch(/admin_toolbar/);
    expect(missing?.stderr).toMatch(/force/);
  });

  it('is offline (503) only inside the recorded window, loses no acknowledged write, and lands on the new platform', async () => {
    const acknowledged: Array<{ title: string; at: number }> = [];
    let running = true;
    const prober = startHttpProber(web, 'm.example');
    const writer = (async () => {
      for (let n = 0; running; n++) {
        const title = `write ${n}`;
        const response = await web.request('m.example', '/node', { method: 'POST', form: { title } });
        if (response.status < 400) acknowledged.push({ title, at: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    let task: TaskSummary & { phases: Array<{ name: string; startedAt: string; endedAt: string }> };
    try {
      const started = JSON.parse(
        (await berth('site', 'migrate', 'm.example', '--platform', 'fixture-10-3', '--json')).stdout,
      ) as { id: string };
      task = await master.api.get(`/api/tasks/${started.id}`);
    } finally {
      await new Promise((resolve) => setTimeout(resolve, 300));
      running = false;
      await Promise.all([prober.stop(), writer]);
    }
    const samples = prober.samples;
    expect(task.state).toBe('succeeded');
    const phase = (name: string) => {
      const found = task.phases.find((item) => item.name === name);
      if (!found) throw new Error(`no phase ${name}`);
      return { start: Date.parse(found.startedAt), end: Date.parse(found.endedAt) };
    };
    const window = phase('offline window');
    // Maintenance is really on from the end of the step that set it to the start of the one that
    // lifted it; between those and the phase's edges either answer is right.
    const steps = task.steps!.filter((step) => step.name === 'app.maintenance');
    const on = steps.at(-2)!.attempts[0]!;
    const off = steps.at(-1)!.attempts[0]!;
    const inner = { start: Date.parse(on.finishedAt!), end: Date.parse(off.startedAt!) };

    const outside = samples.filter((sample) => sample.at < window.start || sample.at > window.end);
    const inside = samples.filter((sample) => sample.at > inner.start && sample.at < inner.end);
    console.info(
      `migrate: offline window ${window.end - window.start} ms (maintenance on for ${inner.end - inner.start} ms); ` +
        `${samples.length} probes, ${inside.length} inside, ${samples.filter((sample) => sample.status === 503).length} answered 503; ` +
        `${acknowledged.length} writes acknowledged`,
    );
    expect(samples.length).toBeGreaterThan(20);
    expect(outside.filter((sample) => sample.status !== 200)).toEqual([]);
    expect(inside.filter((sample) => sample.status !== 503)).toEqual([]);
    // Served by the new platform's code once the window closed.
    expect(samples.at(-1)?.generator).toBe('Drupal 10.3.0 (Berth fixture)');

    const readOnly = phase('read-only window');
    const page = (await web.request('m.example', '/')).body;
    const beforeReadOnly = acknowledged.filter((item) => item.at < readOnly.start);
    expect(beforeReadOnly.length).toBeGreaterThan(0);
    for (const write of beforeReadOnly) expect(page).toContain(write.title);

    const site = JSON.parse((await berth('site', 'show', 'm.example', '--json')).stdout) as {
      platform: string;
      packages: Array<{ name: string; schemaVersion: number }>;
    };
    expect(site.platform).toBe('fixture-10-3');
    const schema = Object.fromEntries(site.packages.map((item) => [item.name, item.schemaVersion]));
    expect(schema).toMatchObject({ system: 10300, pathauto: 8109 });
    expect((await web.request('m.example', '/')).status).toBe(200);
  });

  it('stops at the rehearsal when an update fails: the live site never went offline, nothing changed, the copy is gone', async () => {
    const prober = startHttpProber(web, 'b.example');
    const before = JSON.parse((await berth('site', 'show', 'b.example', '--json')).stdout) as {
      platform: string;
      packages: unknown[];
    };
    let outcome: { code: number; stderr: string } | undefined;
    try {
      outcome = await failure(berth('site', 'migrate', 'b.example', '--platform', 'fixture-10-3-broken'));
    } finally {
      await prober.stop();
    }
    const samples = prober.samples;
    expect(outcome?.code).toBe(1);
    expect(outcome?.stderr).toMatch(/app\.update/);
    expect(samples.filter((sample) => sample.status !== 200)).toEqual([]);
    const after = JSON.parse((await berth('site', 'show', 'b.example', '--json')).stdout) as typeof before;
    expect(after).toEqual(before);
    expect(readdirSync(join(root, 'sites')).filter((name) => name.startsWith('rehearsal-'))).toEqual([]);
    expect(
      readdirSync(join(root, 'config', 'nginx')).filter((name) => name.startsWith('rehearsal-')),
    ).toEqual([]);
    expect(
      await mariadb(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'rehearsal%'`),
    ).toBe('0');
  });
});
