import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatEnrollmentToken, hashEnrollmentToken, parseEnrollmentToken } from './enrollment.service.js';

const pin = createHash('sha256').update('ca').digest('base64url');
const secret = Buffer.alloc(32, 7).toString('base64url');

describe('enrollment tokens', () => {
  it('are BERTH1.<caPin>.<secret> with base64url parts', () => {
    const token = formatEnrollmentToken(pin, secret);
    expect(token).toBe(`BERTH1.${pin}.${secret}`);
    expect(token).toMatch(/^BERTH1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(parseEnrollmentToken(token)).toEqual({ caPin: pin, secret });
  });

  it('refuse anything else when parsed', () => {
    for (const bad of [
      '',
      `BERTH2.${pin}.${secret}`,
      `BERTH1.${pin}`,
      `BERTH1.${pin}.${secret}.x`,
      `BERTH1.${pin}.${secret.slice(1)}`,
      `BERTH1.${pin}.${secret.slice(1)}=`,
      ` BERTH1.${pin}.${secret}`,
    ]) {
      expect(parseEnrollmentToken(bad), bad).toBeUndefined();
    }
  });

  it('are stored as the hex sha256 of the whole token string', () => {
    const token = formatEnrollmentToken(pin, secret);
    const hash = hashEnrollmentToken(token);
    expect(hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(secret);
    expect(
      hashEnrollmentToken(formatEnrollmentToken(pin, Buffer.alloc(32, 8).toString('base64url'))),
    ).not.toBe(hash);
  });
});
