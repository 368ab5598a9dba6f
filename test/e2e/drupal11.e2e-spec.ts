import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { type MasterHandle } from '../support/processes.js';
import { type WebStack } from '../support/web-stack.js';

interface CheckRow {
  name: string;
  status: string;
  severity: string;
  message: string;
  siteSchema: number;
  targetSchema: number | null;
  pendingPostUpdates: number;
}

interface Check {
  rows: CheckRow[];
  errors: number;
  warnings: number;
}

/**
 * The upgrade users care about most, on fixture platforms shaped like real Drupal 10.2, 10.3 and
 * 11.0: Drupal 11 has no updates left for system, node and user, only hook_update_last_removed(),
 * and post-updates come and go. A 10.3 site moves to 11 (its post-update runs in the window); a
 * 10.2 site is refused as too old, before anything is done.
 */
describe('moving sites to Drupal 11', () => {
  let stack: HostingStack;
  let master: MasterHandle;
  let web: WebStack;

  const berth = (...args: string[]) => stack.berth(...args);
  const check = async (domain: string, platform: string) =>
    JSON.parse(
      (
        await berth('site', 'migrate', domain, '--platform', platform, '--check', '--json').catch(
          (error: { stdout: string }) => ({ stdout: error.stdout }),
        )
      ).stdout,
    ) as Check;

  beforeAll(async () => {
    stack = await startHostingStack({
      label: 'drupal11',
      platforms: { 'd10.2': 'fixture-10.2', 'd10.3': 'fixture-10.3', 'd11.0': 'fixture-11.0' },
    });
    ({ master, web } = stack);
    await berth('site', 'install', 'current.example', '--platform', 'd10.3');
    await berth('site', 'install', 'old.example', '--platform', 'd10.2');
  });

  afterAll(() => stack?.stop());

  it('moves a 10.3 site to 11.0: no schema number moves, core and a post-update do', async () => {
    const report = await check('current.example', 'd11.0');
    expect(report.errors).toBe(0);
    const row = (name: string) => report.rows.find((item) => item.name === name)!;
    // system: 10.3's last update (10300) is 11.0's last removed one.
    expect(row('system')).toMatchObject({ siteSchema: 10300, targetSchema: 10300, status: 'upgrade' });
    expect(row('system').pendingPostUpdates).toBe(1);
    expect(row('system').message).toBe('database updates to run: 1 post-update');
    expect(row('node')).toMatchObject({ status: 'same', severity: 'ok' });
    expect(row('drupal')).toMatchObject({ status: 'upgrade', message: 'Drupal 10.3.0 → 11.0.0' });

    const migrated = JSON.parse(
      (await berth('site', 'migrate', 'current.example', '--platform', 'd11.0', '--json')).stdout,
    ) as { state: string; id: string };
    expect(migrated.state).toBe('succeeded');
    const log = await master.api.get<{ lines: Array<{ text: string }> }>(
      `/api/tasks/${migrated.id}/log?limit=5000`,
    );
    expect(
      log.lines.some((line) =>
        line.text.includes('Update started: system_post_update_add_navigation_blocks'),
      ),
    ).toBe(true);
    const page = await web.request('current.example', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('Drupal 11.0.0');

    // Recorded on the site: nothing more to run on 11.0.
    const again = await check('current.example', 'd10.3');
    expect(again.rows.find((item) => item.name === 'drupal')).toMatchObject({ status: 'core-too-old' });
    const site = JSON.parse((await berth('site', 'show', 'current.example', '--json')).stdout) as {
      platform: string;
      packages: Array<{ name: string; postUpdates: string[] | null }>;
    };
    expect(site.platform).toBe('d11.0');
    expect(site.packages.find((item) => item.name === 'system')?.postUpdates).toContain(
      'system_post_update_add_navigation_blocks',
    );
  });

  it('refuses a 10.2 site below 11.0’s last removed update, saying to update to an intermediate version first', async () => {
    const report = await check('old.example', 'd11.0');
    expect(report.errors).toBeGreaterThan(0);
    const system = report.rows.find((item) => item.name === 'system')!;
    expect(system).toMatchObject({ status: 'too-old', severity: 'error', siteSchema: 10201 });
    expect(system.message).toMatch(/update to an intermediate version first/);

    const tasksBefore = (await master.api.get<{ items: unknown[] }>('/api/tasks?limit=500')).items.length;
    const refused = await berth('site', 'migrate', 'old.example', '--platform', 'd11.0').then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/too old to update.*intermediate version first/);
    expect((await master.api.get<{ items: unknown[] }>('/api/tasks?limit=500')).items.length).toBe(
      tasksBefore,
    );
    expect((await web.request('old.example', '/')).status).toBe(200);

    // Through 10.3 first, it can go.
    const step = JSON.parse(
      (await berth('site', 'migrate', 'old.example', '--platform', 'd10.3', '--json')).stdout,
    ) as { state: string };
    expect(step.state).toBe('succeeded');
    expect((await check('old.example', 'd11.0')).errors).toBe(0);
  });
});
