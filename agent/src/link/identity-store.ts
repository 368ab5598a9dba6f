import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError, AgentErrorCode } from '../errors.js';

/** Who this agent is to the master, and the key and certificates that prove it. */
export interface AgentIdentity {
  readonly serverId: string;
  readonly serverName: string;
  /** The master address it enrolled with. */
  readonly master: string;
  /** PKCS#8 PEM; never leaves this machine. */
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  readonly caCertificatePem: string;
}

const FILES = {
  key: 'agent.key',
  certificate: 'agent.crt',
  ca: 'ca.crt',
  identity: 'identity.json',
} as const;

/** The agent's identity in its data directory (mode 0700; the key 0600). */
export class IdentityStore {
  constructor(private readonly dataDir: string) {}

  /** The saved identity, or undefined when the agent never enrolled here (no key or no certificate). */
  async load(): Promise<AgentIdentity | undefined> {
    const [privateKeyPem, certificatePem] = await Promise.all([
      this.read(FILES.key),
      this.read(FILES.certificate),
    ]);
    if (privateKeyPem === undefined || certificatePem === undefined) return undefined;
    const [caCertificatePem, identityJson] = await Promise.all([
      this.read(FILES.ca),
      this.read(FILES.identity),
    ]);
    if (caCertificatePem === undefined || identityJson === undefined) {
      throw this.corrupt(`${FILES.ca} or ${FILES.identity} is missing next to the key and certificate`);
    }
    let saved: unknown;
    try {
      saved = JSON.parse(identityJson);
    } catch {
      throw this.corrupt(`${FILES.identity} is not valid JSON`);
    }
    const { serverId, serverName, master } = (saved ?? {}) as Record<string, unknown>;
    if (
      typeof serverId !== 'string' ||
      !serverId ||
      typeof serverName !== 'string' ||
      typeof master !== 'string'
    ) {
      throw this.corrupt(`${FILES.identity} lacks serverId, serverName or master`);
    }
    const identity = { serverId, serverName, master, privateKeyPem, certificatePem, caCertificatePem };
    try {
      checkIdentity(identity);
    } catch (error) {
      throw this.corrupt((error as Error).message);
    }
    return identity;
  }

  /** Saves atomically, file by file; the certificate last, since key + certificate mean "enrolled". */
  async save(identity: AgentIdentity): Promise<void> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    await chmod(this.dataDir, 0o700);
    await this.write(FILES.key, identity.privateKeyPem, 0o600);
    await this.write(FILES.ca, identity.caCertificatePem, 0o644);
    await this.write(
      FILES.identity,
      `${JSON.stringify({ serverId: identity.serverId, serverName: identity.serverName, master: identity.master }, null, 2)}\n`,
      0o644,
    );
    await this.write(FILES.certificate, identity.certificatePem, 0o644);
  }

  private async read(name: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.dataDir, name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new AgentError(
        AgentErrorCode.IdentityCorrupt,
        `cannot read ${join(this.dataDir, name)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  private async write(name: string, content: string, mode: number): Promise<void> {
    const path = join(this.dataDir, name);
    const temporary = `${path}.tmp-${process.pid}`;
    await writeFile(temporary, content, { mode });
    await chmod(temporary, mode);
    await rename(temporary, path);
  }

  private corrupt(why: string): AgentError {
    return new AgentError(
      AgentErrorCode.IdentityCorrupt,
      `the agent identity in ${this.dataDir} is unusable: ${why}. Move the directory away and enroll again ` +
        'with a new token from `berth server add`',
    );
  }
}

/** Throws unless the certificate is issued by the CA and belongs to the private key. */
export function checkIdentity(
  identity: Pick<AgentIdentity, 'privateKeyPem' | 'certificatePem' | 'caCertificatePem'>,
): void {
  let certificate: X509Certificate;
  let ca: X509Certificate;
  try {
    certificate = new X509Certificate(identity.certificatePem);
    ca = new X509Certificate(identity.caCertificatePem);
  } catch {
    throw new Error('a certificate cannot be read');
  }
  if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) {
    throw new Error("the agent certificate is not issued by the master's CA");
  }
  let matches = false;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(identity.privateKeyPem));
  } catch {
    throw new Error('the private key cannot be read');
  }
  if (!matches) throw new Error('the agent certificate does not belong to the private key');
}
