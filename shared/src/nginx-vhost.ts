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
  /** Largest request body (uploads), in megabytes. Default 64, Drupal's usual upload limit. */
  maxBodyMegabytes?: number;
  /**
   * The database PHP is told to use (`fastcgi_param BERTH_DATABASE`), which the site's settings.php
   * takes over its credentials' (drupal-settings.ts): a blue-green switch moves code and database in
   * the same reload, whatever PHP's opcache still holds of the credentials file.
   */
  database?: string;
}

/** Renders the server block(s) for one site; throws a ValidationError for any unsafe input. */
export function renderDrupalVhost(options: DrupalVhostOptions): string {
  const domain = must(validateHostname('domain', options.domain));
  const docroot = must(validateAbsolutePath('docroot', options.docroot));
  const socket = must(validateAbsolutePath('phpFpmSocket', options.phpFpmSocket));
  const listen = validateListen(options.listen);
  const redirectFrom = validateRedirects(domain, options.redirectFrom ?? []);
  const maxBody = validateMaxBody(options.maxBodyMegabytes ?? 64);
  const database =
    options.database === undefined ? undefined : must(validateDatabaseName('database', options.database));

  const blocks: string[] = [];
  if (redirectFrom.length > 0) {
    blocks.push(
      [
        `# Other names of ${domain}: a permanent redirect to the site's own name.`,
        'server {',
        `    listen ${listen};`,
        `    server_name ${redirectFrom.join(' ')};`,
        `    return 301 $scheme://${domain}$request_uri;`,
        '}',
      ].join('\n'),
    );
  }
  const proxyTo = options.proxyTo === undefined ? undefined : validateProxyTarget(options.proxyTo);
  blocks.push(
    options.disabled
      ? disabledServer(domain, listen)
      : proxyTo
        ? proxyServer(domain, listen, proxyTo, maxBody)
        : drupalServer(domain, docroot, socket, listen, maxBody, database),
  );
  return `# Written by Berth for ${domain}. Do not edit: Berth rewrites this file.\n${blocks.join('\n\n')}\n`;
}

function drupalServer(
  domain: string,
  docroot: string,
  socket: string,
  listen: string,
  maxBody: number,
  database: string | undefined,
): string {
  // A validated DNS name: only its dots are special in a regex.
  const ownSite = domain.replaceAll('.', '\\.');
  return `server {
    listen ${listen};
    server_name ${domain};
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

    # RFC 8615 well-known URIs (ACME challenges): static files only.
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

function proxyServer(domain: string, listen: string, target: string, maxBody: number): string {
  return `# ${domain} lives on ${target} now: its requests are passed there until it is released from here.
server {
    listen ${listen};
    server_name ${domain};
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

function disabledServer(domain: string, listen: string): string {
  // The domain is a validated DNS name (letters, digits, dots, hyphens): safe inside the quoted text.
  const page =
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Site disabled</title></head>' +
    `<body><h1>This site is disabled</h1><p>${domain} is not available at the moment.</p></body></html>`;
  return `server {
    listen ${listen};
    server_name ${domain};

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

function validateRedirects(domain: string, names: unknown): string[] {
  if (!Array.isArray(names)) {
    throw new ValidationError({ field: 'redirectFrom', message: 'redirectFrom must be a list of domains' });
  }
  const seen = new Set<string>();
  for (const [index, name] of names.entries()) {
    const value = must(validateHostname(`redirectFrom[${index}]`, name));
    if (value === domain) {
      throw new ValidationError({
        field: `redirectFrom[${index}]`,
        message: `redirectFrom[${index}] is the site's own domain ${domain}: it cannot redirect to itself`,
      });
    }
    seen.add(value);
  }
  return [...seen];
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
