/** Test helpers: a throwaway CA, a master certificate for loopback, and CSR signing, as a master does it. */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TestPki {
  caCertificatePem: string;
  caPin: string;
  serverKeyPem: string;
  serverCertificatePem: string;
  signCsr(csrPem: string, commonName: string): Promise<string>;
}

let serial = 1;

async function keyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

export async function createTestPki(hosts: { dns?: string[]; ips?: string[] } = {}): Promise<TestPki> {
  const caKeys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: String(serial++).padStart(2, '0'),
      name: 'CN=Berth Test CA',
      notBefore,
      notAfter,
      keys: caKeys,
      signingAlgorithm: EC_P256,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    },
    webcrypto,
  );
  const issue = async (publicKey: CryptoKey | x509.PublicKey, name: string, extensions: x509.Extension[]) =>
    x509.X509CertificateGenerator.create(
      {
        serialNumber: String(serial++).padStart(2, '0'),
        subject: name,
        issuer: ca.subject,
        notBefore,
        notAfter,
        publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: EC_P256,
        extensions,
      },
      webcrypto,
    );
  const serverKeys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const names = [
    ...(hosts.dns ?? ['localhost']).map((value) => ({ type: 'dns' as const, value })),
    ...(hosts.ips ?? ['127.0.0.1']).map((value) => ({ type: 'ip' as const, value })),
  ];
  const server = await issue(serverKeys.publicKey, 'CN=berth-master', [
    new x509.SubjectAlternativeNameExtension(names),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
  ]);
  return {
    caCertificatePem: ca.toString('pem'),
    caPin: createHash('sha256').update(Buffer.from(ca.rawData)).digest('base64url'),
    serverKeyPem: await keyPem(serverKeys.privateKey),
    serverCertificatePem: server.toString('pem'),
    async signCsr(csrPem, commonName) {
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      if (!(await csr.verify(webcrypto))) throw new Error('bad CSR signature');
      const issued = await issue(csr.publicKey, `CN=${commonName}`, [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      ]);
      return issued.toString('pem');
    },
  };
}
