import { describe, expect, it } from 'vitest';
import { AuthError, AuthErrorCode } from '../auth/auth.errors.js';
import type { AuthService, Principal } from '../auth/auth.service.js';
import { MetricsAccess } from './metrics-access.js';

const METRICS_TOKEN = 'metrics-0123456789abcdef';

/** API tokens as the registry knows them: one admin's, one client's. */
const fakeAuth = {
  authenticate(authorization: string | undefined): Promise<Principal> {
    const token = authorization?.replace(/^Bearer\s+/i, '');
    if (token === 'bt_admin') {
      return Promise.resolve({ tokenId: '1', name: 'admin', role: 'admin', clientId: null });
    }
    if (token === 'bt_client') {
      return Promise.resolve({ tokenId: '2', name: 'acme', role: 'client', clientId: 'c1' });
    }
    return Promise.reject(new AuthError(AuthErrorCode.InvalidToken, 'the API token is not valid'));
  },
} as unknown as AuthService;

async function refusal(access: MetricsAccess, authorization: string | undefined) {
  try {
    await access.check(authorization);
  } catch (error) {
    if (error instanceof AuthError) return { status: error.status, message: error.message };
    throw error;
  }
  return undefined;
}

describe('MetricsAccess', () => {
  const access = new MetricsAccess(fakeAuth, METRICS_TOKEN);

  it('lets the metrics token and admin tokens scrape', async () => {
    await expect(access.check(`Bearer ${METRICS_TOKEN}`)).resolves.toBeUndefined();
    await expect(access.check(`bearer  ${METRICS_TOKEN} `)).resolves.toBeUndefined();
    await expect(access.check('Bearer bt_admin')).resolves.toBeUndefined();
  });

  it('refuses no token and wrong tokens with 401 and says which tokens work', async () => {
    for (const authorization of [undefined, '', 'Basic abc', `Bearer ${METRICS_TOKEN}x`, 'Bearer bt_nope']) {
      const refused = await refusal(access, authorization);
      expect(refused?.status, String(authorization)).toBe(401);
      expect(refused?.message).toMatch(/BERTH_METRICS_TOKEN/);
      expect(refused?.message).toMatch(/admin API token/);
    }
  });

  it("refuses a client's API token with 403", async () => {
    expect((await refusal(access, 'Bearer bt_client'))?.status).toBe(403);
  });

  it('without a metrics token configured, only admin tokens work', async () => {
    const adminsOnly = new MetricsAccess(fakeAuth, undefined);
    await expect(adminsOnly.check('Bearer bt_admin')).resolves.toBeUndefined();
    expect((await refusal(adminsOnly, `Bearer ${METRICS_TOKEN}`))?.status).toBe(401);
  });
});
