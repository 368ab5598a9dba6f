import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusalOf, walkPages } from '../../../test/support/pages.js';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { openDatabase } from '../infra/db/data-source.js';
import { ClientsErrorCode } from './clients.errors.js';
import { ClientsRepository } from './clients.repository.js';
import { ClientsService, type ClientListInput } from './clients.service.js';

/** The client list by pages and a piece of the name, through ClientsService, on both registries. */
describe.each(TEST_DATABASE_KINDS)('client list pages on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let clients: ClientsService;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    clients = new ClientsService(new ClientsRepository(db));
    for (let n = 0; n < 25; n++)
      await clients.add({ name: `c${String(n).padStart(2, '0')}_${n % 2 ? 'acme' : 'shop'}` });
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const walk = (input: ClientListInput, between?: (page: number) => Promise<void>) =>
    walkPages((cursor) => clients.page({ ...input, ...(cursor ? { cursor } : {}) }), between);

  it('pages through every client once, in name order, while clients are added between pages', async () => {
    const before = (await clients.list()).map((client) => client.name);
    const seen = (
      await walk({ limit: '4' }, async (page) => {
        await clients.add({ name: `a${page}` });
        await clients.add({ name: `z${page}` });
      })
    ).map((client) => client.name);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...before, ...seen.filter((name) => /^z\d/.test(name))]);
    expect(seen.filter((name) => /^z\d/.test(name)).length).toBeGreaterThan(0);
  });

  it('filters by a piece of the name, taken literally', async () => {
    const all = (await clients.list()).map((client) => client.name);
    const acme = all.filter((name) => name.includes('acme'));
    expect(acme.length).toBeGreaterThan(3);
    expect((await walk({ q: 'ACME', limit: '3' })).map((client) => client.name)).toEqual(acme);
    expect((await walk({ q: '1_', limit: '2' })).map((client) => client.name)).toEqual(
      all.filter((name) => name.includes('1_')),
    );
    expect((await clients.page({ q: 'c_0' })).items).toEqual([]);
  });

  it('refuses bad input with a 400 that names the parameter', async () => {
    const refusal = (input: ClientListInput) => refusalOf(clients.page(input));
    const invalid = (message: RegExp) => ({
      code: ClientsErrorCode.InvalidInput,
      status: 400,
      message: expect.stringMatching(message) as string,
    });
    expect(await refusal({ limit: '0' })).toEqual(invalid(/^limit /));
    const tasksCursor = Buffer.from(JSON.stringify(['tasks', 'c00_shop'])).toString('base64url');
    expect(await refusal({ cursor: tasksCursor })).toEqual(invalid(/^cursor /));
    expect(await refusal({ q: 'x'.repeat(64) })).toEqual(invalid(/^q is at most 63/));
  });
});
