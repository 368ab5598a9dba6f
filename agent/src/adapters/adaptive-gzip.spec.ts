import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AdaptiveGzip, bitsPerByte, INCOMPRESSIBLE_BITS_PER_BYTE } from './adaptive-gzip.js';

const KB = 1024;

async function gzipped(chunks: Buffer[]): Promise<Buffer> {
  return buffer(Readable.from(chunks).pipe(new AdaptiveGzip()));
}

describe('bitsPerByte', () => {
  it('tells random bytes from text, base64 and hex', () => {
    expect(bitsPerByte(randomBytes(64 * KB))).toBeGreaterThan(INCOMPRESSIBLE_BITS_PER_BYTE);
    expect(bitsPerByte(Buffer.from(randomBytes(64 * KB).toString('base64')))).toBeLessThan(6.1);
    expect(bitsPerByte(Buffer.from(randomBytes(64 * KB).toString('hex')))).toBeLessThan(4.1);
    expect(
      bitsPerByte(Buffer.from("INSERT INTO `node` VALUES (1,'article','en'),".repeat(200))),
    ).toBeLessThan(5);
    expect(bitsPerByte(Buffer.alloc(0))).toBe(0);
  });
});

describe('AdaptiveGzip', () => {
  it('is one gzip stream that reads back byte for byte, across level switches', async () => {
    const chunks = [
      Buffer.from('text '.repeat(20_000)),
      randomBytes(256 * KB),
      Buffer.from(randomBytes(128 * KB).toString('base64')),
      randomBytes(64 * KB),
      Buffer.from('the end'),
    ];
    const out = await gzipped(chunks);
    expect(gunzipSync(out).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('stores random bytes (about their own size) and still compresses text', async () => {
    const random = randomBytes(512 * KB);
    const stored = await gzipped([random]);
    expect(stored.length).toBeGreaterThanOrEqual(random.length);
    expect(stored.length).toBeLessThan(random.length * 1.01);
    const text = Buffer.from('<p>Lorem ipsum dolor sit amet</p>\n'.repeat(10_000));
    expect((await gzipped([text])).length).toBeLessThan(text.length / 20);
  });
});
