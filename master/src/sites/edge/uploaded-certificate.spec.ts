import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkUploadedCertificate, nameCovers } from './uploaded-certificate.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-upload-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate and its key from openssl, for these names. */
function made(label: string, names: string[], days = 2): { cert: string; key: string } {
  const [cert, key] = [join(dir, `${label}.crt`), join(dir, `${label}.key`)];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      String(days),
      '-subj',
      `/CN=${names[0]}`,
      '-addext',
      `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}`,
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

describe('checkUploadedCertificate', () => {
  it('takes a certificate with its key that names every name of the site, a wildcard covering one label', () => {
    const pair = made('ok', ['shop.example', '*.shop.example']);
    const checked = checkUploadedCertificate(['shop.example', 'www.shop.example'], pair.cert, pair.key);
    expect(checked.notAfter.getTime()).toBeGreaterThan(Date.now());
  });

  it('refuses a name it does not cover, another key, and input that is not PEM', () => {
    const pair = made('one', ['shop.example']);
    const other = made('two', ['shop.example']);
    expect(() => checkUploadedCertificate(['shop.example', 'old.example'], pair.cert, pair.key)).toThrow(
      /does not name old.example/,
    );
    expect(() => checkUploadedCertificate(['shop.example'], pair.cert, other.key)).toThrow(
      /not the certificate’s key/,
    );
    expect(() => checkUploadedCertificate(['shop.example'], 'hello', pair.key)).toThrow(/PEM certificate/);
    expect(() => checkUploadedCertificate(['shop.example'], pair.cert, 'hello')).toThrow(/PEM private key/);
  });

  it('refuses a certificate that ended', () => {
    const pair = made('old', ['shop.example'], 1);
    const later = new Date(Date.now() + 3 * 86_400_000);
    expect(() => checkUploadedCertificate(['shop.example'], pair.cert, pair.key, later)).toThrow(/expired/);
  });

  it('reads a wildcard as one label only', () => {
    expect(nameCovers('*.example.com', 'www.example.com')).toBe(true);
    expect(nameCovers('*.example.com', 'a.b.example.com')).toBe(false);
    expect(nameCovers('*.example.com', 'example.com')).toBe(false);
  });
});
