import { describe, expect, it } from 'vitest';
import { formatEta, formatRate, formatRelative, sanitize, taskDuration } from './format.js';

describe('formatRate', () => {
  it('is bytes per second in binary units', () => {
    expect(formatRate(12.5 * 1024 * 1024)).toBe('12.5 MiB/s');
    expect(formatRate(0)).toBe('0 B/s');
  });
});

describe('formatEta', () => {
  it('divides what is left by the rate', () => {
    expect(formatEta(100 * 1024 * 1024, 10 * 1024 * 1024)).toBe('ETA 10s');
    expect(formatEta(90 * 60, 1)).toBe('ETA 1h 30m');
  });

  it('is unknown before anything moved and zero when nothing is left', () => {
    expect(formatEta(1000, 0)).toBe('ETA --');
    expect(formatEta(0, 0)).toBe('ETA 0s');
    expect(formatEta(10, 100)).toBe('ETA <1s');
  });
});

describe('formatRelative', () => {
  const now = Date.parse('2025-01-01T12:00:00Z');
  it('says how long ago, or how long until', () => {
    expect(formatRelative('2025-01-01T11:59:58Z', now)).toBe('just now');
    expect(formatRelative('2025-01-01T11:59:30Z', now)).toBe('30s ago');
    expect(formatRelative('2025-01-01T11:55:00Z', now)).toBe('5m ago');
    expect(formatRelative('2025-01-01T09:00:00Z', now)).toBe('3h ago');
    expect(formatRelative('2024-12-29T12:00:00Z', now)).toBe('3d ago');
    expect(formatRelative('2025-01-02T12:00:00Z', now)).toBe('in 1d');
    expect(formatRelative(null, now)).toBe('-');
  });
});

describe('taskDuration', () => {
  it('runs from start to finish, or to now while running, and is "-" before the start', () => {
    const now = Date.parse('2025-01-01T12:01:00Z');
    const base = { createdAt: '2025-01-01T11:59:00Z' };
    expect(
      taskDuration({ ...base, startedAt: '2025-01-01T12:00:00Z', finishedAt: '2025-01-01T12:00:04.5Z' }, now),
    ).toBe('4.5s');
    expect(taskDuration({ ...base, startedAt: '2025-01-01T12:00:00Z', finishedAt: null }, now)).toBe(
      '1m 00s',
    );
    expect(taskDuration({ ...base, startedAt: null, finishedAt: null }, now)).toBe('-');
  });
});

describe('sanitize', () => {
  it('removes escape sequences and control characters, keeping tabs and text', () => {
    expect(sanitize('\x1b[31mred\x1b[0m\tok\r\x07\x1b]0;title\x07!')).toBe('red\tok!');
  });
});
