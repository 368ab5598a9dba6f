import { describe, expect, it } from 'vitest';
import { LineSplitter, TailBuffer } from './line-splitter.js';

function split(chunks: (Buffer | string)[], max?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), max);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return lines;
}

describe('LineSplitter', () => {
  it('splits on newlines across chunks and keeps a last line without a newline', () => {
    expect(split(['one\ntw', 'o\r\nthr', 'ee'])).toEqual(['one', 'two', 'three']);
  });

  it('keeps empty lines', () => {
    expect(split(['a\n\nb\n'])).toEqual(['a', '', 'b']);
  });

  it('decodes a UTF-8 character cut between two chunks', () => {
    const bytes = Buffer.from('héllo\n', 'utf8');
    expect(split([bytes.subarray(0, 2), bytes.subarray(2)])).toEqual(['héllo']);
  });

  it('cuts very long lines into bounded pieces', () => {
    expect(split(['abcdefghij\n'], 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(split(['abcdefghij'], 4)).toEqual(['abcd', 'efgh', 'ij']);
  });
});

describe('TailBuffer', () => {
  it('keeps only the last bytes', () => {
    const tail = new TailBuffer(8);
    tail.push(Buffer.from('0123456789'));
    tail.push(Buffer.from('abc'));
    expect(tail.toString()).toBe('56789abc');
  });

  it('drops a cut multi-byte character at the start', () => {
    const tail = new TailBuffer(4);
    tail.push(Buffer.from('xé€', 'utf8')); // x(1) é(2) €(3): the last 4 bytes start inside é
    expect(tail.toString()).toBe('€');
  });
});
