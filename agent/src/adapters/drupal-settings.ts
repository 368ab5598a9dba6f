/**
 * The text of a Berth site's settings.php and credentials.php: pure functions, so that escaping
 * and the trusted host patterns are tested without files.
 */

/** A PHP single-quoted string literal: only `\` and `'` are special inside one. */
export function phpString(value: string): string {
  return `'${value.replace(/[\\']/g, (character) => `\\${character}`)}'`;
}

/**
 * A trusted_host_patterns entry: the whole host, anchored, every regex metacharacter escaped;
 * `*.example.com` allows any subdomain of example.com (not example.com itself).
 */
export function trustedHostPattern(host: string): string {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, (character) => `\\${character}`);
  if (host.startsWith('*.')) return `^.+\\.${escape(host.slice(2))}$`;
  return `^${escape(host)}$`;
}

export interface SettingsInput {
  domain: string;
  /** `<root>/sites/<domain>`. */
  siteDir: string;
  credentialsPath: string;
  hashSalt: string;
  trustedHosts: readonly string[];
}

export function renderSettingsPhp(input: SettingsInput): string {
  const patterns = input.trustedHosts.map((host) => `  ${phpString(trustedHostPattern(host))},`);
  return `<?php

/**
 * @file
 * Settings of ${input.domain}, written by Berth (site.write-settings), which rewrites this file:
 * local changes are lost. The database credentials are not here but in a file outside the site
 * directory, so that backups of the site directory never hold them.
 */

// Each server of a cluster keeps its own credentials (this file is shared between them): its nginx
// names them (fastcgi_param BERTH_CREDENTIALS), and drush, on the server that wrote this, uses these.
$berth_credentials = ${phpString(input.credentialsPath)};
if (PHP_SAPI !== 'cli' && isset($_SERVER['BERTH_CREDENTIALS']) && preg_match('{^(/[A-Za-z0-9_][A-Za-z0-9._-]*)+/credentials\\.php$}', $_SERVER['BERTH_CREDENTIALS'])) {
  $berth_credentials = $_SERVER['BERTH_CREDENTIALS'];
}
require $berth_credentials;
// A blue-green switch names the site's new database in its vhost (fastcgi_param BERTH_DATABASE)
// while these credentials may still name the old one: one nginx reload switches code and database.
// Only nginx sets it (a request header would be HTTP_BERTH_DATABASE); drush never has it.
if (PHP_SAPI !== 'cli' && isset($_SERVER['BERTH_DATABASE']) && preg_match('/^[a-z0-9_]{1,64}$/', $_SERVER['BERTH_DATABASE'])) {
  $databases['default']['default']['database'] = $_SERVER['BERTH_DATABASE'];
}

$settings['hash_salt'] = ${phpString(input.hashSalt)};
$settings['file_public_path'] = ${phpString(`sites/${input.domain}/files`)};
$settings['file_private_path'] = ${phpString(`${input.siteDir}/private`)};
// A site repository's config/sync when it has one (its config travels with its code), else private/'s.
$settings['config_sync_directory'] = is_dir(${phpString(`${input.siteDir}/config/sync`)})
  ? ${phpString(`${input.siteDir}/config/sync`)}
  : ${phpString(`${input.siteDir}/private/config/sync`)};
$settings['trusted_host_patterns'] = [
${patterns.join('\n')}
];
$settings['update_free_access'] = FALSE;
$settings['allow_authorize_operations'] = FALSE;
`;
}

export interface CredentialsInput {
  domain: string;
  database: string;
  user: string;
  password: string;
  host: string;
  port: number;
}

export function renderCredentialsPhp(input: CredentialsInput): string {
  return `<?php

/**
 * @file
 * Database credentials of ${input.domain}, written by Berth (site.write-settings) and required by
 * the site's settings.php. Kept out of the site directory: never part of a backup.
 */

$databases['default']['default'] = [
  'driver' => 'mysql',
  'database' => ${phpString(input.database)},
  'username' => ${phpString(input.user)},
  'password' => ${phpString(input.password)},
  'host' => ${phpString(input.host)},
  'port' => ${phpString(String(input.port))},
  'prefix' => '',
  'collation' => 'utf8mb4_general_ci',
];
`;
}

/** The hash salt of an existing settings.php written by Berth, if it has one. */
export function readHashSalt(settingsPhp: string): string | undefined {
  const match = /^\$settings\['hash_salt'\] = '([A-Za-z0-9_-]+)';$/m.exec(settingsPhp);
  return match?.[1];
}
