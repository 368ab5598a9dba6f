import {
  must,
  validateAbsolutePath,
  validateDatabaseName,
  validateHostname,
  ValidationError,
} from './validation.js';

/**
 * The nginx server block of one Drupal site, as Berth writes it to `<root>/config/nginx/<domain>.conf`.
 *
 * The rules follow nginx.org's Drupal recipe and Drupal's own `.htaccess`: only `index.php` runs as
 * PHP, everything else is a static file or Drupal's front controller (`try_files $uri
 * /index.php?$query_string`); hidden files, private files, PHP in the files directory, Composer's
 * files, `vendor/` and Drupal's code files (`.inc`, `.install`, `.yml`, ...) are refused. A site
 * serves only its own files directory, and never through a symlink below its site directory.
 *
 * PHP gets `$realpath_root` (the docroot with symlinks resolved) as SCRIPT_FILENAME and DOCUMENT_ROOT,
 * so when a platform path is re-pointed, a graceful reload is enough: new requests resolve the new
 * target and PHP's realpath and opcache caches are keyed by the real path, not the old symlink.
 *
 * Every input is validated before it is written into the file, with the shared validators: a DNS name
 * and absolute paths of `[A-Za-z0-9._/-]` only, so no input can close a directive or a block.
 */
export interface DrupalVhostOptions {
  /** The site's domain, the `server_name`. */
  domain: string;
  /** Absolute path of the platform's docroot (its `web/` directory for Composer layouts). */
  docroot: string;
  /** Absolute path of the PHP-FPM pool's unix socket. */
  phpFpmSocket: string;
  /** A port (`80`), or an address and port (`127.0.0.1:8080`, `[::1]:8080`, `*:80`). */
  listen: number | string;
  /**
   * Serve the "site disabled" page instead of Drupal. It answers 503 Service Unavailable: the site
   * exists and is expected back (enable restores it), so crawlers keep its pages instead of indexing
   * the notice as its content (a 200 would), and monitors and Berth's HTTP probe see it is not serving.
   */
  disabled?: boolean;
  /**
   * The site moved to another server (ADDRESS:PORT, e.g. `10.0.0.12:80`, `[fd00::12]:80`): this
   * server answers its requests by passing them there, Host header kept, so that a visitor whose
   * DNS still names this server is served, never sent a 404, until the site is released from it.
   */
  proxyTo?: string;
  /** Other names that answer with a permanent redirect to `domain` (for example `www.` names). */
  redirectFrom?: string[];
  /** Other names the site serves itself, beside `domain` (its aliases). */
  aliases?: string[];
  /**
   * Where ACME HTTP-01 challenges are answered from: `<acmeRoot>/.well-known/acme-challenge/<token>`,
   * on plain HTTP under every name of the site (a CA validates there, before any certificate).
   */
  acmeRoot?: string;
  /** HTTPS with this certificate and key, on `listen` (443 or ADDRESS:443). */
  tls?: VhostTls;
  /** Largest request body (uploads), in megabytes. Default 64, Drupal's usual upload limit. */
  maxBodyMegabytes?: number;
  /**
   * The database PHP is told to use (`fastcgi_param BERTH_DATABASE`), which the site's settings.php
   * takes over its credentials' (drupal-settings.ts): a blue-green switch moves code and database in
   * the same reload, whatever PHP's opcache still holds of the credentials file.
   */
  database?: string;
  /**
   * This server's credentials file of the site (fastcgi_param BERTH_CREDENTIALS): a cluster's heads
   * share the site directory and its settings.php, not their configuration directories.
   */
  credentials?: string;
}

export interface VhostTls {
  /** The port (or ADDRESS:PORT) HTTPS listens on. */
  listen: number | string;
  /** The certificate chain, leaf first (PEM). */
  certificate: string;
  /** Its private key (PEM), readable by nginx's master (root) only. */
  key: string;
  /** Plain HTTP answered with a 301 to https:// (ACME challenges still served over HTTP). */
  redirect: boolean;
  /** Strict-Transport-Security for a year on HTTPS answers. */
  hsts: boolean;
}

/** Renders the server block(s) for one site; throws a ValidationError for any unsafe input. */
export function renderDrupalVhost(options: DrupalVhostOptions): string {
  const domain = must(validateHostname('domain', options.domain));
  const docroot = must(validateAbsolutePath('docroot', options.docroot));
  const socket = must(validateAbsolutePath('phpFpmSocket', options.phpFpmSocket));
  const listen = validateListen(options.listen);
  const aliases = validateNames('aliases', domain, options.aliases ?? []);
  const redirectFrom = validateNames('redirectFrom', domain, options.redirectFrom ?? []);
  const taken = aliases.find((name) => redirectFrom.includes(name));
  if (taken)
    throw new ValidationError({
      field: 'aliases',
      message: `${taken} is both served and redirected: a name is one or the other`,
    });
  const acmeRoot =
    options.acmeRoot === undefined ? undefined : must(validateAbsolutePath('acmeRoot', options.acmeRoot));
  const tls = options.tls === undefined ? undefined : validateTls(options.tls);
  const edge: Edge = { names: [domain, ...aliases], listen, acme: acmeLocation(acmeRoot), tls };
  const maxBody = validateMaxBody(options.maxBodyMegabytes ?? 64);
  const database =
    options.database === undefined ? undefined : must(validateDatabaseName('database', options.database));
  const credentials =
    options.credentials === undefined
      ? undefined
      : must(validateAbsolutePath('credentials', options.credentials));

  const blocks: string[] = [];
  if (redirectFrom.length > 0) {
    blocks.push(
      [
        `# Other names of ${domain}: a permanent redirect to the site's own name.`,
        'server {',
        ...listenLines(edge, 'both'),
        `    server_name ${redirectFrom.join(' ')};`,
        ...edge.acme,
        '    location / {',
        `        return 301 ${tls ? 'https' : '$scheme'}://${domain}$request_uri;`,
        '    }',
        '}',
      ].join('\n'),
    );
  }
  if (tls?.redirect) {
    blocks.push(
      [
        `# ${domain} over plain HTTP: a permanent redirect to HTTPS, ACME challenges excepted.`,
        'server {',
        `    listen ${listen};`,
        `    server_name ${edge.names.join(' ')};`,
        ...edge.acme,
        '    location / {',
        '        return 301 https://$host$request_uri;',
        '    }',
        '}',
      ].join('\n'),
    );
  }
  const proxyTo = options.proxyTo === undefined ? undefined : validateProxyTarget(options.proxyTo);
  blocks.push(
    options.disabled
      ? disabledServer(domain, edge)
      : proxyTo
        ? proxyServer(domain, edge, proxyTo, maxBody)
        : drupalServer(domain, docroot, socket, edge, maxBody, database, credentials),
  );
  return `# Written by Berth for ${domain}. Do not edit: Berth rewrites this file.\n${blocks.join('\n\n')}\n`;
}

/** What every server block of a site shares: its names, where it listens, ACME, TLS. */
interface Edge {
  /** The domain first, then the names it serves. */
  names: string[];
  /** Plain HTTP's listen. */
  listen: string;
  /** The ACME challenge location's lines (none without an acmeRoot). */
  acme: string[];
  tls: ValidTls | undefined;
}

type ValidTls = Omit<VhostTls, 'listen'> & { listen: string };

/**
 * The listen lines of the site's own block: HTTP and HTTPS ('both'), or HTTPS alone when plain
 * HTTP has a block of its own (the redirect to HTTPS).
 */
function listenLines(edge: Edge, which: 'both' | 'site'): string[] {
  const lines: string[] = [];
  if (!edge.tls || which === 'both' || !edge.tls.redirect) lines.push(`    listen ${edge.listen};`);
  if (edge.tls) {
    lines.push(
      `    listen ${edge.tls.listen} ssl;`,
      `    ssl_certificate ${edge.tls.certificate};`,
      `    ssl_certificate_key ${edge.tls.key};`,
      '    ssl_protocols TLSv1.2 TLSv1.3;',
      '    ssl_session_timeout 1d;',
    );
    if (edge.tls.hsts) lines.push('    add_header Strict-Transport-Security "max-age=31536000" always;');
  }
  return lines;
}

function acmeLocation(acmeRoot: string | undefined): string[] {
  if (!acmeRoot) return [];
  return [
    '    # ACME HTTP-01 challenges (certificates for this site), as plain files, on every name.',
    '    location ^~ /.well-known/acme-challenge/ {',
    `        root ${acmeRoot};`,
    '        default_type text/plain;',
    '        try_files $uri =404;',
    '    }',
  ];
}

function drupalServer(
  domain: string,
  docroot: string,
  socket: string,
  edge: Edge,
  maxBody: number,
  database: string | undefined,
  credentials: string | undefined,
): string {
  // A validated DNS name: only its dots are special in a regex.
  const ownSite = domain.replaceAll('.', '\\.');
  return `server {
${listenLines(edge, 'site').join('\n')}
    server_name ${edge.names.join(' ')};
    root ${docroot};
    index index.php;
    client_max_body_size ${maxBody}m;

    location = /favicon.ico {
        log_not_found off;
        access_log off;
    }

    location = /robots.txt {
        log_not_found off;
        access_log off;
    }

${edge.acme.length > 0 && !edge.tls?.redirect ? `${edge.acme.join('\n')}\n\n` : ''}    # RFC 8615 well-known URIs: static files only.
    location ^~ /.well-known/ {
        try_files $uri =404;
    }

    # Hidden files and directories (.git, .env, .htaccess, ...).
    location ~ (^|/)\\. {
        return 403;
    }

    # Code outside the docroot in Composer layouts, should a build copy it in, and Composer's files.
    location ~ ^/vendor/ {
        return 404;
    }
    location ~ (^|/)(composer\\.(json|lock)|package\\.json|web\\.config)$ {
        return 404;
    }

    # Private files and PHP in the public files directory.
    location ~ ^/sites/[^/]+/private/ {
        return 403;
    }
    location ~ ^/sites/[^/]+/files/.*\\.php$ {
        return 403;
    }

    # Drupal's code and configuration files, as its .htaccess refuses them.
    location ~* \\.(engine|inc|install|make|module|profile|po|sh|.*sql|theme|twig|tpl(\\.php)?|xtmpl|yml|yaml)(~|\\.sw[op]|\\.bak|\\.orig|\\.save)?$ {
        return 404;
    }

    # The site's own public files (image styles are generated by Drupal on first request), never
    # through a symlink below its directory: a link there, made by a restore or by the site's own
    # PHP, could point into another site's private files.
    location ~ ^/sites/${ownSite}/files/ {
        disable_symlinks on from=$document_root/sites/${domain};
        try_files $uri /index.php?$query_string;
    }

    # Other sites' directories are theirs to serve, under their own names.
    location ~ ^/sites/[^/]+/files/ {
        return 404;
    }

    location / {
        try_files $uri /index.php?$query_string;
    }

    # The front controller is the only PHP that runs.
    location = /index.php {
        fastcgi_split_path_info ^(.+?\\.php)(|/.*)$;
        include fastcgi_params;
        fastcgi_param HTTP_PROXY "";
        fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;
        fastcgi_param DOCUMENT_ROOT $realpath_root;
        fastcgi_param PATH_INFO $fastcgi_path_info;
        fastcgi_param QUERY_STRING $query_string;${
          credentials
            ? `
        fastcgi_param BERTH_CREDENTIALS ${credentials};`
            : ''
        }${
          database
            ? `
        fastcgi_param BERTH_DATABASE ${database};`
            : ''
        }
        fastcgi_read_timeout 300s;
        fastcgi_pass unix:${socket};
    }

    # Any other PHP file (update.php, core/install.php, a stray script) is never executed.
    location ~ \\.php(/|$) {
        return 404;
    }
}`;
}

function proxyServer(domain: string, edge: Edge, target: string, maxBody: number): string {
  return `# ${domain} lives on ${target} now: its requests are passed there until it is released from here.
server {
${listenLines(edge, 'site').join('\n')}
    server_name ${edge.names.join(' ')};
    client_max_body_size ${maxBody}m;

    location / {
        proxy_pass http://${target};
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 300s;
        proxy_request_buffering off;
    }
}`;
}

const proxyTargetPattern = /^(?:(?:\d{1,3}\.){3}\d{1,3}|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/;

/** ADDRESS:PORT of another server: an IPv4 address or a bracketed IPv6 one, and a port. */
export function validateProxyTarget(input: unknown): string {
  const match = typeof input === 'string' ? proxyTargetPattern.exec(input) : null;
  const port = match ? Number(match[1]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new ValidationError({
      field: 'proxyTo',
      message: `proxyTo must be ADDRESS:PORT of a server (10.0.0.12:80, [fd00::12]:80), not ${JSON.stringify(input)}`,
    });
  }
  return input as string;
}

function disabledServer(domain: string, edge: Edge): string {
  // The domain is a validated DNS name (letters, digits, dots, hyphens): safe inside the quoted text.
  const page =
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Site disabled</title></head>' +
    `<body><h1>This site is disabled</h1><p>${domain} is not available at the moment.</p></body></html>`;
  return `server {
${listenLines(edge, 'site').join('\n')}
    server_name ${edge.names.join(' ')};
${edge.acme.length > 0 && !edge.tls?.redirect ? `${edge.acme.join('\n')}\n` : ''}
    location / {
        default_type text/html;
        add_header Cache-Control "no-store" always;
        return 503 '${page}';
    }
}`;
}

const ipv4 = '(?:\\d{1,3}\\.){3}\\d{1,3}';
const ipv6 = '\\[[0-9a-fA-F:.]+\\]';
const listenPattern = new RegExp(`^(?:(?:${ipv4}|${ipv6}|\\*|localhost):)?(\\d{1,5})$`);

function validateListen(input: unknown): string {
  const text = typeof input === 'number' ? String(input) : input;
  const match = typeof text === 'string' ? listenPattern.exec(text) : null;
  const port = match ? Number(match[1]) : NaN;
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError({
      field: 'listen',
      message: `listen must be a port (1-65535) or address:port such as 127.0.0.1:8080, not ${JSON.stringify(input)}`,
    });
  }
  return text as string;
}

function validateNames(field: 'aliases' | 'redirectFrom', domain: string, names: unknown): string[] {
  if (!Array.isArray(names)) {
    throw new ValidationError({ field, message: `${field} must be a list of domains` });
  }
  const seen = new Set<string>();
  for (const [index, name] of names.entries()) {
    const value = must(validateHostname(`${field}[${index}]`, name));
    if (value === domain) {
      throw new ValidationError({
        field: `${field}[${index}]`,
        message: `${field}[${index}] is the site's own domain ${domain}: it is not another name of it`,
      });
    }
    seen.add(value);
  }
  return [...seen];
}

function validateTls(input: VhostTls): ValidTls {
  return {
    listen: validateListen(input.listen),
    certificate: must(validateAbsolutePath('tls.certificate', input.certificate)),
    key: must(validateAbsolutePath('tls.key', input.key)),
    redirect: input.redirect === true,
    hsts: input.hsts === true,
  };
}

function validateMaxBody(megabytes: unknown): number {
  if (typeof megabytes !== 'number' || !Number.isInteger(megabytes) || megabytes < 1 || megabytes > 10_240) {
    throw new ValidationError({
      field: 'maxBodyMegabytes',
      message: `maxBodyMegabytes must be a whole number from 1 to 10240, not ${JSON.stringify(megabytes)}`,
    });
  }
  return megabytes;
}
