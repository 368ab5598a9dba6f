import { describe, expect, it } from 'vitest';
import { renderDrupalVhost, type DrupalVhostOptions } from './nginx-vhost.js';
import { ValidationError } from './validation.js';

function options(overrides: Partial<DrupalVhostOptions> = {}): DrupalVhostOptions {
  return {
    domain: 'example.com',
    docroot: '/var/berth/platforms/drupal-10-2/web',
    phpFpmSocket: '/run/php/php8.2-fpm.sock',
    listen: 80,
    ...overrides,
  };
}

describe('renderDrupalVhost', () => {
  it('serves Drupal through index.php with the real path of the docroot', () => {
    const conf = renderDrupalVhost(options());
    expect(conf).toContain('listen 80;');
    expect(conf).toContain('server_name example.com;');
    expect(conf).toContain('root /var/berth/platforms/drupal-10-2/web;');
    expect(conf).toContain('try_files $uri /index.php?$query_string;');
    expect(conf).toContain('location = /index.php {');
    expect(conf).toContain('fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;');
    expect(conf).toContain('fastcgi_param DOCUMENT_ROOT $realpath_root;');
    expect(conf).toContain('fastcgi_pass unix:/run/php/php8.2-fpm.sock;');
    expect(conf).toContain('client_max_body_size 64m;');
  });

  it('refuses hidden files, private files, PHP other than index.php, vendor and Composer files', () => {
    const conf = renderDrupalVhost(options());
    expect(conf).toContain('location ~ (^|/)\\. {');
    expect(conf).toContain('location ~ ^/sites/[^/]+/private/ {');
    expect(conf).toContain('location ~ ^/sites/[^/]+/files/.*\\.php$ {');
    expect(conf).toContain('location ~ ^/vendor/ {');
    expect(conf).toMatch(/composer\\\.\(json\|lock\)/);
    expect(conf).toContain('location ~ \\.php(/|$) {');
    // The PHP catch-all comes last among the regex locations, after the narrower refusals.
    expect(conf.indexOf('location ~ \\.php(/|$)')).toBeGreaterThan(conf.indexOf('files/.*\\.php$'));
  });

  it("serves only the site's own files directory, and never through a symlink below its site directory", () => {
    const conf = renderDrupalVhost(options());
    const own = conf.indexOf('location ~ ^/sites/example\\.com/files/ {');
    const others = conf.indexOf('location ~ ^/sites/[^/]+/files/ {');
    expect(own).toBeGreaterThan(0);
    expect(conf).toContain('disable_symlinks on from=$document_root/sites/example.com;');
    // Regex locations match in order: the site's own first, then every other site's refused; the
    // refusals of private files and PHP in files come before both.
    expect(others).toBeGreaterThan(own);
    expect(own).toBeGreaterThan(conf.indexOf('location ~ ^/sites/[^/]+/private/ {'));
    expect(own).toBeGreaterThan(conf.indexOf('files/.*\\.php$'));
  });

  it('accepts an address and port and a larger body limit', () => {
    const conf = renderDrupalVhost(options({ listen: '127.0.0.1:8080', maxBodyMegabytes: 256 }));
    expect(conf).toContain('listen 127.0.0.1:8080;');
    expect(conf).toContain('client_max_body_size 256m;');
    expect(renderDrupalVhost(options({ listen: '[::1]:8443' }))).toContain('listen [::1]:8443;');
  });

  it('normalises a trailing slash on the docroot', () => {
    expect(renderDrupalVhost(options({ docroot: '/srv/p/web/' }))).toContain('root /srv/p/web;');
  });

  it('renders the disabled site as a static 503 page with no PHP', () => {
    const conf = renderDrupalVhost(options({ disabled: true }));
    expect(conf).toContain('server_name example.com;');
    expect(conf).toContain('return 503 ');
    expect(conf).toContain('This site is disabled');
    expect(conf).not.toContain('fastcgi_pass');
    expect(conf).not.toContain('root ');
  });

  it('redirects other names to the domain in a server of their own', () => {
    const conf = renderDrupalVhost(options({ redirectFrom: ['www.example.com', 'old.example.org'] }));
    expect(conf).toContain('server_name www.example.com old.example.org;');
    expect(conf).toContain('return 301 $scheme://example.com$request_uri;');
    expect(conf.match(/^server \{/gm)).toHaveLength(2);
  });

  it('keeps the redirects when the site is disabled', () => {
    const conf = renderDrupalVhost(options({ disabled: true, redirectFrom: ['www.example.com'] }));
    expect(conf).toContain('return 301 $scheme://example.com$request_uri;');
    expect(conf).toContain('return 503 ');
  });

  it('serves its aliases under the same server block, and answers ACME challenges on every name', () => {
    const conf = renderDrupalVhost(
      options({
        aliases: ['www.example.com'],
        redirectFrom: ['old.example.org'],
        acmeRoot: '/var/berth/config/acme/example.com',
      }),
    );
    expect(conf).toContain('server_name example.com www.example.com;');
    expect(conf).toContain('server_name old.example.org;');
    // The challenge location in the redirect's block and the site's: before any certificate.
    expect(conf.match(/location \^~ \/\.well-known\/acme-challenge\/ \{/g)).toHaveLength(2);
    expect(conf).toContain('root /var/berth/config/acme/example.com;');
    expect(conf).not.toContain('ssl_certificate');
  });

  it('refuses a name that is both served and redirected, or that is the domain itself', () => {
    expect(() =>
      renderDrupalVhost(options({ aliases: ['a.example.com'], redirectFrom: ['a.example.com'] })),
    ).toThrow(/both served and redirected/);
    expect(() => renderDrupalVhost(options({ aliases: ['example.com'] }))).toThrow(/own domain/);
    expect(() => renderDrupalVhost(options({ aliases: ['www.example.com;'] }))).toThrow(ValidationError);
  });

  it('serves HTTPS with the certificate beside plain HTTP, or redirects plain HTTP there', () => {
    const tls = {
      listen: '10.0.0.5:443',
      certificate: '/var/berth/config/tls/example.com/fullchain.pem',
      key: '/var/berth/config/tls/example.com/privkey.pem',
      redirect: false,
      hsts: false,
    };
    const both = renderDrupalVhost(options({ tls, acmeRoot: '/var/berth/config/acme/example.com' }));
    expect(both).toContain('listen 80;');
    expect(both).toContain('listen 10.0.0.5:443 ssl;');
    expect(both).toContain('ssl_certificate /var/berth/config/tls/example.com/fullchain.pem;');
    expect(both).toContain('ssl_certificate_key /var/berth/config/tls/example.com/privkey.pem;');
    expect(both).not.toContain('Strict-Transport-Security');
    expect(both.match(/^server \{/gm)).toHaveLength(1);

    const redirected = renderDrupalVhost(
      options({
        tls: { ...tls, redirect: true, hsts: true },
        aliases: ['www.example.com'],
        redirectFrom: ['old.example.org'],
        acmeRoot: '/var/berth/config/acme/example.com',
      }),
    );
    // Plain HTTP: a block of its own that answers challenges and sends the rest to HTTPS.
    expect(redirected).toContain('return 301 https://$host$request_uri;');
    expect(redirected).toContain('return 301 https://example.com$request_uri;');
    expect(redirected).toContain('add_header Strict-Transport-Security "max-age=31536000" always;');
    const site = redirected.slice(redirected.lastIndexOf('server {'));
    expect(site).toContain('listen 10.0.0.5:443 ssl;');
    expect(site).not.toContain('listen 80;');
    expect(redirected.split('{').length).toBe(redirected.split('}').length);
  });

  it('balances its braces', () => {
    for (const conf of [
      renderDrupalVhost(options()),
      renderDrupalVhost(options({ disabled: true, redirectFrom: ['www.example.com'] })),
    ]) {
      expect(conf.split('{').length).toBe(conf.split('}').length);
    }
  });

  it("passes a moved site's requests to its new server, its Host kept, and serves nothing itself", () => {
    const conf = renderDrupalVhost(options({ proxyTo: '10.0.0.12:80' }));
    expect(conf).toContain('proxy_pass http://10.0.0.12:80;');
    expect(conf).toContain('proxy_set_header Host $host;');
    expect(conf).not.toContain('fastcgi_pass');
    expect(conf).not.toContain('root ');
  });

  it('tells PHP the database of a blue-green switch, and nothing of it otherwise', () => {
    expect(renderDrupalVhost(options({ database: 'a_example_5b5b5b5b' }))).toContain(
      'fastcgi_param BERTH_DATABASE a_example_5b5b5b5b;',
    );
    expect(renderDrupalVhost(options())).not.toContain('BERTH_DATABASE');
  });

  describe('refuses input that could inject nginx syntax', () => {
    it.each([
      ['domain', { domain: 'example.com; include /etc/passwd' }],
      ['domain', { domain: 'example.com\nserver {' }],
      ['domain', { domain: 'Example.com' }],
      ['domain', { domain: '' }],
      ['docroot', { docroot: '/srv/web; root /' }],
      ['docroot', { docroot: 'srv/web' }],
      ['docroot', { docroot: '/srv/../etc' }],
      ['docroot', { docroot: '/srv/web}' }],
      ['phpFpmSocket', { phpFpmSocket: '/run/php.sock;\nlocation' }],
      ['phpFpmSocket', { phpFpmSocket: '127.0.0.1:9000' }],
      ['listen', { listen: '80; server_name evil' }],
      ['listen', { listen: 0 }],
      ['listen', { listen: 70000 }],
      ['listen', { listen: 80.5 }],
      ['listen', { listen: 'example.com:80' }],
      ['redirectFrom[0]', { redirectFrom: ['www.example.com;'] }],
      ['redirectFrom[1]', { redirectFrom: ['www.example.com', 'example.com'] }],
      ['proxyTo', { proxyTo: '10.0.0.12:80; proxy_pass http://evil' }],
      ['proxyTo', { proxyTo: 'web2.example.com:80' }],
      ['proxyTo', { proxyTo: '10.0.0.12' }],
      ['database', { database: 'site; fastcgi_param X y' }],
      ['database', { database: 'Site' }],
      ['maxBodyMegabytes', { maxBodyMegabytes: 0 }],
      ['maxBodyMegabytes', { maxBodyMegabytes: 1.5 }],
    ] as const)('%s: %j', (field, overrides) => {
      let error: unknown;
      try {
        renderDrupalVhost(options(overrides as Partial<DrupalVhostOptions>));
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
    });
  });
});
