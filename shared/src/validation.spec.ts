import { describe, expect, it } from 'vitest';
import { printable, validateAbsolutePath, validateHostname, validateName } from './validation.js';

describe('validateHostname', () => {
  it.each(['web1', 'example.com', 'a-b.example.co.uk', 'x', '1.example'])('accepts %s', (name) => {
    expect(validateHostname('domain', name)).toEqual({ ok: true, value: name });
  });

  it.each([
    ['../x', /not a valid DNS name/],
    ['a b', /not a valid DNS name/],
    ['x;rm -rf /', /not a valid DNS name/],
    ['-lead.example', /not a valid DNS name/],
    ['trail-.example', /not a valid DNS name/],
    ['double..dot', /not a valid DNS name/],
    ['Upper.example', /must be lowercase/],
    ['', /is required/],
    [`${'a'.repeat(64)}.example`, /not a valid DNS name/],
    [Array.from({ length: 60 }, () => 'abcd').join('.'), /at most 253/],
  ])('refuses %j', (name, message) => {
    const result = validateHostname('domain', name);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.failure.message).toMatch(message);
  });

  it('refuses what is not a string', () => {
    expect(validateHostname('domain', 42).ok).toBe(false);
  });
});

describe('validateName', () => {
  it('accepts short lowercase names', () => {
    expect(validateName('platform', 'drupal-10_3').ok).toBe(true);
  });
  it.each(['10x', 'has space', 'UPPER', 'a'.repeat(64), 'semi;colon', ''])('refuses %j', (name) => {
    expect(validateName('platform', name).ok).toBe(false);
  });
});

describe('validateAbsolutePath', () => {
  it('normalises a trailing slash', () => {
    expect(validateAbsolutePath('path', '/var/berth/platforms/p1/')).toEqual({
      ok: true,
      value: '/var/berth/platforms/p1',
    });
  });
  it.each(['relative/path', '/a/../b', '/a/./b', '/a b', '/a;b', '/a$(x)'])('refuses %j', (path) => {
    expect(validateAbsolutePath('path', path).ok).toBe(false);
  });
});

describe('printable', () => {
  it('escapes control characters and caps the length', () => {
    expect(printable('a\nb')).toBe('a\\nb');
    expect(printable('x'.repeat(200))).toHaveLength(80);
  });
});
