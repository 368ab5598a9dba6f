import { describe, expect, it } from 'vitest';
import { phpString, readHashSalt, renderSettingsPhp, trustedHostPattern } from './drupal-settings.js';

describe('phpString', () => {
  it('escapes only what ends or escapes a single-quoted PHP string', () => {
    expect(phpString('plain')).toBe("'plain'");
    expect(phpString("it's")).toBe("'it\\'s'");
    expect(phpString('a\\b')).toBe("'a\\\\b'");
    expect(phpString("\\'")).toBe("'\\\\\\''");
    expect(phpString('$x {$y} \n')).toBe("'$x {$y} \n'");
  });
});

describe('trustedHostPattern', () => {
  it('anchors the host and escapes its dots', () => {
    expect(trustedHostPattern('www.example.org')).toBe('^www\\.example\\.org$');
    expect(trustedHostPattern('my-site.example.org')).toBe('^my\\-site\\.example\\.org$');
  });

  it('turns *.domain into any subdomain, not the domain itself', () => {
    const pattern = new RegExp(trustedHostPattern('*.example.org'));
    expect(pattern.test('a.example.org')).toBe(true);
    expect(pattern.test('a.b.example.org')).toBe(true);
    expect(pattern.test('example.org')).toBe(false);
    expect(pattern.test('evil-example.org')).toBe(false);
  });

  it('matches the host exactly: no lookalike passes', () => {
    const pattern = new RegExp(trustedHostPattern('example.org'));
    expect(pattern.test('example.org')).toBe(true);
    for (const host of ['exampleXorg', 'example.org.evil.com', 'www.example.org', 'example.orgx']) {
      expect(pattern.test(host)).toBe(false);
    }
  });
});

describe('readHashSalt', () => {
  it('reads back the salt written by renderSettingsPhp, and nothing from other files', () => {
    const salt = 'abcDEF0123456789_-abcDEF0123456789_-';
    const settings = renderSettingsPhp({
      domain: 'example.org',
      siteDir: '/var/berth/sites/example.org',
      credentialsPath: '/var/berth/config/sites/example.org/credentials.php',
      hashSalt: salt,
      trustedHosts: ['example.org'],
    });
    expect(readHashSalt(settings)).toBe(salt);
    expect(readHashSalt("<?php\n$settings['hash_salt'] = file_get_contents('/x');\n")).toBeUndefined();
    expect(readHashSalt('')).toBeUndefined();
  });
});
