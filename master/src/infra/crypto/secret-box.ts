import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const VERSION = 'v1';
/** GCM's full tag. Pinned: without it Node accepts a truncated tag, and a 4-byte tag is forged in 2^32 tries. */
const TAG_BYTES = 16;

/**
 * Encrypts the secrets the registry keeps (sites' database passwords) with AES-256-GCM. The key
 * comes from BERTH_SECRET_KEY (base64, 32 bytes: what several masters sharing one database use),
 * else from <dataDir>/secret.key, created on first start with mode 0600.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static open(options: { dataDir: string; keyBase64?: string }): SecretBox {
    if (options.keyBase64) {
      const key = Buffer.from(options.keyBase64, 'base64');
      if (key.length !== 32) throw new Error('BERTH_SECRET_KEY must be 32 bytes, base64 encoded');
      return new SecretBox(key);
    }
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const path = join(options.dataDir, 'secret.key');
    if (!existsSync(path)) {
      writeFileSync(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    }
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key`);
    return new SecretBox(key);
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      VERSION,
      iv.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      body.toString('base64'),
    ].join(':');
  }

  decrypt(sealed: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('not a sealed secret');
    const authTag = Buffer.from(tag, 'base64');
    if (authTag.length !== TAG_BYTES) throw new Error('not a sealed secret: its tag is not 16 bytes');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAuthTag(authTag);
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  }
}
