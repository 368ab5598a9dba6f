import type { PeerCertificate } from 'node:tls';
import type { CertificateAuthority } from '../pki/certificate-authority.js';
import { PkiError, PkiErrorCode } from '../pki/pki.errors.js';
import type { AgentCredentialsRepository } from './agent-credentials.repository.js';

/** The server an authenticated call comes from. */
export interface AuthenticatedAgent {
  readonly serverId: string;
  readonly serverName: string;
  readonly certificateSha256: string;
}

/** Anything that can tell the TLS peer of a call: every grpc-js server call can. */
export interface CallWithAuthContext {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
}

const ENROLL_HINT = 'enroll the agent with a token from `berth server enroll-token NAME`';

/**
 * Authenticates agents' calls by their client certificate: signed by our CA, valid, for client
 * authentication, and the current certificate of the server it names (a re-enrollment supersedes
 * the older one). TLS only requests the certificate, because Enroll must work without one.
 */
export class AgentAuthenticator {
  constructor(
    private readonly ca: CertificateAuthority,
    private readonly credentials: AgentCredentialsRepository,
  ) {}

  async authenticate(call: CallWithAuthContext): Promise<AuthenticatedAgent> {
    const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
    if (!raw || raw.length === 0) {
      throw new PkiError(
        PkiErrorCode.ClientCertificateMissing,
        `this call needs the agent's client certificate, and none that this master issued was presented; ${ENROLL_HINT}`,
      );
    }
    const verified = this.ca.verifyClientCertificate(raw);
    const server = await this.credentials.findCredentials(verified.serverId);
    if (!server || server.certificateSha256 !== verified.sha256Hex) {
      throw new PkiError(
        PkiErrorCode.ClientCertificateRevoked,
        server
          ? `this certificate of server "${server.name}" was replaced by a newer enrollment; use the newest ` +
              `certificate, or ${ENROLL_HINT}`
          : `the server this certificate was issued to no longer exists; add it again and ${ENROLL_HINT}`,
      );
    }
    return { serverId: server.id, serverName: server.name, certificateSha256: verified.sha256Hex };
  }
}
