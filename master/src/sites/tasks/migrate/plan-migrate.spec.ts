import { describe, expect, it } from 'vitest';
import type { CompatibilityReport } from '../../../packages/compatibility.js';
import { SitesErrorCode } from '../../sites.errors.js';
import { planMigrate, type MigrateRequest } from './plan-migrate.js';

const web1 = { id: 's1', name: 'web1', roles: ['http', 'db'] as const, address: '10.0.0.1' };
const web2 = { id: 's2', name: 'web2', roles: ['http'] as const, address: '10.0.0.2' };

const site = {
  domain: 'a.example',
  status: 'enabled' as const,
  platformId: 'p1',
  previousPlatformId: null,
  dbServerId: 'db1',
  dbName: 'a_example_0001',
};

const clean: CompatibilityReport = { rows: [], errors: 0, warnings: 0, upgrades: 1 };

function request(overrides: Partial<MigrateRequest> = {}): MigrateRequest {
  return {
    site,
    target: { id: 'p2', name: 'd103', status: 'verified' },
    report: clean,
    force: false,
    random: Buffer.from([0x0a, 0x0b, 0x0c, 0x0d]),
    servers: { from: web1, to: web1 },
    releaseOldAfterMs: 3_600_000,
    ...overrides,
  };
}

const row = (severity: 'error' | 'warning', message: string) =>
  ({ severity, message }) as CompatibilityReport['rows'][number];

describe('planMigrate', () => {
  it('names the rehearsal copy beside the site, with its own database and user, from the random bytes', () => {
    const plan = planMigrate(request());
    expect(plan).toMatchObject({
      ok: true,
      params: {
        targetPlatformId: 'p2',
        targetPlatform: 'd103',
        rehearsal: { domain: 'rehearsal-0a0b0c0d.a.example' },
      },
    });
    if (!plan.ok) throw new Error('refused');
    expect(plan.params.rehearsal.database).toMatch(/^rehearsal_0a0b0c0d_a_example_[0-9a-f]{8}$/);
    expect(plan.params.rehearsal.user.length).toBeLessThanOrEqual(32);
    expect(planMigrate(request())).toEqual(plan);
  });

  it.each([
    [
      'a target that is not verified',
      { target: { id: 'p2', name: 'd103', status: 'new' } },
      SitesErrorCode.PlatformNotReady,
      /not verified/,
    ],
    [
      'the platform it is on',
      { target: { id: 'p1', name: 'd102', status: 'verified' } },
      SitesErrorCode.InvalidInput,
      /already on d102/,
    ],
    [
      'a disabled site',
      { site: { domain: 'a.example', status: 'disabled' as const, platformId: 'p1' } },
      SitesErrorCode.WrongState,
      /only an enabled site migrates/,
    ],
    [
      'a schema downgrade',
      { report: { ...clean, errors: 1, rows: [row('error', 'node: schema 10300 > 10201')] } },
      SitesErrorCode.Incompatible,
      /cannot move to d103: node/,
    ],
    [
      'a missing module, unforced',
      { report: { ...clean, warnings: 1, rows: [row('warning', 'token is missing')] } },
      SitesErrorCode.Incompatible,
      /has warnings \(token is missing\); use force/,
    ],
  ] as const)('refuses %s', (_what, overrides, code, message) => {
    const plan = planMigrate(request(overrides as Partial<MigrateRequest>));
    expect(plan).toMatchObject({ ok: false, code });
    expect(plan.ok ? '' : plan.message).toMatch(message);
  });

  it("fixes the deploy hooks at queue time: the site's own list, else the target platform's, none when the platform stays", () => {
    const target = { id: 'p2', name: 'd103', status: 'verified', deployHooks: ['config:import' as const] };
    const hooksOf = (overrides: Partial<MigrateRequest>) => {
      const plan = planMigrate(request(overrides));
      if (!plan.ok) throw new Error(plan.message);
      return plan.params.hooks;
    };
    expect(hooksOf({ target })).toEqual(['config:import']);
    expect(hooksOf({ target, site: { ...site, deployHooks: ['deploy:hook', 'cache:rebuild'] } })).toEqual([
      'deploy:hook',
      'cache:rebuild',
    ]);
    // An empty list of its own: the updates only, whatever the platform says.
    expect(hooksOf({ target, site: { ...site, deployHooks: [] } })).toBeUndefined();
    // Only the database moves: the code does not change, nor do the updates.
    const db2 = { id: 'db2', name: 'db2', roles: ['db'] as const, address: '10.0.1.2', nameTaken: false };
    expect(hooksOf({ target: { ...target, id: 'p1' }, db: db2 })).toBeUndefined();
  });

  it('goes ahead with warnings when forced, never with errors', () => {
    const warnings = { ...clean, warnings: 1, rows: [row('warning', 'token is missing')] };
    expect(planMigrate(request({ report: warnings, force: true })).ok).toBe(true);
    const errors = { ...clean, errors: 1, rows: [row('error', 'downgrade')] };
    expect(planMigrate(request({ report: errors, force: true })).ok).toBe(false);
  });

  it('refuses a site too long to have a rehearsal copy beside it', () => {
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(50)}.example`;
    const plan = planMigrate(request({ site: { ...site, domain: long } }));
    expect(plan).toMatchObject({ ok: false, code: SitesErrorCode.InvalidInput });
  });

  it('plans a move to a platform on another web server, with how long the old one keeps the copy', () => {
    const plan = planMigrate(request({ servers: { from: web1, to: web2 } }));
    expect(plan).toMatchObject({ ok: true, params: { releaseOldAfterMs: 3_600_000 } });
    expect(planMigrate(request())).not.toHaveProperty('params.releaseOldAfterMs');
  });

  it('refuses a move to a server without a web server, of unknown address, or while the last copy is kept', () => {
    const db2 = { id: 's3', name: 'db2', roles: ['db'] as const, address: '10.0.1.2' };
    expect(planMigrate(request({ servers: { from: web1, to: db2 } }))).toMatchObject({
      ok: false,
      message: 'platform d103 is on db2, which has no web server (it offers db)',
    });
    expect(planMigrate(request({ servers: { from: web1, to: { ...web2, address: null } } }))).toMatchObject({
      ok: false,
      code: SitesErrorCode.InvalidInput,
    });
    const moved = { ...site, previousPlatformId: 'p0' };
    const kept = planMigrate(request({ site: moved, servers: { from: web1, to: web2 } }));
    expect(kept).toMatchObject({ ok: false, code: SitesErrorCode.WrongState });
    expect(!kept.ok && kept.message).toContain('berth site release-old a.example');
  });

  it('plans a database move, with or without another platform, to where the web server reaches it', () => {
    const db2 = { id: 'db2', name: 'db2', roles: ['db'] as const, address: '10.0.1.2', nameTaken: false };
    const own = { id: 'p1', name: 'd102', status: 'verified' };
    const only = planMigrate(request({ target: own, db: db2 }));
    expect(only).toMatchObject({
      ok: true,
      params: { targetPlatformId: 'p1', targetDb: { serverId: 'db2', name: 'db2', address: '10.0.1.2' } },
    });
    // Onto the web server the site moves to: reached there on loopback.
    const beside = planMigrate(
      request({ servers: { from: web1, to: web2 }, db: { ...db2, id: 's2', name: 'web2' } }),
    );
    expect(beside).toMatchObject({ ok: true, params: { targetDb: { serverId: 's2', address: null } } });
    // Without a database move, the same platform is still "already there".
    expect(planMigrate(request({ target: own }))).toMatchObject({
      ok: false,
      code: SitesErrorCode.InvalidInput,
    });
  });

  it('refuses a database move to its own server, a server without MariaDB, of unknown address, or a name taken', () => {
    const db2 = { id: 'db2', name: 'db2', roles: ['db'] as const, address: '10.0.1.2', nameTaken: false };
    expect(planMigrate(request({ db: { ...db2, id: 'db1', name: 'db1' } }))).toMatchObject({
      ok: false,
      message: 'the database of a.example is already on db1',
    });
    expect(planMigrate(request({ db: { ...db2, roles: ['http'] } }))).toMatchObject({
      ok: false,
      code: SitesErrorCode.InvalidInput,
      message: expect.stringContaining('server db2 has no database service') as string,
    });
    expect(planMigrate(request({ db: { ...db2, address: null } }))).toMatchObject({
      ok: false,
      message: expect.stringContaining('the address of db2 is not known yet') as string,
    });
    expect(planMigrate(request({ db: { ...db2, nameTaken: true } }))).toMatchObject({
      ok: false,
      code: SitesErrorCode.WrongState,
      message: "db2 already holds a database named a_example_0001 (another site's)",
    });
  });

  describe('blue-green', () => {
    it('names the hidden copy beside the site and a new database for it, not the one it has', () => {
      const plan = planMigrate(request({ strategy: 'blue-green' }));
      if (!plan.ok) throw new Error(plan.message);
      expect(plan.params.strategy).toBe('blue-green');
      expect(plan.params.blueGreen?.domain).toBe('green-0a0b0c0d.a.example');
      expect(plan.params.blueGreen?.database).toMatch(/^a_example_[0-9a-f]{8}$/);
      expect(plan.params.blueGreen?.database).not.toBe(site.dbName);
      const inPlace = planMigrate(request());
      if (!inPlace.ok) throw new Error(inPlace.message);
      expect(inPlace.params.strategy).toBeUndefined();
    });

    it.each([
      [
        'a database that moves',
        { db: { id: 'db2', name: 'db2', roles: ['db'] as const, address: '10.0.0.9', nameTaken: false } },
        /keeps the database on its db server/,
      ],
      [
        'a move to another web server',
        { servers: { from: web1, to: web2 } },
        /switches on the web server the site is on/,
      ],
    ])('refuses %s', (_what, overrides, message) => {
      const plan = planMigrate(request({ strategy: 'blue-green', ...overrides }));
      expect(plan).toMatchObject({ ok: false, code: SitesErrorCode.InvalidInput });
      if (plan.ok) throw new Error('planned');
      expect(plan.message).toMatch(message);
    });
  });
});
