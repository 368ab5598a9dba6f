import { describe, expect, it } from 'vitest';
import { StepRegistry } from './registry.js';

const registry = new StepRegistry({ debugSteps: false });
const archiveId = '2c1f6a1e-5d0b-4f63-9a51-0d3b1b6f7a10';

function check(step: string, params: unknown): string | true {
  const registered = registry.get(step);
  if (!registered) throw new Error(`no step ${step}`);
  const prepared = registered.prepare(params);
  return prepared.ok ? true : prepared.failure.message;
}

describe('site step parameters', () => {
  it.each([
    ['db.create', { database: 'site_1', user: 'site_1', host: '%' }],
    ['db.drop', { database: 'site_1', user: 'site_1', host: 'localhost' }],
    ['db.dump', { database: 'site_1', archiveId }],
    ['db.import', { database: 'site_1', archiveId }],
    ['db.schema-versions', { database: 'site_1' }],
    [
      'site.write-settings',
      {
        domain: 'example.org',
        platformPath: '/var/berth/platforms/p1',
        database: 'd',
        user: 'u',
        dbHost: '10.0.0.5',
        dbPort: 3306,
        trustedHosts: ['example.org', '*.example.org'],
      },
    ],
    [
      'site.write-settings',
      {
        domain: 'example.org',
        platform: 'p1',
        database: 'd',
        user: 'u',
        dbHost: '10.0.0.5',
        dbPort: 3306,
        trustedHosts: ['example.org'],
      },
    ],
    ['http.prepare-vhost', { domain: 'example.org', platform: 'p1', disabled: true }],
    ['http.commit-vhost', { domain: 'example.org' }],
    ['http.discard-vhost', { domain: 'example.org' }],
    ['site.link', { domain: 'example.org', platform: 'drupal-10_3' }],
    ['site.unlink', { domain: 'example.org', platform: 'p1' }],
    ['site.archive', { domain: 'example.org', archiveId, includeDatabase: null }],
    ['site.archive', { domain: 'example.org', archiveId, includeDatabase: { database: 'd' } }],
    [
      'site.extract',
      { domain: 'example.org', archiveId, importDatabase: null, targetDomain: 'clone.example.org' },
    ],
    ['site.remove', { domain: 'example.org' }],
    [
      'php.write-pool',
      { domain: 'example.org', user: 's_example', uid: 20001, settings: { memory_limit: '512M' } },
    ],
    ['php.write-pool', { domain: 'example.org', user: 's-1', uid: 1000, settings: {} }],
    ['php.remove-pool', { domain: 'example.org' }],
    [
      'http.write-vhost',
      { domain: 'example.org', platform: 'p1', disabled: true, redirectFrom: ['www.example.org'] },
    ],
    ['http.remove-vhost', { domain: 'example.org' }],
    ['platform.scan', { platform: 'p1' }],
    [
      'probe.http',
      { domain: 'example.org', path: '/user/login?x=1', expectStatus: [200, 403], expectText: 'Log in' },
    ],
    [
      'app.install',
      {
        domain: 'example.org',
        platform: 'p1',
        profile: 'standard',
        siteName: 'Ünïcode site',
        locale: 'pt-br',
      },
    ],
    ['app.maintenance', { domain: 'example.org', platform: 'p1', on: false }],
    ['app.readonly', { domain: 'example.org', platform: 'p1', on: true }],
    ['app.login-link', { domain: 'example.org', platform: 'p1', name: 'admin' }],
    ['app.update', { domain: 'example.org', platform: 'p1' }],
  ])('%s takes %j', (step, params) => {
    expect(check(step, params)).toBe(true);
  });

  it.each([
    [
      'db.create',
      { database: 'site-1', user: 'u', host: '%' },
      /database "site-1" is not a valid database name/,
    ],
    ['db.create', { database: 'd', user: 'u', host: "%' OR 1" }, /host/],
    ['db.create', { database: 'd', user: 'u', host: '%', password: 'x' }, /unknown parameter "password"/],
    ['db.dump', { database: 'd', archiveId: 'ABC' }, /archiveId must be a lowercase UUID/],
    ['http.commit-vhost', { domain: '../etc' }, /domain/],
    ['http.prepare-vhost', { domain: 'example.org', platform: '../p1' }, /platform/],
    ['http.discard-vhost', { domain: 'example.org', platform: 'p1' }, /unknown parameter "platform"/],
    ['site.archive', { domain: 'example.org', archiveId }, /includeDatabase.*required \(null for none\)/],
    [
      'site.archive',
      { domain: 'example.org', archiveId, includeDatabase: 'd' },
      /includeDatabase must be null or/,
    ],
    [
      'site.archive',
      { domain: 'example.org', archiveId, includeDatabase: { database: 'D' } },
      /includeDatabase.database/,
    ],
    [
      'site.extract',
      { domain: 'example.org', archiveId, importDatabase: null, targetDomain: '../x' },
      /targetDomain/,
    ],
    ['site.link', { domain: 'example.org', platform: '../p' }, /platform/],
    ['site.link', { domain: 'Example.org', platform: 'p' }, /lowercase/],
    ['site.remove', { domain: 'a/b' }, /not a valid DNS name/],
    [
      'php.write-pool',
      { domain: 'example.org', user: 'root', uid: 2000, settings: {} },
      /never runs as root/,
    ],
    [
      'php.write-pool',
      { domain: 'example.org', user: 'Site', uid: 2000, settings: {} },
      /user "Site" must be/,
    ],
    [
      'php.write-pool',
      { domain: 'example.org', user: 's', uid: 999, settings: {} },
      /uid must be between 1000/,
    ],
    ['php.write-pool', { domain: 'example.org', user: 's', uid: 2000 }, /"settings" is required/],
    [
      'php.write-pool',
      { domain: 'example.org', user: 's', uid: 2000, settings: { 'pm.max_children': 500 } },
      /pm\.max_children must be a whole number from 1 to 200/,
    ],
    ['php.remove-pool', { domain: 'example.org', user: 's' }, /unknown parameter "user"/],
    ['site.write-settings', { domain: 'example.org' }, /required/],
    [
      'http.write-vhost',
      { domain: 'example.org', platform: 'p1', disabled: 'yes' },
      /disabled must be true or false/,
    ],
    [
      'http.write-vhost',
      { domain: 'example.org', platform: 'p1', redirectFrom: 'www.example.org' },
      /must be a list/,
    ],
    ['probe.http', { domain: 'example.org', path: '//evil\n' }, /path must start with/],
    ['probe.http', { domain: 'example.org', timeoutMs: 0 }, /timeoutMs must be between/],
    ['app.install', { domain: 'example.org', platform: 'p1' }, /profile/],
    [
      'app.install',
      { domain: 'example.org', platform: 'p1', profile: 'standard', locale: 'en_US' },
      /locale/,
    ],
    ['app.maintenance', { domain: 'example.org', platform: 'p1', on: 1 }, /on must be true or false/],
    ['app.login-link', { domain: 'example.org', platform: 'p1', uid: 0 }, /uid must be between/],
  ])('%s refuses %j', (step, params, message) => {
    expect(check(step, params)).toMatch(message);
  });
});
