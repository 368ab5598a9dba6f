import type { DataSource } from 'typeorm';
import { isUuid } from '../../../shared/src/validation.js';
import { exactTimestamp, splitPage, type CreatedKey } from '../infra/db/keyset.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import { ApiTokenEntity, type TokenRole } from './api-token.entity.js';

/** A token as the admin lists it: never its hash. */
export interface TokenRow {
  id: string;
  name: string;
  role: TokenRole;
  clientId: string | null;
  /** The client's name, for a client token. */
  client: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const TOKEN_COLUMNS = `t.id, t.name, t.role, t.client_id AS "clientId", c.name AS client,
  t.created_at AS "createdAt", t.last_used_at AS "lastUsedAt", t.revoked_at AS "revokedAt"`;

export class ApiTokensRepository {
  constructor(private readonly db: DataSource) {}

  async create(input: {
    name: string;
    role: TokenRole;
    clientId: string | null;
    tokenSha256: string;
  }): Promise<ApiTokenEntity> {
    const repository = this.db.getRepository(ApiTokenEntity);
    return repository.save(repository.create(input));
  }

  /**
   * The live (not revoked) token with this hash. Read from the registry on every request, never
   * cached, so that a revoke holds from the next request on. Its use is noted at most once a minute:
   * the row is written only when last_used_at is older than that, so a busy token costs a read, not
   * a write per request. One statement: the CTE's UPDATE runs whether or not its rows are read.
   */
  async findLiveByHash(tokenSha256: string): Promise<ApiTokenEntity | undefined> {
    return sqlOne<ApiTokenEntity>(
      this.db,
      `WITH live AS (
         SELECT id, name, role, client_id, last_used_at FROM api_tokens
          WHERE token_sha256 = $1 AND revoked_at IS NULL
       ), used AS (
         UPDATE api_tokens t SET last_used_at = now() FROM live
          WHERE t.id = live.id
            AND (live.last_used_at IS NULL OR live.last_used_at < now() - interval '1 minute')
          RETURNING t.id
       )
       SELECT id, name, role, client_id AS "clientId" FROM live`,
      [tokenSha256],
    );
  }

  /**
   * A page of tokens, newest first by (created_at, id), and the key of its last token when more
   * follow; a client's only when `clientId` is given.
   */
  async page(query: {
    limit: number;
    clientId?: string;
    after?: CreatedKey;
  }): Promise<{ tokens: TokenRow[]; next: CreatedKey | null }> {
    const where = [`($1::uuid IS NULL OR t.client_id = $1::uuid)`];
    const parameters: unknown[] = [query.clientId ?? null, query.limit + 1];
    if (query.after) {
      where.push(`(t.created_at, t.id) < (CAST($3 AS timestamptz), CAST($4 AS uuid))`);
      parameters.push(query.after.at, query.after.id);
    }
    const rows = await sqlRows<TokenRow & { cursorAt: string }>(
      this.db,
      `SELECT ${TOKEN_COLUMNS}, ${exactTimestamp('t.created_at')} AS "cursorAt"
         FROM api_tokens t LEFT JOIN clients c ON c.id = t.client_id
        WHERE ${where.join(' AND ')}
        ORDER BY t.created_at DESC, t.id DESC LIMIT $2`,
      parameters,
    );
    const { rows: page, more } = splitPage(rows, query.limit);
    const last = page.at(-1);
    return {
      tokens: page.map(withDates),
      next: more && last ? { at: last.cursorAt, id: last.id } : null,
    };
  }

  /** The id of a client by its name or id, for the token list's filter; undefined when there is none. */
  async clientId(nameOrId: string): Promise<string | undefined> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      isUuid(nameOrId) ? `SELECT id FROM clients WHERE id = $1` : `SELECT id FROM clients WHERE name = $1`,
      [nameOrId],
    );
    return row?.id;
  }

  /**
   * Marks the token revoked (a revoked one keeps the time it was first revoked); undefined when
   * there is no such token.
   */
  async revoke(id: string): Promise<TokenRow | undefined> {
    const row = await sqlOne<TokenRow>(
      this.db,
      `WITH revoked AS (
         UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
         RETURNING id, name, role, client_id, created_at, last_used_at, revoked_at
       )
       SELECT ${TOKEN_COLUMNS} FROM revoked t LEFT JOIN clients c ON c.id = t.client_id`,
      [id],
    );
    return row && withDates(row);
  }

  /** Whether some admin token is live: when none is, the master's next start issues one. */
  async hasLiveAdminToken(): Promise<boolean> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      `SELECT id FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1`,
    );
    return row !== undefined;
  }
}

function withDates(row: TokenRow): TokenRow {
  const date = (value: Date | string | null) => (value === null ? null : new Date(value));
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    clientId: row.clientId,
    client: row.client,
    createdAt: new Date(row.createdAt),
    lastUsedAt: date(row.lastUsedAt),
    revokedAt: date(row.revokedAt),
  };
}
