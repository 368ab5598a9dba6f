import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AgentError, AgentErrorCode } from '../errors.js';
import { assertCaMatchesToken, certificatePin, parseEnrollmentToken, pinsMatch } from './enrollment-token.js';

// A fixed self-signed certificate, so that the test needs no key generation (and no I/O).
const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBMjCB2KADAgECAgEBMAoGCCqGSM49BAMCMBgxFjAUBgNVBAMTDUJlcnRoIFRl
c3QgQ0EwHhcNMjQwMTAxMDAwMDAwWhcNMzQwMTAxMDAwMDAwWjAYMRYwFAYDVQQD
Ew1CZXJ0aCBUZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEk9osj2Ba
t4OV0jD9H5p68cfCeZHbeOFLTYwL1Hw3bezlu2CO6xChNJIzp0dPJi9tgW49PVYA
pHPCfpo0HYFQ5qMTMBEwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEAnm3F/YOWtP6ThXO0uPjuxND8h1uGSLXaPxr3dMTonHQCIQCIqCF3sX94jExG
6nyoYwWXibcdt6J2onKTPGVjYV/bmQ==
-----END CERTIFICATE-----
`;

function tokenFor(pin: string): string {
  return `BERTH1.${pin}.${randomBytes(32).toString('base64url')}`;
}

function agentError(fn: () => unknown): AgentError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    return error as AgentError;
  }
  throw new Error('expected an AgentError');
}

describe('parseEnrollmentToken', () => {
  it('reads the CA pin and keeps the whole token', () => {
    const pin = randomBytes(32).toString('base64url');
    const value = tokenFor(pin);
    expect(parseEnrollmentToken(`  ${value}\n`)).toEqual({ caPin: pin, value });
  });

  it.each([
    ['too few parts', 'BERTH1.abc'],
    ['a wrong prefix', `BERTH2.${'a'.repeat(43)}.${'b'.repeat(43)}`],
    ['a short pin', `BERTH1.${'a'.repeat(42)}.${'b'.repeat(43)}`],
    ['a pin that is not base64url', `BERTH1.${'a'.repeat(42)}+.${'b'.repeat(43)}`],
    ['a short secret', `BERTH1.${'a'.repeat(43)}.${'b'.repeat(40)}`],
    ['four parts', `BERTH1.${'a'.repeat(43)}.${'b'.repeat(43)}.x`],
  ])('refuses a token with %s, without repeating it', (_case, token) => {
    const error = agentError(() => parseEnrollmentToken(token));
    expect(error.code).toBe(AgentErrorCode.TokenInvalid);
    expect(error.message).toContain('berth server add');
    expect(error.message).not.toContain(token);
  });
});

describe('CA pin', () => {
  it('is base64url of the sha256 of the DER', () => {
    const der = new X509Certificate(CA_PEM).raw;
    expect(certificatePin(CA_PEM)).toBe(createHash('sha256').update(der).digest('base64url'));
  });

  it('accepts the CA the token pins', () => {
    const token = parseEnrollmentToken(tokenFor(certificatePin(CA_PEM)));
    expect(() => assertCaMatchesToken(token, CA_PEM)).not.toThrow();
  });

  it('refuses another CA, and a CA that cannot be read', () => {
    const token = parseEnrollmentToken(tokenFor(randomBytes(32).toString('base64url')));
    const mismatch = agentError(() => assertCaMatchesToken(token, CA_PEM));
    expect(mismatch.code).toBe(AgentErrorCode.CaMismatch);
    expect(mismatch.message).toContain("the master's CA does not match the enrollment token");
    expect(mismatch.message).toContain('man in the middle');
    expect(agentError(() => assertCaMatchesToken(token, 'not a certificate')).code).toBe(
      AgentErrorCode.CaMismatch,
    );
  });

  it('compares pins exactly', () => {
    const pin = randomBytes(32).toString('base64url');
    expect(pinsMatch(pin, pin)).toBe(true);
    expect(pinsMatch(pin, `${pin.slice(0, -1)}${pin.endsWith('A') ? 'B' : 'A'}`)).toBe(false);
    expect(pinsMatch(pin, pin.slice(1))).toBe(false);
    expect(pinsMatch(pin, '')).toBe(false);
  });
});
