import { describe, expect, it } from 'vitest';
import { coreVersionOf, highestUpdate, parseInfoYml } from './platform-scan.js';

describe('parseInfoYml', () => {
  it('reads top-level scalars, plain and quoted, and lets a later key win', () => {
    const info = parseInfoYml(
      [
        "name: 'Pathauto'",
        'type: module',
        "description: 'It''s a module: with a colon' # comment",
        'package: Other # a comment',
        'core_version_requirement: "^9.3 || ^10"',
        'base theme: stable9',
        'version: VERSION',
        'dependencies:',
        '  - token:token',
        '  nested: value',
        'configure: entity.pathauto.settings',
        '',
        '# Information added by Drupal.org packaging script on 2024-01-15',
        "version: '8.x-1.13'",
        "project: 'pathauto'",
        'datestamp: 1705312800',
      ].join('\n'),
    );
    expect(info).toMatchObject({
      name: 'Pathauto',
      type: 'module',
      description: "It's a module: with a colon",
      package: 'Other',
      core_version_requirement: '^9.3 || ^10',
      'base theme': 'stable9',
      version: '8.x-1.13',
      project: 'pathauto',
      datestamp: '1705312800',
    });
    expect(info).not.toHaveProperty('nested');
    expect(info).not.toHaveProperty('dependencies');
  });

  it('skips flow collections, block scalars and broken quotes; reads CRLF files', () => {
    expect(parseInfoYml("a: [x, y]\nb: {c: d}\nd: |\n  text\ne: 'open\r\nf: ok\r\n")).toEqual({ f: 'ok' });
  });
});

describe('highestUpdate', () => {
  it('takes the highest hook_update_N of that module only', () => {
    const install = `<?php
function token_update_8001(&$sandbox) {}
function token_update_8010() {}
function token_update_9(&$sandbox) {}
function other_update_9999() {}
// function token_update_ without a number
function token_update_last_removed() {}
`;
    expect(highestUpdate('token', install)).toBe(8010);
    expect(highestUpdate('token', '<?php')).toBe(0);
    expect(highestUpdate('tok', install)).toBe(0);
  });
});

describe('coreVersionOf', () => {
  it('reads Drupal::VERSION', () => {
    expect(coreVersionOf("class Drupal {\n  const VERSION = '10.3.0';\n}")).toBe('10.3.0');
    expect(coreVersionOf('<?php')).toBeUndefined();
  });
});
