import { createPrivateKey, X509Certificate } from 'node:crypto';
import { copyFile, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { ensureDir, pathKind, writeFileAtomic } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { Nginx } from '../../adapters/nginx.js';
import type { StepContext } from '../step.js';

/**
 * A site's HTTPS files on this server, in `<root>/config/tls/<domain>/` (0700, root's):
 * `privkey.pem` and `fullchain.pem` as nginx reads them, `pending-privkey.pem` between a request
 * and its certificate. Only nginx's master (root) reads the key; it never leaves this directory.
 */
export class SiteTlsFiles {
  readonly dir: string;
  readonly key: string;
  readonly certificate: string;
  readonly pendingKey: string;

  constructor(
    readonly root: string,
    readonly domain: string,
  ) {
    this.dir = new HostLayout(root).siteTlsDir(domain);
    this.key = join(this.dir, 'privkey.pem');
    this.certificate = join(this.dir, 'fullchain.pem');
    this.pendingKey = join(this.dir, 'pending-privkey.pem');
  }

  async prepare(): Promise<void> {
    await ensureDir(new HostLayout(this.root).tlsDir, 0o711);
    await ensureDir(this.dir, 0o700, { uid: 0, gid: 0 });
  }
}

/** What a certificate says of itself, as tls.install reports it. */
export interface CertificateFacts {
  names: string[];
  notBefore: string;
  notAfter: string;
  serial: string;
  issuer: string;
}

/** Every PEM certificate block of a chain, in order (the leaf first). */
export function splitChain(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * The leaf of a chain checked against the key it must go with: parses, the key is its key, valid
 * now. Throws a StepError that says which check failed.
 */
export function checkCertificate(chainPem: string, keyPem: string, now = new Date()): CertificateFacts {
  const chain = splitChain(chainPem);
  const refuse = (message: string) =>
    new StepError({ code: StepErrorCode.InvalidParams, message, retryable: false });
  if (chain.length === 0) throw refuse('the certificate is not a PEM certificate chain');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chain[0]!);
    for (const other of chain.slice(1)) new X509Certificate(other);
  } catch (error) {
    throw refuse(`the certificate chain does not parse: ${(error as Error).message}`);
  }
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem)))
    throw refuse("the certificate is not for this site's key on this server");
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter <= now) throw refuse(`the certificate expired on ${notAfter.toISOString()}`);
  if (notBefore > new Date(now.getTime() + 5 * 60_000))
    throw refuse(`the certificate is valid only from ${notBefore.toISOString()}`);
  const names = (leaf.subjectAltName ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  return {
    names,
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    serial: leaf.serialNumber,
    issuer: leaf.issuer.split('\n').join(', ').slice(0, 500),
  };
}

/**
 * Puts a key and its chain in place together. When the live vhost serves HTTPS with them, nginx
 * tests and reloads; if either fails, the previous pair is put back and nginx keeps serving it.
 */
export async function replaceKeyPair(
  context: StepContext,
  files: SiteTlsFiles,
  keyPem: string,
  chainPem: string,
): Promise<void> {
  const nginx = new Nginx(context);
  await nginx.exclusive(async () => {
    const hadPair = (await pathKind(files.key)) === 'file' && (await pathKind(files.certificate)) === 'file';
    if (hadPair) {
      await copyFile(files.key, `${files.key}.previous`);
      await copyFile(files.certificate, `${files.certificate}.previous`);
    }
    await writeFileAtomic(files.key, keyPem, { mode: 0o600, owner: { uid: 0, gid: 0 } });
    await writeFileAtomic(files.certificate, chainPem, { mode: 0o644 });
    if (!(await servedWith(context, files))) return;
    try {
      await nginx.test();
      await nginx.reload({ mustRenew: true });
    } catch (error) {
      if (hadPair) {
        await rename(`${files.key}.previous`, files.key);
        await rename(`${files.certificate}.previous`, files.certificate);
      } else {
        await rm(files.key, { force: true });
        await rm(files.certificate, { force: true });
      }
      context.note(`the previous key and certificate of ${files.domain} put back`);
      throw error;
    }
  });
  await rm(`${files.key}.previous`, { force: true });
  await rm(`${files.certificate}.previous`, { force: true });
}

/** Whether the site's live vhost names this certificate (it serves HTTPS with it). */
async function servedWith(context: StepContext, files: SiteTlsFiles): Promise<boolean> {
  const vhost = await readFile(new HostLayout(context.host.root).vhostPath(files.domain), 'utf8').catch(
    () => '',
  );
  return vhost.includes(`ssl_certificate ${files.certificate};`);
}
