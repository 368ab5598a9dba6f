import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiToken } from '../../../shared/src/api.js';
import { expectWalked, refusalOf, walkPages } from '../../../test/support/pages.js';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { ClientsRepository } from '../clients/clients.repository.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import { ApiTokensRepository } from './api-tokens.repository.js';
import { AuthErrorCode } from './auth.errors.js';
import { AuthService, type TokenListInput } from './auth.service.js';

/** The first tokens' time: far enough back that a token issued now is newer than all of them. */
const T0 = '2020-03-01T10:00:00.000000Z';
/** The tokens issued first; more than a default page (100). */
const TOKENS = 130;

interface Row {
  id: string;
  clientId: string | null;
  /** created_at to the microsecond (ISO, UTC): compares as text in time order. */
  at: string;
}

/** The token list by pages and by client, through AuthService, on both databases the registry runs on. */
describe.each(TEST_DATABASE_KINDS)('API token pages on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let auth: AuthService;
  const clients: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    auth = new AuthService(new ApiTokensRepository(db));
    const repository = new ClientsRepository(db);
    for (const name of ['acme', 'other', 'none'])
      clients[name] = (await repository.create({ name, email: null })).id;
    // Tokens in groups of three issued in the same microsecond, two such groups in each millisecond
    // (a microsecond apart): a JS Date cannot tell the groups of a millisecond apart.
    for (let n = 0; n < TOKENS; n++) {
      const client = [null, 'acme', 'other'][n % 3]!;
      await insert({
        name: client ? `client:${client}` : `admin${n}`,
        clientId: client ? clients[client]! : null,
        createdAt: `'${T0}'::timestamptz + interval '${Math.floor(n / 6)} milliseconds' + interval '${Math.floor(n / 3) % 2} microseconds'`,
      });
    }
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  async function insert(token: {
    name: string;
    clientId: string | null;
    /** SQL for created_at. */
    createdAt: string;
    id?: string;
  }): Promise<string> {
    const row = await sqlOne<{ id: string }>(
      db,
      `INSERT INTO api_tokens (id, name, token_sha256, role, client_id, created_at)
       VALUES (COALESCE($1::uuid, gen_random_uuid()), $2,
               replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''),
               CASE WHEN $3::uuid IS NULL THEN 'admin' ELSE 'client' END, $3::uuid, ${token.createdAt})
       RETURNING id`,
      [token.id ?? null, token.name, token.clientId],
    );
    return row!.id;
  }

  /** Every token, newest first by (created_at, id), with its time to the microsecond. */
  const rows = () =>
    sqlRows<Row>(
      db,
      `SELECT id, client_id AS "clientId",
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
         FROM api_tokens ORDER BY created_at DESC, id DESC`,
    );

  /** Every page of a query, following `next`; calls `between` after each page but the last. */
  const walk = (input: TokenListInput, between?: (page: number, last: ApiToken) => Promise<void>) =>
    walkPages(async (cursor) => {
      const page = await auth.listTokens({ ...input, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(Number(input.limit ?? 100));
      return page;
    }, between);

  it('pages newest first without skipping or repeating a token, also among tokens of one microsecond, while tokens are issued', async () => {
    const before = (await rows()).map((row) => row.id);
    const expectedToo: string[] = [];
    const notExpected: string[] = [];
    const seen = await walk({ limit: '7' }, async (page, last) => {
      const hex = page.toString(16).padStart(2, '0');
      const base = { name: 'client:acme', clientId: clients.acme! };
      // A new token (before the first page), one issued long ago (after the cursor), and two in the
      // very microsecond of the page's last token: the one with the higher id sorts before it
      // (already passed), the one with the lower id after it.
      notExpected.push(await insert({ ...base, createdAt: 'now()' }));
      expectedToo.push(
        await insert({ ...base, createdAt: `'${T0}'::timestamptz - interval '${page + 1} days'` }),
      );
      const at = `(SELECT created_at FROM api_tokens WHERE id = '${last.id}')`;
      notExpected.push(
        await insert({ ...base, createdAt: at, id: `ffffffff-ffff-4fff-bfff-ffffffffff${hex}` }),
      );
      expectedToo.push(
        await insert({ ...base, createdAt: at, id: `00000000-0000-4000-8000-0000000000${hex}` }),
      );
    });
    // In (created_at, id) order, to the microsecond.
    expectWalked(
      seen.map((token) => token.id),
      (await rows()).map((row) => row.id),
      [...before, ...expectedToo],
      notExpected,
    );
  });

  it("filters by a client's name or id", async () => {
    const all = await rows();
    for (const client of ['other', clients.acme!]) {
      const clientId = clients[client] ?? client;
      const expected = all.filter((row) => row.clientId === clientId).map((row) => row.id);
      expect(expected.length).toBeGreaterThan(10);
      const seen = await walk({ client, limit: '6' });
      expect(seen.map((token) => token.id)).toEqual(expected);
      expect(new Set(seen.map((token) => token.client))).toEqual(
        new Set([client === 'other' ? 'other' : 'acme']),
      );
    }
    expect(await auth.listTokens({ client: 'none' })).toEqual({ items: [], next: null });
  });

  it('pages 100 tokens unless asked otherwise', async () => {
    const first = await auth.listTokens();
    expect(first.items).toHaveLength(100);
    expect(first.next).toEqual(expect.any(String));
    expect(first.items.map((token) => token.id)).toEqual((await rows()).slice(0, 100).map((row) => row.id));
  });

  it('refuses bad input with a 400 that names the parameter', async () => {
    const refusal = (input: TokenListInput) => refusalOf(auth.listTokens(input));
    const invalid = (message: RegExp) => ({
      code: AuthErrorCode.InvalidQuery,
      status: 400,
      message: expect.stringMatching(message) as string,
    });
    for (const limit of ['0', '501', '2.5', 'many'])
      expect(await refusal({ limit })).toEqual(invalid(/^limit /));
    const cursor = (...parts: string[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    for (const bad of [
      'forged',
      'e30',
      'not base64!',
      cursor('tasks', '2020-03-01T10:00:00.000000Z', clients.acme!),
      cursor('tokens', '2020-03-01T10:00:00.000000Z', '10'),
      cursor('tokens', '2020-03-01', clients.acme!),
    ])
      expect(await refusal({ cursor: bad })).toEqual(invalid(/^cursor /));
    expect(await refusal({ client: 'nobody' })).toEqual(invalid(/^client "nobody" /));
    expect(await refusal({ client: '00000000-0000-4000-8000-000000000000' })).toEqual(invalid(/^client /));
    expect(await refusal({ client: 'x'.repeat(64) })).toEqual(invalid(/^client /));
    expect(await refusal({ client: ['acme', 'other'] as unknown as string })).toEqual(invalid(/^client /));
  });
});
