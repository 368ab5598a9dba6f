import { describe, expect, it } from 'vitest';
import { FIXTURE_PLATFORMS, type FixturePlatformName } from '../../../test/fixtures/platforms.js';
import {
  compareForMigration,
  compareVersions,
  type CompatibilityRow,
  type SitePackage,
  type TargetPackage,
} from './compatibility.js';

const pkg = (name: string, schemaVersion: number, overrides: Partial<SitePackage> = {}): SitePackage => ({
  name,
  type: 'module',
  version: '1.0.0',
  schemaVersion,
  ...overrides,
});

const core = (version: string | null): SitePackage => ({
  name: 'drupal',
  type: 'core',
  version,
  schemaVersion: 0,
});

/** What the registry holds for a site installed on a fixture platform: its packages plus the platform's core. */
function siteOn(platform: FixturePlatformName): SitePackage[] {
  const fixture = FIXTURE_PLATFORMS[platform];
  return [
    core(fixture.coreVersion),
    ...Object.entries(fixture.packages).map(([name, found]) => ({
      name,
      type: found.type,
      version: found.version,
      schemaVersion: found.installedSchema ?? 0,
    })),
  ];
}

/** What a platform scan records for a fixture platform (the agent reports "no updates" as 0). */
function platform(name: FixturePlatformName): TargetPackage[] {
  const fixture = FIXTURE_PLATFORMS[name];
  return [
    core(fixture.coreVersion),
    ...Object.entries(fixture.packages).map(([packageName, found]) => ({
      name: packageName,
      type: found.type,
      version: found.version,
      schemaVersion: found.schema ?? 0,
    })),
  ];
}

const row = (rows: CompatibilityRow[], name: string) => rows.find((candidate) => candidate.name === name);

describe('compareForMigration: the rules per package', () => {
  it('warns about a package the target does not have', () => {
    const report = compareForMigration([pkg('views_extra', 8001)], []);
    expect(report.rows).toEqual([
      expect.objectContaining({
        name: 'views_extra',
        status: 'missing',
        severity: 'warning',
        siteSchema: 8001,
        targetSchema: null,
        targetVersion: null,
      }),
    ]);
    expect(report.rows[0]!.message).toMatch(/does not have views_extra/);
    expect(report).toMatchObject({ errors: 0, warnings: 1, upgrades: 0 });
  });

  it('refuses a lower schema on the target', () => {
    const report = compareForMigration([pkg('token', 8002)], [pkg('token', 8001)]);
    expect(report.rows[0]).toMatchObject({ status: 'downgrade', severity: 'error', targetSchema: 8001 });
    expect(report.rows[0]!.message).toMatch(/8001.*8002/);
    expect(report).toMatchObject({ errors: 1, warnings: 0, upgrades: 0 });
  });

  it('sees no change for an equal schema, and names a new version of the code', () => {
    const unchanged = compareForMigration([pkg('token', 8002)], [pkg('token', 8002)]);
    expect(unchanged.rows[0]).toMatchObject({ status: 'same', severity: 'ok', message: 'no change' });
    expect(unchanged).toMatchObject({ errors: 0, warnings: 0, upgrades: 0 });

    const newCode = compareForMigration(
      [pkg('token', 8002, { version: '8.x-1.13' })],
      [pkg('token', 8002, { version: '8.x-1.14' })],
    );
    expect(newCode.rows[0]).toMatchObject({ status: 'same', severity: 'ok' });
    expect(newCode.rows[0]!.message).toMatch(/8\.x-1\.13 → 8\.x-1\.14/);
  });

  it('counts a higher schema on the target as an upgrade', () => {
    const report = compareForMigration([pkg('pathauto', 8108)], [pkg('pathauto', 8109)]);
    expect(report.rows[0]).toMatchObject({ status: 'upgrade', severity: 'ok' });
    expect(report.rows[0]!.message).toMatch(/8108 → 8109/);
    expect(report).toMatchObject({ errors: 0, warnings: 0, upgrades: 1 });
  });

  it("reads a module without updates the same on both sides: Drupal's 8000 on the site, 0 in a scan", () => {
    expect(compareForMigration([pkg('ctools', 8000)], [pkg('ctools', 0)]).rows[0]!.status).toBe('same');
    expect(compareForMigration([pkg('olivero', 0)], [pkg('olivero', 0)]).rows[0]!.status).toBe('same');
    // Updates the site ran that the target's code does not have are still a downgrade.
    expect(compareForMigration([pkg('ctools', 8001)], [pkg('ctools', 0)]).rows[0]!.status).toBe('downgrade');
    expect(compareForMigration([pkg('ctools', 8000)], [pkg('ctools', 8001)]).rows[0]!.status).toBe('upgrade');
  });

  it('ignores packages only the target has', () => {
    const report = compareForMigration(
      [pkg('token', 8002)],
      [pkg('token', 8002), pkg('admin_toolbar', 8002)],
    );
    expect(report.rows.map((item) => item.name)).toEqual(['token']);
  });

  it('matches by name, preferring the same type', () => {
    const report = compareForMigration(
      [pkg('bartik', 0, { type: 'theme' })],
      [pkg('bartik', 9000), pkg('bartik', 0, { type: 'theme' })],
    );
    expect(report.rows[0]).toMatchObject({ type: 'theme', status: 'same', targetSchema: 0 });
  });
});

describe('compareForMigration: core', () => {
  it('refuses an older core, whatever the schema says', () => {
    const report = compareForMigration([core('10.2.0')], [core('10.1.8')]);
    expect(report.rows[0]).toMatchObject({
      name: 'drupal',
      type: 'core',
      status: 'core-too-old',
      severity: 'error',
      siteVersion: '10.2.0',
      targetVersion: '10.1.8',
    });
    expect(report.rows[0]!.message).toMatch(/core too old/);
    expect(report.errors).toBe(1);
  });

  it('compares versions by number: 10.10 is newer than 10.9', () => {
    expect(compareForMigration([core('10.9.0')], [core('10.10.0')]).rows[0]).toMatchObject({
      status: 'upgrade',
      severity: 'ok',
    });
    expect(compareForMigration([core('10.10.0')], [core('10.9.9')]).rows[0]!.status).toBe('core-too-old');
    expect(compareForMigration([core('10.3')], [core('10.3.0')]).rows[0]!.status).toBe('same');
  });

  it('warns when a core version is unknown (a platform not verified yet)', () => {
    const report = compareForMigration([core('10.2.0')], [core(null)]);
    expect(report.rows[0]).toMatchObject({ status: 'same', severity: 'warning' });
    expect(report.rows[0]!.message).toMatch(/target platform is unknown/);
  });

  it('warns when the target has no core at all', () => {
    expect(compareForMigration([core('10.2.0')], []).rows[0]).toMatchObject({
      status: 'missing',
      severity: 'warning',
    });
  });
});

describe('compareVersions', () => {
  it.each([
    ['10.10', '10.9', 1],
    ['10.9', '10.10', -1],
    ['10.3.0', '10.3', 0],
    ['11.0.0', '10.99.99', 1],
    ['10.3.0-rc1', '10.3.0', -1],
    ['10.3.0', '10.3.0-rc1', 1],
    ['10.3.0-beta1', '10.3.0-rc1', -1],
    ['10.3.1', '10.3.0', 1],
  ])('%s vs %s → %i', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
  });
});

describe('compareForMigration: the fixture platforms', () => {
  it('10.2 site → 10.3: core, system and pathauto upgrade, nothing else changes', () => {
    const report = compareForMigration(siteOn('fixture-10.2'), platform('fixture-10.3'));
    expect(report).toMatchObject({ errors: 0, warnings: 0, upgrades: 3 });
    expect(report.rows.slice(0, 3).map((item) => [item.name, item.status])).toEqual([
      ['drupal', 'upgrade'],
      ['pathauto', 'upgrade'],
      ['system', 'upgrade'],
    ]);
    expect(row(report.rows, 'system')).toMatchObject({ siteSchema: 10201, targetSchema: 10300 });
    expect(row(report.rows, 'pathauto')).toMatchObject({ siteSchema: 8108, targetSchema: 8109 });
    expect(report.rows.slice(3).every((item) => item.status === 'same')).toBe(true);
  });

  it('10.2 site → 10.2 (a rename, a move to a copy): nothing changes', () => {
    const report = compareForMigration(siteOn('fixture-10.2'), platform('fixture-10.2'));
    expect(report).toMatchObject({ errors: 0, warnings: 0, upgrades: 0 });
    expect(report.rows.every((item) => item.status === 'same')).toBe(true);
  });

  it('10.2 site → 10.1: an older core and schema downgrades are errors', () => {
    const report = compareForMigration(siteOn('fixture-10.2'), platform('fixture-10.1'));
    expect(report.errors).toBe(4);
    expect(report.rows.slice(0, 4).map((item) => [item.name, item.status])).toEqual([
      ['drupal', 'core-too-old'],
      ['pathauto', 'downgrade'],
      ['system', 'downgrade'],
      ['token', 'downgrade'],
    ]);
    expect(row(report.rows, 'token')).toMatchObject({ siteSchema: 8002, targetSchema: 8001 });
  });

  it('10.2 site → 10.3-missing-module: admin_toolbar is a warning, after no errors', () => {
    const report = compareForMigration(siteOn('fixture-10.2'), platform('fixture-10.3-missing-module'));
    expect(report).toMatchObject({ errors: 0, warnings: 1, upgrades: 3 });
    expect(report.rows[0]).toMatchObject({ name: 'admin_toolbar', status: 'missing', severity: 'warning' });
  });
});

describe('compareForMigration: order and empty inputs', () => {
  it('sorts errors, then warnings, then upgrades, then unchanged, by name within each', () => {
    const report = compareForMigration(
      [
        pkg('b_same', 8000),
        pkg('a_same', 8000),
        pkg('z_up', 8000),
        pkg('y_gone', 8000),
        pkg('x_down', 8002),
        pkg('c_up', 8000),
        core('10.2.0'),
      ],
      [
        pkg('b_same', 8000),
        pkg('a_same', 8000),
        pkg('z_up', 8001),
        pkg('x_down', 8001),
        pkg('c_up', 8001),
        core('10.1.0'),
      ],
    );
    expect(report.rows.map((item) => item.name)).toEqual([
      'drupal',
      'x_down',
      'y_gone',
      'c_up',
      'z_up',
      'a_same',
      'b_same',
    ]);
    expect(report).toMatchObject({ errors: 2, warnings: 1, upgrades: 2 });
  });

  it('reports nothing for a site without packages, against any target', () => {
    expect(compareForMigration([], platform('fixture-10.3'))).toEqual({
      rows: [],
      errors: 0,
      warnings: 0,
      upgrades: 0,
    });
    expect(compareForMigration([], [])).toEqual({ rows: [], errors: 0, warnings: 0, upgrades: 0 });
  });

  it('flags every package missing against an empty target', () => {
    const report = compareForMigration(siteOn('fixture-10.2'), []);
    expect(report.warnings).toBe(report.rows.length);
    expect(report.rows.every((item) => item.status === 'missing')).toBe(true);
  });
});

describe('compareForMigration: removed updates and post-updates (Drupal 10.1+, 11)', () => {
  const target = (
    name: string,
    schemaVersion: number,
    overrides: Partial<TargetPackage> = {},
  ): TargetPackage => ({
    ...pkg(name, schemaVersion),
    ...overrides,
  });
  const only = (site: SitePackage, offered: TargetPackage) => compareForMigration([site], [offered]).rows[0]!;

  it('takes a last removed update as the schema of code that has no updates left: equal is no change', () => {
    // Drupal 11's system.install: no system_update_N(), system_update_last_removed() returns 10201.
    const row = only(pkg('system', 10201), target('system', 10201, { lastRemovedSchema: 10201 }));
    expect(row).toMatchObject({ status: 'same', severity: 'ok' });
  });

  it('refuses a site below the last removed update: update to an intermediate version first', () => {
    const row = only(pkg('system', 10100), target('system', 10201, { lastRemovedSchema: 10201 }));
    expect(row).toMatchObject({ status: 'too-old', severity: 'error' });
    expect(row.message).toMatch(
      /schema is 10100.*removed every update up to 10201.*intermediate version first/,
    );
  });

  it("does not hold a theme's unrecorded schema (0) against a last removed update", () => {
    expect(
      only(
        pkg('olivero', 0, { type: 'theme' }),
        target('olivero', 10000, { type: 'theme', lastRemovedSchema: 10000 }),
      ).status,
    ).not.toBe('too-old');
  });

  it('refuses a site that never ran a post-update the target removed', () => {
    const row = only(
      pkg('node', 10100, { postUpdates: ['node_post_update_a'] }),
      target('node', 10100, { removedPostUpdates: ['node_post_update_a', 'node_post_update_b'] }),
    );
    expect(row).toMatchObject({ status: 'too-old', severity: 'error' });
    expect(row.message).toMatch(/never ran the post-update node_post_update_b/);
  });

  it('counts the post-updates a site has not run as an upgrade, even when no schema number moves', () => {
    const row = only(
      pkg('system', 10300, { postUpdates: ['system_post_update_a'] }),
      target('system', 10300, {
        postUpdates: ['system_post_update_a', 'system_post_update_b', 'system_post_update_c'],
      }),
    );
    expect(row).toMatchObject({ status: 'upgrade', severity: 'ok', pendingPostUpdates: 2 });
    expect(row.message).toBe('database updates to run: 2 post-updates');
    const both = only(
      pkg('system', 10201, { postUpdates: [] }),
      target('system', 10300, { postUpdates: ['system_post_update_b'] }),
    );
    expect(both.message).toBe('database updates to run: schema 10201 → 10300, and 1 post-update');
  });

  it('neither refuses nor counts post-updates for a site whose database did not say which it ran', () => {
    const row = only(
      pkg('system', 10300, { postUpdates: null }),
      target('system', 10300, {
        postUpdates: ['system_post_update_b'],
        removedPostUpdates: ['system_post_update_a'],
      }),
    );
    expect(row).toMatchObject({ status: 'same', pendingPostUpdates: 0 });
  });
});
