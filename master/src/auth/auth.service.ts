import { createHash, randomBytes } from 'node:crypto';
import type * as api from '../../../shared/src/api.js';
import { isUuid } from '../../../shared/src/validation.js';
import { byCreated, ListCursor, pageLimit, queryText } from '../infra/http/paging.js';
import type { ApiTokensRepository, TokenRow } from './api-tokens.repository.js';
import { AuthError, AuthErrorCode } from './auth.errors.js';
import type { TokenRole } from './api-token.entity.js';

/** Who is calling the API. */
export interface Principal {
  tokenId: string;
  name: string;
  role: TokenRole;
  clientId: string | null;
}

/** The query of the token list as it comes over HTTP (strings, checked in AuthService.listTokens). */
export type TokenListInput = { [K in keyof api.ApiTokenListQuery]?: string };

/** Tokens per page unless asked otherwise. */
const DEFAULT_PAGE = 100;
/** The token list's cursors: the creation time (to the microsecond) and id of a page's last token. */
const TOKEN_CURSOR = new ListCursor('tokens', byCreated);
const invalidQuery = (message: string) => new AuthError(AuthErrorCode.InvalidQuery, message);

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** API tokens: "bt_" and 43 base64url characters (32 random bytes). Only the sha256 is stored. */
export class AuthService {
  constructor(private readonly tokens: ApiTokensRepository) {}

  /**
   * Creates an admin token when there is no live one — on the first start, or after every admin
   * token was revoked (whoever can restart the master owns its data anyway); returns it (shown
   * once) or null.
   */
  async bootstrapAdminToken(): Promise<string | null> {
    if (await this.tokens.hasLiveAdminToken()) return null;
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

  /**
   * A page of tokens, newest first, without their hashes (`GET /api/tokens?limit=&cursor=&client=`).
   * Bad input, or a client that does not exist, is a 400 naming it.
   */
  async listTokens(input: TokenListInput = {}): Promise<api.Page<api.ApiToken>> {
    const limit = pageLimit(input.limit, DEFAULT_PAGE, invalidQuery);
    const after = TOKEN_CURSOR.decode(input.cursor, invalidQuery);
    const client = queryText('client', input.client, invalidQuery, 63);
    const clientId = client === undefined ? undefined : await this.tokens.clientId(client);
    if (client !== undefined && clientId === undefined)
      throw invalidQuery(`client "${client}" is no client's name or id`);
    const { tokens, next } = await this.tokens.page({ limit, after, clientId });
    return { items: tokens.map(tokenView), next: next ? TOKEN_CURSOR.encode(next) : null };
  }

  /**
   * Revokes a token: refused from the next request on (authenticate reads the registry each time).
   * Revoking the token the caller uses is allowed; revoking a revoked token changes nothing.
   */
  async revoke(id: string): Promise<api.ApiToken> {
    const token = isUuid(id) ? await this.tokens.revoke(id) : undefined;
    if (!token) {
      throw new AuthError(
        AuthErrorCode.TokenNotFound,
        `no API token with id "${id}"; \`berth token list\` shows them`,
      );
    }
    return tokenView(token);
  }
}

function tokenView(token: TokenRow): api.ApiToken {
  return {
    id: token.id,
    name: token.name,
    role: token.role,
    client: token.client,
    createdAt: token.createdAt.toISOString(),
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    revokedAt: token.revokedAt?.toISOString() ?? null,
  };
}
