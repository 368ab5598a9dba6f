import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { validateHostname } from '../../../shared/src/validation.js';
import type { MasterConfig } from '../infra/config/master-config.js';
import type { EnrollmentTokenRepository } from '../servers/enrollment-token.repository.js';
import type { CertificateAuthority, Clock } from './certificate-authority.js';
import { ENROLLMENT_TOKEN_INVALID_MESSAGE, PkiError, PkiErrorCode } from './pki.errors.js';

export const ENROLLMENT_TOKEN_PREFIX = 'BERTH1';
const TOKEN_PATTERN = /^BERTH1\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/;

/** `BERTH1.<caPin>.<secret>`: the pin lets the agent check the master before it sends the secret. */
export function formatEnrollmentToken(caPin: string, secret: string): string {
  return `${ENROLLMENT_TOKEN_PREFIX}.${caPin}.${secret}`;
}

export function parseEnrollmentToken(token: string): { caPin: string; secret: string } | undefined {
  const match = TOKEN_PATTERN.exec(token);
  return match ? { caPin: match[1] ?? '', secret: match[2] ?? '' } : undefined;
}

/** What the registry stores instead of the token: hex sha256 of the whole token string. */
export function hashEnrollmentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface IssuedEnrollmentToken {
  token: string;
  expiresAt: Date;
}

export interface EnrollInput {
  token: string;
  csrPem: string;
  hostname: string;
}

/** Shaped like the EnrollResponse message, so the gRPC handler returns it as is. */
export interface EnrollResult {
  serverId: string;
  serverName: string;
  certificatePem: string;
  caCertificatePem: string;
}

/** One-time enrollment tokens, and the trade of a token and a CSR for a client certificate. */
export class EnrollmentService {
  constructor(
    private readonly ca: CertificateAuthority,
    private readonly tokens: EnrollmentTokenRepository,
    private readonly config: Pick<MasterConfig, 'enrollmentTtlMs'>,
    private readonly logger: Logger,
    private readonly clock: Clock = () => new Date(),
  ) {}

  async issueToken(serverId: string): Promise<IssuedEnrollmentToken> {
    const server = await this.tokens.findServer(serverId);
    if (!server) {
      throw new PkiError(
        PkiErrorCode.ServerNotFound,
        `server ${serverId} does not exist; add it with \`berth server add NAME\` first`,
      );
    }
    const token = formatEnrollmentToken(this.ca.caPin(), randomBytes(32).toString('base64url'));
    const expiresAt = new Date(this.clock().getTime() + this.config.enrollmentTtlMs);
    await this.tokens.insert(server.id, hashEnrollmentToken(token), expiresAt);
    this.logger.info({ serverId: server.id, server: server.name, expiresAt }, 'issued an enrollment token');
    return { token, expiresAt };
  }

  async enroll(input: EnrollInput): Promise<EnrollResult> {
    const parsed = typeof input.token === 'string' ? parseEnrollmentToken(input.token) : undefined;
    // A token for another master's CA cannot be ours: refused like any unknown token.
    if (!parsed || parsed.caPin !== this.ca.caPin()) {
      throw new PkiError(PkiErrorCode.EnrollmentTokenInvalid, ENROLLMENT_TOKEN_INVALID_MESSAGE);
    }
    // The CSR is checked before the token is touched, so a bad CSR does not burn the token.
    const csr = await this.ca.checkCsr(input.csrPem);
    const hostname = validateHostname('hostname', input.hostname);
    const enrolled = await this.tokens.consumeAndEnroll(
      hashEnrollmentToken(input.token),
      hostname.ok ? hostname.value : null,
      (server) => this.ca.issueClientCertificate(csr, server.id),
    );
    if (!enrolled) {
      this.logger.warn('refused an enrollment: the token is unknown, used or expired');
      throw new PkiError(PkiErrorCode.EnrollmentTokenInvalid, ENROLLMENT_TOKEN_INVALID_MESSAGE);
    }
    const { server, certificate } = enrolled;
    this.logger.info(
      { serverId: server.id, server: server.name, certificateSha256: certificate.sha256Hex },
      'enrolled an agent; any older certificate of this server is no longer accepted',
    );
    return {
      serverId: server.id,
      serverName: server.name,
      certificatePem: certificate.certificatePem,
      caCertificatePem: this.ca.caCertificatePem(),
    };
  }
}
