import { describe, expect, it } from 'vitest';
import { cloneDatabasePlacement, placeDatabase } from './database-placement.js';

describe('cloneDatabasePlacement', () => {
  const local = { dbServerId: 'web1', dbHost: '127.0.0.1', dbPort: 3306 };

  it('keeps a local database local to the same web server', () => {
    expect(cloneDatabasePlacement(local, 'web1', 'web1')).toEqual(local);
  });

  it("puts a local database beside the clone's web server when the clone's platform is on another", () => {
    expect(cloneDatabasePlacement(local, 'web1', 'web2')).toEqual({
      dbServerId: 'web2',
      dbHost: '127.0.0.1',
      dbPort: 3306,
    });
  });

  it('keeps a database on its own server there, whichever web server the clone is on', () => {
    const remote = { dbServerId: 'db1', dbHost: 'db1.internal', dbPort: 3307 };
    expect(cloneDatabasePlacement(remote, 'web1', 'web2')).toEqual(remote);
  });
});

describe('placeDatabase', () => {
  const web1 = { id: 'w1', name: 'web1', roles: ['http', 'db'] as const, address: '10.0.0.11' };
  const db1 = { id: 'd1', name: 'db1', roles: ['db'] as const, address: '10.0.0.21' };

  it('reaches a database beside its web server on loopback', () => {
    expect(placeDatabase(web1, web1)).toEqual({
      ok: true,
      placement: { dbServerId: 'w1', dbHost: '127.0.0.1', dbPort: 3306 },
    });
  });

  it("reaches a database on its own server at that server's address", () => {
    expect(placeDatabase(web1, db1)).toEqual({
      ok: true,
      placement: { dbServerId: 'd1', dbHost: '10.0.0.21', dbPort: 3306 },
    });
  });

  it('refuses a server without a database service, and one whose address is not known', () => {
    const web2 = { id: 'w2', name: 'web2', roles: ['http'] as const, address: '10.0.0.12' };
    const refused = placeDatabase(web1, web2);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.message).toMatch(/^server web2 has no database service \(it offers http\)/);
    expect(placeDatabase(web2, web2)).toMatchObject({ ok: false });
    expect(placeDatabase(web1, { ...db1, address: null })).toEqual({
      ok: false,
      message: 'the address of db1 is not known yet: its agent reports it when it connects',
    });
  });
});
