import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface PemPair {
  certificatePem: string;
  privateKeyPem: string;
}

/**
 * The CA's and the master's key pairs under <dataDir>/pki: keys 0600, the directory 0700, each file
 * written beside and renamed into place so that a crash never leaves half a key.
 */
export class PkiFiles {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'pki');
  }

  readCa(): Promise<PemPair | undefined> {
    return this.readPair('ca.crt', 'ca.key');
  }

  async writeCa(certificatePem: string, privateKeyPem: string): Promise<void> {
    await this.writePair('ca.crt', 'ca.key', certificatePem, privateKeyPem);
  }

  readServer(): Promise<PemPair | undefined> {
    return this.readPair('server.crt', 'server.key', true);
  }

  async writeServer(certificatePem: string, privateKeyPem: string): Promise<void> {
    await this.writePair('server.crt', 'server.key', certificatePem, privateKeyPem);
  }

  private async readPair(
    crtName: string,
    keyName: string,
    tolerateHalf = false,
  ): Promise<PemPair | undefined> {
    const [certificatePem, privateKeyPem] = await Promise.all([
      readOptional(join(this.dir, crtName)),
      readOptional(join(this.dir, keyName)),
    ]);
    if (certificatePem !== undefined && privateKeyPem !== undefined) return { certificatePem, privateKeyPem };
    if (certificatePem === undefined && privateKeyPem === undefined) return undefined;
    // The master's own certificate can simply be issued again; the CA cannot be replaced silently,
    // because every agent pins it.
    if (tolerateHalf) return undefined;
    const present = certificatePem === undefined ? keyName : crtName;
    const missing = certificatePem === undefined ? crtName : keyName;
    throw new Error(
      `${join(this.dir, present)} exists but ${join(this.dir, missing)} does not: restore ${missing} from a ` +
        `backup, or remove both to create a new CA (every agent must then enroll again)`,
    );
  }

  private async writePair(crtName: string, keyName: string, certificatePem: string, privateKeyPem: string) {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomically(join(this.dir, keyName), privateKeyPem, 0o600);
    await writeAtomically(join(this.dir, crtName), certificatePem, 0o644);
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, content, { mode, flag: 'wx', flush: true });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
