import { X509Certificate, createHash, timingSafeEqual } from 'node:crypto';
import { AgentError, AgentErrorCode } from '../errors.js';

/**
 * The token `berth server add` prints: `BERTH1.<caPin>.<secret>`. The pin lets the agent check the
 * master's CA before it trusts it with the secret; the secret is what the master checks.
 */
export interface EnrollmentToken {
  /** base64url(sha256(DER of the master's CA certificate)). */
  readonly caPin: string;
  /** The whole token, as sent to the master in Enroll. A secret: never log it. */
  readonly value: string;
}

const TOKEN_PREFIX = 'BERTH1';
const base64url = /^[A-Za-z0-9_-]+$/;
/** sha256 is 32 bytes: 43 base64url characters without padding. */
const PIN_LENGTH = 43;
/** 32 random bytes: also 43 characters. */
const SECRET_LENGTH = 43;

/** Parses a token; the error never repeats the token, which is a secret. */
export function parseEnrollmentToken(input: string): EnrollmentToken {
  const value = input.trim();
  const parts = value.split('.');
  const invalid = (why: string) =>
    new AgentError(
      AgentErrorCode.TokenInvalid,
      `the enrollment token is not valid (${why}): copy the whole token printed by ` +
        '`berth server add` (it starts with "BERTH1.")',
    );
  if (parts.length !== 3) throw invalid('it must have three parts separated by dots');
  const [prefix, caPin, secret] = parts as [string, string, string];
  if (prefix !== TOKEN_PREFIX) throw invalid(`it must start with "${TOKEN_PREFIX}."`);
  if (caPin.length !== PIN_LENGTH || !base64url.test(caPin)) throw invalid('the CA pin is malformed');
  if (secret.length !== SECRET_LENGTH || !base64url.test(secret)) throw invalid('the secret is malformed');
  return { caPin, value };
}

/** The pin of a PEM certificate: base64url of the sha256 of its DER encoding. */
export function certificatePin(certificatePem: string): string {
  const der = new X509Certificate(certificatePem).raw;
  return createHash('sha256').update(der).digest('base64url');
}

/** Compares two pins in constant time (for equal lengths); false when they differ in any way. */
export function pinsMatch(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(actual, 'utf8');
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Throws unless the CA certificate the master presented is the one pinned in the token. */
export function assertCaMatchesToken(token: EnrollmentToken, caCertificatePem: string): void {
  let pin: string;
  try {
    pin = certificatePin(caCertificatePem);
  } catch (error) {
    throw new AgentError(
      AgentErrorCode.CaMismatch,
      "the master's CA certificate cannot be read, so it cannot match the enrollment token: " +
        'wrong master address or a man in the middle',
      { cause: error },
    );
  }
  if (!pinsMatch(token.caPin, pin)) {
    throw new AgentError(
      AgentErrorCode.CaMismatch,
      "the master's CA does not match the enrollment token: wrong master address or a man in the middle " +
        '(the token was not sent)',
    );
  }
}
