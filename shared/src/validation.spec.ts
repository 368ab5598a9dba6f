import { describe, expect, it } from 'vitest';
import {
  printable,
  RESERVED_SITE_NAMES,
  validateAbsolutePath,
  validateHostname,
  validateName,
  validatePlatformName,
  validateSiteDomain,
} from './validation.js';

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

describe('validateSiteDomain', () => {
  it('takes the domains people host sites under', () => {
    for (const domain of [
      'example.com',
      'demo.localhost',
      'www.example.co.uk',
      'xn--bcher-kva.example',
      'a1.b2',
    ]) {
      expect(validateSiteDomain('domain', domain), domain).toEqual({ ok: true, value: domain });
    }
  });

  it("refuses the names Drupal's sites/ directory keeps, one-part names and numbers", () => {
    for (const name of RESERVED_SITE_NAMES) {
      const checked = validateSiteDomain('domain', name);
      expect(checked.ok, name).toBe(false);
    }
    expect(validateSiteDomain('domain', 'default')).toMatchObject({
      ok: false,
      failure: { message: expect.stringMatching(/uses for itself/) as unknown },
    });
    for (const [name, why] of [
      ['localhost', /at least two parts/],
      ['0', /at least two parts/],
      ['10.0.0.1', /ends in a number/],
      ['example.123', /ends in a number/],
      ['Upper.example', /lowercase/],
    ] as const) {
      expect(validateSiteDomain('domain', name), name).toMatchObject({
        ok: false,
        failure: { message: expect.stringMatching(why) as unknown },
      });
    }
  });
});

describe('validatePlatformName', () => {
  it('takes names after a build, with dots', () => {
    for (const name of ['drupal-10.2.0', 'd11.0.1-acme', 'fixture_10', 'p1']) {
      expect(validatePlatformName('name', name).ok, name).toBe(true);
    }
  });

  it('refuses a leading or trailing dot, "..", and anything a path would read otherwise', () => {
    for (const name of ['.hidden', 'trailing.', 'a..b', '..', '10.2', 'a/b', 'A.b', '', 'x'.repeat(64)]) {
      expect(validatePlatformName('name', name).ok, name).toBe(false);
    }
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
