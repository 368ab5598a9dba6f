import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthError, AuthErrorCode } from '../auth/auth.errors.js';
import type { AuthService } from '../auth/auth.service.js';

const WHICH_TOKEN =
  'the metrics token (BERTH_METRICS_TOKEN on the master) or an admin API token, as "Authorization: Bearer <token>"';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Who may scrape GET /metrics: Prometheus with the dedicated metrics token (so that a scraper never
 * holds a token that can change the hosting), or anyone with an admin API token.
 */
export class MetricsAccess {
  private readonly metricsTokenSha256: Buffer | undefined;

  constructor(
    private readonly auth: AuthService,
    metricsToken: string | undefined,
  ) {
    this.metricsTokenSha256 = metricsToken ? sha256(metricsToken) : undefined;
  }

  /** Resolves when the Authorization header may read the metrics; throws a 401 or 403 otherwise. */
  async check(authorization: string | undefined): Promise<void> {
    if (!authorization) {
      throw new AuthError(AuthErrorCode.MissingToken, `GET /metrics needs ${WHICH_TOKEN}`);
    }
    const token = /^Bearer\s+(\S+)$/i.exec(authorization.trim())?.[1];
    if (!token) {
      throw new AuthError(AuthErrorCode.InvalidToken, `the Authorization header must be ${WHICH_TOKEN}`);
    }
    // Both sides are hashed first: equal lengths for timingSafeEqual, and no timing on the token.
    if (this.metricsTokenSha256 && timingSafeEqual(sha256(token), this.metricsTokenSha256)) return;
    let role: string;
    try {
      role = (await this.auth.authenticate(authorization)).role;
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      throw new AuthError(
        AuthErrorCode.InvalidToken,
        `the token is neither the metrics token nor a valid API token: GET /metrics needs ${WHICH_TOKEN}`,
      );
    }
    if (role !== 'admin') {
      throw new AuthError(
        AuthErrorCode.Forbidden,
        `a client's API token cannot read metrics: use ${WHICH_TOKEN}`,
      );
    }
  }
}
