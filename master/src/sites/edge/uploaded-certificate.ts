import { createPrivateKey, X509Certificate } from 'node:crypto';

/** At most this much PEM (a chain of a few certificates; a key). */
const MAX_PEM_BYTES = 65_536;

/** Whether a certificate name covers a host: the same name, or `*.` one label above it. */
export function nameCovers(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (!pattern.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === pattern.slice(2);
}

/**
 * An operator's certificate and key checked before anything is stored: PEM, the key is the
 * certificate's, valid now, and naming every name of the site. Throws an Error for people.
 */
export function checkUploadedCertificate(
  names: readonly string[],
  certificatePem: unknown,
  keyPem: unknown,
  now = new Date(),
): { certificatePem: string; keyPem: string; notAfter: Date } {
  if (typeof certificatePem !== 'string' || !certificatePem.includes('-----BEGIN CERTIFICATE-----'))
    throw new Error('certificate must be a PEM certificate chain (the site’s certificate first)');
  if (typeof keyPem !== 'string' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem))
    throw new Error('key must be a PEM private key without a passphrase');
  if (certificatePem.length > MAX_PEM_BYTES || keyPem.length > 16_384)
    throw new Error('the certificate chain or the key is too large');
  const chain = certificatePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chain[0]!);
    for (const other of chain.slice(1)) new X509Certificate(other);
  } catch (error) {
    throw new Error(`the certificate does not parse: ${(error as Error).message}`);
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch (error) {
    throw new Error(`the key does not parse (a passphrase is not supported): ${(error as Error).message}`);
  }
  if (!matches) throw new Error('the key is not the certificate’s key');
  const notAfter = new Date(leaf.validTo);
  if (notAfter <= now) throw new Error(`the certificate expired on ${notAfter.toISOString()}`);
  if (new Date(leaf.validFrom) > now) throw new Error(`the certificate is valid only from ${leaf.validFrom}`);
  const patterns = (leaf.subjectAltName ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  const missing = names.filter((name) => !patterns.some((pattern) => nameCovers(pattern, name)));
  if (missing.length > 0)
    throw new Error(
      `the certificate does not name ${missing.join(', ')} (it names ${patterns.join(', ') || 'nothing'}): ` +
        'it must cover every name of the site',
    );
  return { certificatePem: chain.join('\n') + '\n', keyPem, notAfter };
}
