import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusalOf, walkPages } from '../../../test/support/pages.js';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlRows } from '../infra/db/sql.js';
import { ServersErrorCode } from './servers.errors.js';
import { ServersRepository } from './servers.repository.js';
import { ServersService, type ServerListInput } from './servers.service.js';

/** The server list by pages and filters, through ServersService, on both registries. */
describe.each(TEST_DATABASE_KINDS)('server list pages on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let repository: ServersRepository;
  let servers: ServersService;
  /** The servers whose agent is connected now, as the masters' presence would say. */
  const connected = new Set<string>();

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    repository = new ServersRepository(db);
    servers = new ServersService(
      repository,
      {} as never,
      { connectedServerIds: () => Promise.resolve([...connected]) },
      { advertisedHost: 'master.example', grpcPort: 7443 },
    );
    // 24 servers: web servers, db servers, and some both; every third one connected.
    for (let n = 0; n < 24; n++) {
      const roles = n % 4 === 0 ? ['http', 'db'] : n % 2 === 0 ? ['db'] : ['http'];
      await add(`${n % 2 === 0 ? 'db' : 'web'}${String(n).padStart(2, '0')}.example`, roles, n % 3 === 0);
    }
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  async function add(name: string, roles: string[], isConnected: boolean) {
    const server = await repository.create({ name, slots: 1 });
    await sqlRows(db, `UPDATE servers SET roles = $1::jsonb WHERE id = $2 RETURNING id`, [
      JSON.stringify(roles),
      server.id,
    ]);
    if (isConnected) connected.add(server.id);
    return server;
  }

  const walk = (input: ServerListInput, between?: (page: number) => Promise<void>) =>
    walkPages((cursor) => servers.page({ ...input, ...(cursor ? { cursor } : {}) }), between);

  it('pages through every server once, in name order, while servers are added between pages', async () => {
    const before = (await servers.list()).map((server) => server.name);
    const seen = (
      await walk({ limit: '5' }, async (page) => {
        await add(`a${page}.example`, ['http'], false);
        await add(`zz${page}.example`, ['http'], true);
      })
    ).map((server) => server.name);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...before, ...seen.filter((name) => name.startsWith('zz'))]);
    expect(seen.filter((name) => name.startsWith('zz')).length).toBeGreaterThan(0);
  });

  it('filters by role, whether its agent is connected, and a piece of the name', async () => {
    const all = await servers.list();
    const expectFilter = async (input: ServerListInput, keep: (server: (typeof all)[number]) => boolean) => {
      const expected = all.filter(keep).map((server) => server.name);
      expect(expected.length).toBeGreaterThan(0);
      expect((await walk({ ...input, limit: '3' })).map((server) => server.name)).toEqual(expected);
    };
    await expectFilter({ role: 'db' }, (server) => server.roles.includes('db'));
    await expectFilter({ role: 'http' }, (server) => server.roles.includes('http'));
    await expectFilter({ connected: 'true' }, (server) => server.connected);
    await expectFilter({ connected: 'false' }, (server) => !server.connected);
    await expectFilter(
      { connected: 'false', role: 'db', q: '0' },
      (server) => !server.connected && server.roles.includes('db') && server.name.includes('0'),
    );
    await expectFilter({ q: 'WEB1' }, (server) => server.name.includes('web1'));
    expect((await servers.page({ q: '_' })).items).toEqual([]);
    // No agent connected anywhere: every server is disconnected.
    const saved = [...connected];
    connected.clear();
    try {
      expect((await servers.page({ connected: 'true' })).items).toEqual([]);
      expect((await servers.page({ connected: 'false', limit: '500' })).items).toHaveLength(all.length);
    } finally {
      for (const id of saved) connected.add(id);
    }
  });

  it('refuses bad input with a 400 that names the parameter', async () => {
    const refusal = (input: ServerListInput) => refusalOf(servers.page(input));
    const invalid = (message: RegExp) => ({
      code: ServersErrorCode.InvalidInput,
      status: 400,
      message: expect.stringMatching(message) as string,
    });
    for (const limit of ['0', '-1', '1000']) expect(await refusal({ limit })).toEqual(invalid(/^limit /));
    expect(await refusal({ cursor: '!!' })).toEqual(invalid(/^cursor /));
    expect(await refusal({ role: 'mail' })).toEqual(invalid(/^role must be one of http, db/));
    expect(await refusal({ connected: 'yes' })).toEqual(invalid(/^connected must be one of true, false/));
    expect(await refusal({ q: ['a', 'b'] as unknown as string })).toEqual(invalid(/^q must be given once/));
  });
});
