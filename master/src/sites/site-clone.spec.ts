import { describe, expect, it } from 'vitest';
import { cloneDatabasePlacement } from './site-clone.js';

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
