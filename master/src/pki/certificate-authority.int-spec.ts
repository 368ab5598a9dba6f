import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CertificateAuthority } from './certificate-authority.js';

const logger = pino({ level: 'silent' });
const DAY = 24 * 3600_000;

async function withDataDir(run: (dataDir: string) => Promise<void>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-pki-'));
  try {
    await run(dataDir);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('CertificateAuthority on disk', () => {
  it('creates the CA and the server certificate once, keys 0600, and loads them afterwards', () =>
    withDataDir(async (dataDir) => {
      const pki = join(dataDir, 'pki');
      const first = await CertificateAuthority.open(
        { dataDir, publicHosts: ['localhost', '127.0.0.1'] },
        logger,
      );
      expect(mode(pki)).toBe(0o700);
      expect(mode(join(pki, 'ca.key'))).toBe(0o600);
      expect(mode(join(pki, 'server.key'))).toBe(0o600);
      expect(readFileSync(join(pki, 'ca.crt'), 'utf8')).toBe(first.caCertificatePem());
      expect(readFileSync(join(pki, 'server.crt'), 'utf8')).toBe(first.serverIdentity().certificatePem);

      const second = await CertificateAuthority.open(
        { dataDir, publicHosts: ['127.0.0.1', 'localhost'] },
        logger,
      );
      expect(second.caPin()).toBe(first.caPin());
      expect(second.serverIdentity()).toEqual(first.serverIdentity());
    }));

  it('issues a new server certificate when the public hosts change, keeping the CA', () =>
    withDataDir(async (dataDir) => {
      const first = await CertificateAuthority.open({ dataDir, publicHosts: ['localhost'] }, logger);
      const second = await CertificateAuthority.open(
        { dataDir, publicHosts: ['localhost', 'master.example.org', '10.0.0.5'] },
        logger,
      );
      expect(second.caPin()).toBe(first.caPin());
      const cert = new X509Certificate(second.serverIdentity().certificatePem);
      expect(cert.subjectAltName).toBe('DNS:localhost, DNS:master.example.org, IP Address:10.0.0.5');
      expect(cert.checkIssued(new X509Certificate(first.caCertificatePem()))).toBe(true);
    }));

  it('renews the server certificate when it expires within 30 days, or is missing', () =>
    withDataDir(async (dataDir) => {
      const first = await CertificateAuthority.open({ dataDir, publicHosts: ['localhost'] }, logger);
      const in340Days = new Date(Date.now() + 340 * DAY);
      const renewed = await CertificateAuthority.open(
        { dataDir, publicHosts: ['localhost'], clock: () => in340Days },
        logger,
      );
      expect(renewed.serverIdentity().certificatePem).not.toBe(first.serverIdentity().certificatePem);
      expect(
        new Date(new X509Certificate(renewed.serverIdentity().certificatePem).validTo).getTime(),
      ).toBeGreaterThan(in340Days.getTime() + 360 * DAY);

      unlinkSync(join(dataDir, 'pki', 'server.crt'));
      const reissued = await CertificateAuthority.open({ dataDir, publicHosts: ['localhost'] }, logger);
      expect(reissued.caPin()).toBe(first.caPin());
      expect(readFileSync(join(dataDir, 'pki', 'server.crt'), 'utf8')).toBe(
        reissued.serverIdentity().certificatePem,
      );
    }));

  it("refuses to start with half a CA or a key that is not the certificate's, instead of replacing it", () =>
    withDataDir(async (dataDir) => {
      await CertificateAuthority.open({ dataDir, publicHosts: ['localhost'] }, logger);
      const caCrt = join(dataDir, 'pki', 'ca.crt');
      const pem = readFileSync(caCrt, 'utf8');
      unlinkSync(caCrt);
      await expect(
        CertificateAuthority.open({ dataDir, publicHosts: ['localhost'] }, logger),
      ).rejects.toThrow(/ca\.key exists but .*ca\.crt does not/);

      const other = await CertificateAuthority.generate({ publicHosts: ['localhost'] });
      writeFileSync(caCrt, other.caCertificatePem());
      await expect(
        CertificateAuthority.open({ dataDir, publicHosts: ['localhost'] }, logger),
      ).rejects.toThrow(/ca\.key does not belong to .*ca\.crt/);
      writeFileSync(caCrt, pem);
      await expect(
        CertificateAuthority.open({ dataDir, publicHosts: ['localhost'] }, logger),
      ).resolves.toBeDefined();
    }));
});
