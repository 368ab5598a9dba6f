import { createHash, randomBytes } from 'node:crypto';
import type { ApiTokensRepository } from './api-tokens.repository.js';
import { AuthError, AuthErrorCode } from './auth.errors.js';
import type { TokenRole } from './api-token.entity.js';

/** Who is calling the API. */
export interface Principal {
  tokenId: string;
  name: string;
  role: TokenRole;
  clientId: string | null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** API tokens: "bt_" and 43 base64url characters (32 random bytes). Only the sha256 is stored. */
export class AuthService {
  constructor(private readonly tokens: ApiTokensRepository) {}

  /** Creates the first admin token when there is none; returns it (shown once) or null. */
  async bootstrapAdminToken(): Promise<string | null> {
    if (await this.tokens.hasAdminToken()) return null;
    return this.issue('admin', 'admin', null);
  }

  async issue(name: string, role: TokenRole, clientId: string | null): Promise<string> {
    const token = `bt_${randomBytes(32).toString('base64url')}`;
    await this.tokens.create({ name, role, clientId, tokenSha256: hashToken(token) });
    return token;
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) {
      throw new AuthError(
        AuthErrorCode.MissingToken,
        'this API needs a bearer token: send "Authorization: Bearer <token>" (berth reads BERTH_TOKEN)',
      );
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) {
      throw new AuthError(AuthErrorCode.InvalidToken, 'the Authorization header must be "Bearer <token>"');
    }
    const token = await this.tokens.findLiveByHash(hashToken(match[1]));
    if (!token) {
      throw new AuthError(AuthErrorCode.InvalidToken, 'the API token is not valid (unknown or revoked)');
    }
    return { tokenId: token.id, name: token.name, role: token.role, clientId: token.clientId };
  }
}
