import { Duplex } from 'node:stream';
import { constants, createGzip, type Gzip, type ZlibOptions, type ZlibParams } from 'node:zlib';

/** How much of each chunk is looked at: enough for a stable estimate, little next to deflating it. */
const SAMPLE_BYTES = 4096;
/**
 * Bits per byte above which a chunk is taken as compressed already (JPEG, PNG, PDF streams, zip):
 * random bytes measure ~7.95 on a 4 KiB sample, base64 text 6, hex 4, prose and SQL 4.5-5.5.
 */
export const INCOMPRESSIBLE_BITS_PER_BYTE = 7.5;

/** The Shannon entropy of the first `sampleBytes` of `chunk`, in bits per byte (0 to 8). */
export function bitsPerByte(chunk: Uint8Array, sampleBytes = SAMPLE_BYTES): number {
  const length = Math.min(chunk.length, sampleBytes);
  if (length === 0) return 0;
  const counts = new Uint32Array(256);
  for (let index = 0; index < length; index += 1) counts[chunk[index]!]! += 1;
  let bits = 0;
  for (const count of counts) {
    if (count === 0) continue;
    const p = count / length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * gzip that does not spend time on what is compressed already: each chunk's entropy is sampled,
 * and deflate's level set to 0 (stored as it is) for chunks that look random and back to `level`
 * for the rest, between chunks (zlib's params(); a switch flushes a block). The output is one
 * ordinary gzip stream whatever the levels, read back by any gunzip. A site's files are mostly
 * images and PDFs, which deflate at level 6 takes ~25 ms per MB to leave as large as they were.
 */
export class AdaptiveGzip extends Duplex {
  // Node's gzip streams have params() (zlib.md), its types give it to Deflate only.
  private readonly gzip: Gzip & ZlibParams;
  private current: number;

  constructor(private readonly level = constants.Z_DEFAULT_COMPRESSION) {
    super({ writableHighWaterMark: 1024 * 1024, readableHighWaterMark: 1024 * 1024 });
    this.current = level;
    // Larger pieces than zlib's 16 KiB: fewer trips to the thread pool (measured: ~15% of the time).
    // (zlib streams take the stream options too; its types list only zlib's own.)
    const options: ZlibOptions & { highWaterMark: number } = {
      level,
      chunkSize: 256 * 1024,
      highWaterMark: 1024 * 1024,
    };
    this.gzip = createGzip(options) as Gzip & ZlibParams;
    this.gzip.on('data', (data: Buffer) => {
      if (!this.push(data)) this.gzip.pause();
    });
    this.gzip.on('end', () => this.push(null));
    this.gzip.on('error', (error) => this.destroy(error));
  }

  override _read(): void {
    this.gzip.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const write = () => {
      if (this.gzip.write(chunk)) callback();
      else this.gzip.once('drain', () => callback());
    };
    const wanted =
      bitsPerByte(chunk) > INCOMPRESSIBLE_BITS_PER_BYTE ? constants.Z_NO_COMPRESSION : this.level;
    if (wanted === this.current) {
      write();
      return;
    }
    this.current = wanted;
    // Its callback gets no error: a failure of the stream comes as its 'error' (destroys this).
    this.gzip.params(wanted, constants.Z_DEFAULT_STRATEGY, write);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.gzip.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.gzip.destroy();
    callback(error);
  }
}
