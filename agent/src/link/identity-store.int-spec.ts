import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { mkdtemp, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AgentError, AgentErrorCode } from '../errors.js';
import { createTestPki } from '../testing/test-pki.js';
import { type AgentIdentity, IdentityStore } from './identity-store.js';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function issuedIdentity(): Promise<AgentIdentity> {
  const pki = await createTestPki();
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: 'CN=web1', keys, signingAlgorithm: EC_P256 },
    webcrypto,
  );
  return {
    serverId: 'server-1',
    serverName: 'web1',
    master: 'master:7601',
    privateKeyPem: x509.PemConverter.encode(
      await webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
      'PRIVATE KEY',
    ),
    certificatePem: await pki.signCsr(csr.toString('pem'), 'server-1'),
    caCertificatePem: pki.caCertificatePem,
  };
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'berth-identity-'));
  try {
    await body(join(root, 'agent'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function loadError(store: IdentityStore): Promise<AgentError> {
  try {
    await store.load();
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    return error as AgentError;
  }
  throw new Error('expected load() to fail');
}

describe('IdentityStore', () => {
  it('saves with private modes and loads the same identity back', async () => {
    await withDir(async (dir) => {
      const store = new IdentityStore(dir);
      expect(await store.load()).toBeUndefined();
      const identity = await issuedIdentity();
      await store.save(identity);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect((await stat(join(dir, 'agent.key'))).mode & 0o777).toBe(0o600);
      expect(await store.load()).toEqual(identity);
    });
  });

  it('refuses a certificate that does not belong to the key', async () => {
    await withDir(async (dir) => {
      const store = new IdentityStore(dir);
      const first = await issuedIdentity();
      const second = await issuedIdentity();
      await store.save({
        ...first,
        privateKeyPem: second.privateKeyPem,
        caCertificatePem: first.caCertificatePem,
      });
      const error = await loadError(store);
      expect(error.code).toBe(AgentErrorCode.IdentityCorrupt);
      expect(error.message).toContain('does not belong to the private key');
    });
  });

  it('refuses a certificate from another CA, and a missing identity.json', async () => {
    await withDir(async (dir) => {
      const store = new IdentityStore(dir);
      const first = await issuedIdentity();
      const other = await issuedIdentity();
      await store.save({ ...first, caCertificatePem: other.caCertificatePem });
      expect((await loadError(store)).message).toContain("not issued by the master's CA");
      await store.save(first);
      await unlink(join(dir, 'identity.json'));
      expect((await loadError(store)).message).toContain('identity.json is missing');
      await writeFile(join(dir, 'identity.json'), '{"serverId": 1}');
      expect((await loadError(store)).message).toContain('lacks serverId');
    });
  });

  it('treats a key without a certificate (an enrollment cut short) as not enrolled', async () => {
    await withDir(async (dir) => {
      const store = new IdentityStore(dir);
      await store.save(await issuedIdentity());
      await unlink(join(dir, 'agent.crt'));
      expect(await store.load()).toBeUndefined();
    });
  });
});
