import { describe, expect, it } from 'vitest';
import {
  composerVersions,
  coreVersionOf,
  highestUpdate,
  lastRemovedUpdate,
  parseInfoYml,
  postUpdates,
  removedPostUpdates,
} from './platform-scan.js';

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

describe('lastRemovedUpdate', () => {
  it('reads hook_update_last_removed() as Drupal 11 writes it, typed or not', () => {
    const typed = `<?php\n/**\n * Implements hook_update_last_removed().\n */\nfunction system_update_last_removed(): int {\n  return 10201;\n}\n\nfunction system_update_11001(): void {\n  return;\n}\n`;
    expect(lastRemovedUpdate('system', typed)).toBe(10201);
    expect(lastRemovedUpdate('node', 'function node_update_last_removed() {\n  return 10100;\n}\n')).toBe(
      10100,
    );
    expect(lastRemovedUpdate('user', 'function user_update_10000() {}\n')).toBe(0);
    // Another module's function of the same shape does not count.
    expect(lastRemovedUpdate('node', 'function node_extra_update_last_removed() { return 9; }')).toBe(0);
  });
});

describe('post-updates', () => {
  const file = `<?php
/**
 * Implements hook_removed_post_updates().
 */
function file_removed_post_updates(): array {
  return [
    'file_post_update_add_txt_if_allows_insecure_extensions' => '10.0.0',
    "file_post_update_add_permissions_to_roles" => '11.0.0',
  ];
}

/**
 * Adds a setting.
 */
function file_post_update_add_default_setting(&$sandbox = NULL): void {
  $x = ['not_a_removed_update' => 1];
}

function file_post_update_second() {}
`;

  it('lists the post-update functions, and the removed ones from their array only', () => {
    expect(postUpdates('file', file)).toEqual([
      'file_post_update_add_default_setting',
      'file_post_update_second',
    ]);
    expect(removedPostUpdates('file', file)).toEqual([
      'file_post_update_add_permissions_to_roles',
      'file_post_update_add_txt_if_allows_insecure_extensions',
    ]);
    expect(removedPostUpdates('node', file)).toEqual([]);
  });
});

describe('composerVersions', () => {
  it("takes drupal/* packages' install paths inside the docroot, Composer 2 or 1", () => {
    const packages = [
      { name: 'drupal/token', version: '1.15.0', 'install-path': '../../web/modules/contrib/token' },
      { name: 'drupal/core', version: '11.0.0', 'install-path': '../../web/core' },
      { name: 'drupal/outside', version: '1.0.0', 'install-path': '../../../elsewhere' },
      { name: 'symfony/console', version: 'v7.1.0', 'install-path': '../symfony/console' },
      {
        name: 'drupal/admin_toolbar',
        version: 'v3.5.0',
        'install-path': '../../web/modules/contrib/admin_toolbar',
      },
    ];
    const expected = [
      { path: 'modules/contrib/token', version: '1.15.0' },
      { path: 'modules/contrib/admin_toolbar', version: '3.5.0' },
    ];
    expect(composerVersions(JSON.stringify({ packages }), '/p', '/p/web')).toEqual(expected);
    expect(composerVersions(JSON.stringify(packages), '/p', '/p/web')).toEqual(expected);
    expect(composerVersions('not json', '/p', '/p/web')).toEqual([]);
  });
});
