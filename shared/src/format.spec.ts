import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration } from './format.js';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.00 KiB'],
    [1536, '1.50 KiB'],
    [10 * 1024 * 1024, '10.0 MiB'],
    [256 * 1024 * 1024, '256 MiB'],
    [1024 * 1024 - 1, '1.00 MiB'],
    [5.5 * 1024 ** 3, '5.50 GiB'],
    [5 * 1024 ** 3, '5.00 GiB'],
    [1024 ** 3 - 1, '1.00 GiB'],
  ])('%d bytes is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('says it does not know rather than printing NaN', () => {
    expect(formatBytes(Number.NaN)).toBe('?');
    expect(formatBytes(-1)).toBe('?');
  });
});

describe('formatDuration', () => {
  it.each([
    [850, '850ms'],
    [4_249, '4.2s'],
    [42_000, '42s'],
    [185_000, '3m 05s'],
    // The web UI, which had a formatting of its own, showed this as "1 min 60 s".
    [119_600, '1m 59s'],
    [59_999, '59s'],
    [3_720_000, '1h 02m'],
    [2 * 86_400_000 + 3 * 3_600_000, '2d 03h'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
