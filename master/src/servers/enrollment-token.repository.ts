import type { DataSource } from 'typeorm';
import { sqlOne, sqlRows } from '../infra/db/sql.js';

export interface EnrollingServer {
  id: string;
  name: string;
}

/** The certificate an enrollment produced, as the servers row records it. */
export interface EnrolledCertificate {
  sha256Hex: string;
  expiresAt: Date;
}

/** Named queries over enrollment tokens, and the one write to servers that an enrollment makes. */
export class EnrollmentTokenRepository {
  constructor(private readonly db: DataSource) {}

  async findServer(serverId: string): Promise<EnrollingServer | undefined> {
    return sqlOne<EnrollingServer>(this.db, `SELECT id, name FROM servers WHERE id = $1`, [serverId]);
  }

  /** Stores a new token by its sha256 only; the token itself is never written anywhere. */
  async insert(serverId: string, tokenSha256: string, expiresAt: Date): Promise<void> {
    await sqlRows(
      this.db,
      `INSERT INTO enrollment_tokens (server_id, token_sha256, expires_at) VALUES ($1, $2, $3) RETURNING id`,
      [serverId, tokenSha256, expiresAt],
    );
  }

  /**
   * In one transaction: consumes the token (one UPDATE, so two agents racing with the same token
   * cannot both win), lets `issue` sign the certificate for the token's server, and records that
   * certificate as the server's only valid one. Returns undefined when the token is unknown, used or
   * expired; when `issue` throws, nothing is written and the token stays usable.
   */
  async consumeAndEnroll<T extends EnrolledCertificate>(
    tokenSha256: string,
    hostname: string | null,
    issue: (server: EnrollingServer) => Promise<T>,
  ): Promise<{ server: EnrollingServer; certificate: T } | undefined> {
    return this.db.transaction(async (manager) => {
      const consumed = await sqlOne<{ serverId: string }>(
        manager,
        `UPDATE enrollment_tokens SET used_at = now()
          WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > now()
          RETURNING server_id AS "serverId"`,
        [tokenSha256],
      );
      if (!consumed) return undefined;
      const server = await sqlOne<EnrollingServer>(
        manager,
        `SELECT id, name FROM servers WHERE id = $1 FOR UPDATE`,
        [consumed.serverId],
      );
      // The server was removed after its token was issued: the token is as good as unknown.
      if (!server) return undefined;
      const certificate = await issue(server);
      await sqlRows(
        manager,
        `UPDATE servers SET certificate_sha256 = $2, certificate_expires_at = $3, enrolled_at = now(),
                hostname = $4
          WHERE id = $1 RETURNING id`,
        [server.id, certificate.sha256Hex, certificate.expiresAt, hostname],
      );
      return { server, certificate };
    });
  }
}
