/** What can go wrong with enrollment and agent certificates; the gRPC status mapper translates codes. */
export const PkiErrorCode = {
  /** Unknown, used or expired enrollment token: deliberately one code, so a caller learns nothing. */
  EnrollmentTokenInvalid: 'ENROLLMENT_TOKEN_INVALID',
  /** The certificate signing request cannot be parsed, is too large or its signature is wrong. */
  CsrInvalid: 'CSR_INVALID',
  /** A token was asked for a server the registry does not have. */
  ServerNotFound: 'SERVER_NOT_FOUND',
  /** A call that needs a client certificate arrived without one (or with one TLS did not accept). */
  ClientCertificateMissing: 'CLIENT_CERTIFICATE_MISSING',
  /** The client certificate is not ours, has expired, or is not for client authentication. */
  ClientCertificateInvalid: 'CLIENT_CERTIFICATE_INVALID',
  /** The certificate is ours but the server enrolled again since, or was removed. */
  ClientCertificateRevoked: 'CLIENT_CERTIFICATE_REVOKED',
} as const;
export type PkiErrorCode = (typeof PkiErrorCode)[keyof typeof PkiErrorCode];

export class PkiError extends Error {
  readonly code: PkiErrorCode;

  constructor(code: PkiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PkiError';
    this.code = code;
  }
}

export const ENROLLMENT_TOKEN_INVALID_MESSAGE =
  'enrollment token is invalid, already used or expired; issue a new one with `berth server enroll-token NAME`';
