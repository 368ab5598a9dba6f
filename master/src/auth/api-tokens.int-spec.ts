import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import { ApiTokensRepository } from './api-tokens.repository.js';
import { AuthErrorCode } from './auth.errors.js';
import { AuthService } from './auth.service.js';

/** API tokens on both registries: uses noted at most once a minute, revoked ones refused at once. */
describe.each(TEST_DATABASE_KINDS)('API tokens on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let auth: AuthService;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    auth = new AuthService(new ApiTokensRepository(db));
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const lastUsed = async (name: string) =>
    (
      await sqlOne<{ at: Date | string | null }>(
        db,
        `SELECT last_used_at AS at FROM api_tokens WHERE name = $1`,
        [name],
      )
    )?.at;

  it('notes a use at most once a minute per token', async () => {
    const token = await auth.issue('ci', 'admin', null);
    expect(await lastUsed('ci')).toBeNull();
    await auth.authenticate(`Bearer ${token}`);
    const first = await lastUsed('ci');
    expect(first).not.toBeNull();
    await auth.authenticate(`Bearer ${token}`);
    expect(await lastUsed('ci')).toEqual(first);
    // A use noted more than a minute ago is noted again.
    await sqlRows(
      db,
      `UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' WHERE name = 'ci' RETURNING id`,
    );
    const stale = await lastUsed('ci');
    await auth.authenticate(`Bearer ${token}`);
    expect(new Date((await lastUsed('ci'))!).getTime()).toBeGreaterThan(new Date(stale!).getTime() + 60_000);
  });

  it('revokes a token: refused on its next use, listed with revokedAt, revoking again keeps the first time', async () => {
    const token = await auth.issue('deploy', 'admin', null);
    const principal = await auth.authenticate(`Bearer ${token}`);
    const revoked = await auth.revoke(principal.tokenId);
    expect(revoked).toMatchObject({ id: principal.tokenId, name: 'deploy', role: 'admin', client: null });
    expect(revoked.revokedAt).not.toBeNull();
    await expect(auth.authenticate(`Bearer ${token}`)).rejects.toMatchObject({
      code: AuthErrorCode.InvalidToken,
    });
    expect((await auth.revoke(principal.tokenId)).revokedAt).toBe(revoked.revokedAt);
    const listed = (await auth.listTokens()).items.find((item) => item.id === principal.tokenId);
    expect(listed).toEqual(revoked);
    await expect(auth.revoke('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: AuthErrorCode.TokenNotFound,
      status: 404,
    });
  });

  it('issues a new admin token at start only when no admin token is live', async () => {
    // ci's admin token is live (deploy's was revoked): none is issued.
    expect(await auth.bootstrapAdminToken()).toBeNull();
    for (const token of (await auth.listTokens({ limit: '500' })).items) {
      if (token.role === 'admin') await auth.revoke(token.id);
    }
    const recovery = await auth.bootstrapAdminToken();
    expect(recovery).toMatch(/^bt_/);
    expect((await auth.authenticate(`Bearer ${recovery}`)).role).toBe('admin');
    expect(await auth.bootstrapAdminToken()).toBeNull();
  });
});
