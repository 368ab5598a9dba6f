import { describe, expect, it } from 'vitest';
import type { CompatibilityReport } from '../../../packages/compatibility.js';
import { planDrain, type DrainPlatform, type DrainRequest, type DrainSite } from './plan-drain.js';

const web1 = { id: 'w1', name: 'web1', roles: ['http', 'db'] as const, address: '10.0.0.1' };
const web2 = { id: 'w2', name: 'web2', roles: ['http'] as const, address: '10.0.0.2' };
const web3 = { id: 'w3', name: 'web3', roles: ['http', 'db'] as const, address: '10.0.0.3' };
const db1 = { id: 'd1', name: 'db1', roles: ['db'] as const, address: '10.0.1.1' };
const db2 = { id: 'd2', name: 'db2', roles: ['db'] as const, address: '10.0.1.2' };

const platform = (id: string, serverId: string, coreVersion: string, extra: Partial<DrainPlatform> = {}) => ({
  id,
  name: id,
  serverId,
  status: 'verified',
  locked: false,
  coreVersion,
  ...extra,
});
const PLATFORMS = [
  platform('p102-web1', 'w1', '10.2.0'),
  platform('p103-web2', 'w2', '10.3.0'),
  platform('p102-web3', 'w3', '10.2.0'),
  platform('p101-web2', 'w2', '10.1.0'),
];
const clean: CompatibilityReport = { rows: [], errors: 0, warnings: 0, upgrades: 0 };
const site = (domain: string, extra: Partial<DrainSite> = {}): DrainSite => ({
  id: domain,
  domain,
  platformId: 'p102-web1',
  dbServerId: 'd1',
  previousPlatformId: null,
  ...extra,
});

function request(overrides: Partial<DrainRequest> = {}): DrainRequest {
  return {
    server: web1,
    to: null,
    sites: [site('a.example')],
    platforms: PLATFORMS,
    servers: [web1, web2, web3, db1, db2],
    report: () => clean,
    force: false,
    load: { sites: new Map(), databases: new Map() },
    ...overrides,
  };
}

describe('planDrain', () => {
  it('puts a site on a platform of the same core elsewhere first, never an older one', () => {
    expect(planDrain(request())).toEqual([
      { id: 'a.example', domain: 'a.example', platform: 'p102-web3', dbServer: null },
    ]);
  });

  it('takes the closest newer core when --to has no same one, and fills the emptiest server first', () => {
    expect(planDrain(request({ to: web2 }))[0]).toMatchObject({ platform: 'p103-web2' });
    const two = planDrain(
      request({
        platforms: [...PLATFORMS, platform('p102-web2', 'w2', '10.2.0')],
        sites: [site('a.example'), site('b.example')],
        load: { sites: new Map([['w3', 1]]), databases: new Map() },
      }),
    );
    expect(two.map((entry) => entry.platform)).toEqual(['p102-web2', 'p102-web2']);
  });

  it('moves a database on the drained server to the emptiest other db server', () => {
    const plan = planDrain(
      request({
        sites: [site('a.example', { dbServerId: 'w1' }), site('b.example', { dbServerId: 'w1' })],
        load: {
          sites: new Map(),
          databases: new Map([
            ['d1', 3],
            ['d2', 1],
            ['w3', 2],
          ]),
        },
      }),
    );
    // db2 first (1 database); then db2 and web3 hold 2 each: the site's own new web server wins.
    expect(plan.map((entry) => [entry.platform, entry.dbServer])).toEqual([
      ['p102-web3', 'db2'],
      ['p102-web3', 'web3'],
    ]);
    // A db server drained: the sites stay on their platforms, their databases move.
    const dbOnly = planDrain(request({ server: db1, sites: [site('c.example')] }));
    expect(dbOnly[0]).toMatchObject({ platform: null, dbServer: 'web1' });
  });

  it('lists a site with nowhere to go, with the reason, and plans the others', () => {
    const plan = planDrain(
      request({
        sites: [site('a.example'), site('kept.example', { previousPlatformId: 'p0' })],
        report: (siteId, platformId) =>
          siteId === 'a.example' && platformId === 'p102-web3' ? { ...clean, warnings: 1 } : clean,
        to: web3,
      }),
    );
    expect(plan[0]).toMatchObject({
      refused: expect.stringContaining('no platform on web3 takes its packages') as string,
    });
    expect(plan[1]).toMatchObject({
      refused: expect.stringContaining('berth site release-old kept.example') as string,
    });
    expect(
      planDrain(request({ to: web3, force: true, report: () => ({ ...clean, warnings: 1 }) }))[0],
    ).toMatchObject({
      platform: 'p102-web3',
    });
    expect(
      planDrain(request({ to: web2, sites: [site('a.example', { dbServerId: 'w1' })] }))[0],
    ).toMatchObject({
      refused: 'no other db server (web2 has no MariaDB) can take its database',
    });
  });
});
