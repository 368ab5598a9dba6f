import { StringDecoder } from 'node:string_decoder';

/** Longer lines are cut into pieces of this many characters, so a runaway process cannot grow memory. */
export const MAX_LINE_CHARS = 16 * 1024;

/**
 * Turns a byte stream into lines (without their "\n" or "\r\n"), decoding UTF-8 across chunk
 * boundaries. Call end() once the stream ended to get a last line without a newline.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineChars = MAX_LINE_CHARS,
  ) {}

  push(chunk: Buffer | string): void {
    let text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      this.emit(text.slice(0, newline));
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    while (text.length > this.maxLineChars) {
      this.onLine(text.slice(0, this.maxLineChars));
      text = text.slice(this.maxLineChars);
    }
    this.partial = text;
  }

  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest.length > 0) this.emit(rest);
  }

  private emit(line: string): void {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    for (let start = 0; start < trimmed.length; start += this.maxLineChars) {
      this.onLine(trimmed.slice(start, start + this.maxLineChars));
    }
    if (trimmed.length === 0) this.onLine('');
  }
}

/** Keeps the last `limit` bytes written to it (the stderr tail of an error). */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    while (this.length - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
      this.length -= this.chunks.shift()?.length ?? 0;
    }
  }

  toString(): string {
    const all = Buffer.concat(this.chunks);
    const tail = all.length > this.limit ? all.subarray(all.length - this.limit) : all;
    // Cutting may split a UTF-8 sequence at the start; drop continuation bytes rather than show U+FFFD.
    let start = 0;
    while (start < tail.length && start < 3 && ((tail[start] ?? 0) & 0xc0) === 0x80) start += 1;
    return tail.subarray(start).toString('utf8');
  }
}
