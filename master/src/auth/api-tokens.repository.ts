import type { DataSource } from 'typeorm';
import { sqlOne } from '../infra/db/sql.js';
import { ApiTokenEntity, type TokenRole } from './api-token.entity.js';

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

  /** The live (not revoked) token with this hash, marking it used. */
  async findLiveByHash(tokenSha256: string): Promise<ApiTokenEntity | undefined> {
    return sqlOne<ApiTokenEntity>(
      this.db,
      `UPDATE api_tokens SET last_used_at = now()
        WHERE token_sha256 = $1 AND revoked_at IS NULL
        RETURNING id, name, role, client_id AS "clientId"`,
      [tokenSha256],
    );
  }

  async hasAdminToken(): Promise<boolean> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      `SELECT id FROM api_tokens WHERE role = 'admin' LIMIT 1`,
    );
    return row !== undefined;
  }
}
