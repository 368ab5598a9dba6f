import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CertificateAuthority, MAX_CSR_BYTES } from './certificate-authority.js';
import { PkiError, PkiErrorCode } from './pki.errors.js';
import { makeAgentCsr, pemToDer } from './pki.fixtures.js';

const hosts = ['localhost', '127.0.0.1', '::1', 'master.example.org'];

async function pkiCode(promiseOrFn: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    if (typeof promiseOrFn === 'function') promiseOrFn();
    else await promiseOrFn;
  } catch (error) {
    expect(error).toBeInstanceOf(PkiError);
    return (error as PkiError).code;
  }
  return undefined;
}

describe('CertificateAuthority', () => {
  it('is a self-signed P-256 CA valid for ten years, pinned by the sha256 of its DER', async () => {
    const ca = await CertificateAuthority.generate({ publicHosts: hosts });
    const cert = new X509Certificate(ca.caCertificatePem());
    expect(cert.ca).toBe(true);
    expect(cert.subject).toMatch(/^CN=Berth CA [0-9a-f]+$/);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const years = (new Date(cert.validTo).getTime() - Date.now()) / (365.25 * 24 * 3600_000);
    expect(years).toBeGreaterThan(9.9);
    expect(ca.caPin()).toBe(createHash('sha256').update(cert.raw).digest('base64url'));
    expect(ca.caPin()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("issues the master's TLS certificate for every public host, for server authentication", async () => {
    const ca = await CertificateAuthority.generate({ publicHosts: hosts });
    const server = new X509Certificate(ca.serverIdentity().certificatePem);
    expect(server.checkIssued(new X509Certificate(ca.caCertificatePem()))).toBe(true);
    expect(server.subjectAltName).toBe(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:master.example.org',
    );
    expect(server.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(
      server.checkPrivateKey(
        (await import('node:crypto')).createPrivateKey(ca.serverIdentity().privateKeyPem),
      ),
    ).toBe(true);
  });

  it('signs a CSR into a client certificate for the server id and verifies it', async () => {
    const ca = await CertificateAuthority.generate({ publicHosts: hosts });
    const serverId = randomUUID();
    const { csrPem } = await makeAgentCsr();
    const issued = await ca.signClientCsr(csrPem, serverId);
    const der = pemToDer(issued.certificatePem);
    expect(issued.sha256Hex).toBe(createHash('sha256').update(der).digest('hex'));

    const verified = ca.verifyClientCertificate(der);
    expect(verified).toEqual({ serverId, sha256Hex: issued.sha256Hex, expiresAt: issued.expiresAt });
    const days = (issued.expiresAt.getTime() - Date.now()) / (24 * 3600_000);
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThan(366);
  });

  it('ignores the subject and extensions the CSR asks for', async () => {
    const ca = await CertificateAuthority.generate({ publicHosts: hosts });
    const serverId = randomUUID();
    const { csrPem } = await makeAgentCsr({
      name: 'CN=root, O=evil',
      extensions: [
        new x509.BasicConstraintsExtension(true, 5, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.codeSigning,
        ]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'master.example.org' }]),
      ],
    });
    const issued = await ca.signClientCsr(csrPem, serverId);
    const cert = new X509Certificate(issued.certificatePem);
    expect(cert.subject).toBe(`CN=${serverId}`);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.subjectAltName).toBeUndefined();
  });

  it('gives each certificate a different random serial', async () => {
    const ca = await CertificateAuthority.generate({ publicHosts: hosts });
    const serverId = randomUUID();
    const { csrPem } = await makeAgentCsr();
    const a = new X509Certificate((await ca.signClientCsr(csrPem, serverId)).certificatePem);
    const b = new X509Certificate((await ca.signClientCsr(csrPem, serverId)).certificatePem);
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.serialNumber.length).toBeGreaterThanOrEqual(30);
  });

  it('refuses a client certificate issued by another CA', async () => {
    const ours = await CertificateAuthority.generate({ publicHosts: hosts });
    const theirs = await CertificateAuthority.generate({ publicHosts: hosts });
    const { csrPem } = await makeAgentCsr();
    const foreign = await theirs.signClientCsr(csrPem, randomUUID());
    expect(await pkiCode(() => ours.verifyClientCertificate(pemToDer(foreign.certificatePem)))).toBe(
      PkiErrorCode.ClientCertificateInvalid,
    );
  });

  it('refuses an expired client certificate', async () => {
    let now = new Date(Date.now() - 400 * 24 * 3600_000);
    const ca = await CertificateAuthority.generate({ publicHosts: hosts, clock: () => now });
    const { csrPem } = await makeAgentCsr();
    const issued = await ca.signClientCsr(csrPem, randomUUID());
    expect(ca.verifyClientCertificate(pemToDer(issued.certificatePem)).serverId).toBeTruthy();
    now = new Date();
    expect(await pkiCode(() => ca.verifyClientCertificate(pemToDer(issued.certificatePem)))).toBe(
      PkiErrorCode.ClientCertificateInvalid,
    );
  });

  it("refuses the master's own server certificate and garbage as client certificates", async () => {
    const ca = await CertificateAuthority.generate({ publicHosts: hosts });
    expect(
      await pkiCode(() => ca.verifyClientCertificate(pemToDer(ca.serverIdentity().certificatePem))),
    ).toBe(PkiErrorCode.ClientCertificateInvalid);
    expect(await pkiCode(() => ca.verifyClientCertificate(Buffer.from('not a certificate')))).toBe(
      PkiErrorCode.ClientCertificateInvalid,
    );
  });

  it('refuses a CSR whose signature does not match, garbage, and an oversized one', async () => {
    const ca = await CertificateAuthority.generate({ publicHosts: hosts });
    const { csrPem } = await makeAgentCsr();
    const der = pemToDer(csrPem);
    // The signature is the last bytes of the DER: change one.
    der[der.length - 3] = (der[der.length - 3] ?? 0) ^ 0xff;
    const tampered = new x509.Pkcs10CertificateRequest(der).toString('pem');
    expect(await pkiCode(ca.checkCsr(tampered))).toBe(PkiErrorCode.CsrInvalid);
    expect(
      await pkiCode(
        ca.checkCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----'),
      ),
    ).toBe(PkiErrorCode.CsrInvalid);
    expect(await pkiCode(ca.checkCsr(csrPem + ' '.repeat(MAX_CSR_BYTES)))).toBe(PkiErrorCode.CsrInvalid);
    expect(await pkiCode(ca.checkCsr(''))).toBe(PkiErrorCode.CsrInvalid);
  });
});
