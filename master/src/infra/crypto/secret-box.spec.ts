import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.js';

describe('SecretBox', () => {
  it('round-trips, never shows the plaintext, and refuses a tampered secret', () => {
    const box = SecretBox.open({ dataDir: '/unused', keyBase64: Buffer.alloc(32, 1).toString('base64') });
    const sealed = box.encrypt('s3cret-password');
    expect(sealed).not.toContain('s3cret');
    expect(box.decrypt(sealed)).toBe('s3cret-password');
    expect(box.encrypt('s3cret-password')).not.toBe(sealed);
    const parts = sealed.split(':');
    parts[3] = Buffer.from('tampered').toString('base64');
    expect(() => box.decrypt(parts.join(':'))).toThrow();
  });

  it('refuses a truncated tag, even one that is the start of the right one', () => {
    const box = SecretBox.open({ dataDir: '/unused', keyBase64: Buffer.alloc(32, 1).toString('base64') });
    const parts = box.encrypt('s3cret-password').split(':');
    for (const bytes of [4, 8, 12, 15]) {
      const truncated = [...parts];
      truncated[2] = Buffer.from(parts[2]!, 'base64').subarray(0, bytes).toString('base64');
      expect(() => box.decrypt(truncated.join(':')), `${bytes}-byte tag`).toThrow(/tag/);
    }
  });

  it('creates its key file once, readable by the owner only, and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-secret-'));
    try {
      const sealed = SecretBox.open({ dataDir: dir }).encrypt('x');
      expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
      expect(SecretBox.open({ dataDir: dir }).decrypt(sealed)).toBe('x');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a key of the wrong size', () => {
    expect(() => SecretBox.open({ dataDir: '/unused', keyBase64: 'c2hvcnQ=' })).toThrow(/32 bytes/);
  });
});
