/**
 * Validation of every name that can reach SQL, a path, a command line or a config file. Both sides
 * use these: the master refuses bad input with a 4xx before anything is written, and the agent checks
 * again before it acts, because it must not trust anything that arrives over the wire.
 */

export interface ValidationFailure {
  field: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; failure: ValidationFailure };

const hostnameLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A DNS name (RFC 1123): lowercase labels of letters, digits and inner hyphens, at most 63
 * characters each and 253 in all. Used for site domains and server names, so it can safely become
 * a directory name, a vhost file name and a `server_name`.
 */
export function validateHostname(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || input.length === 0) {
    return fail(field, `${field} is required`);
  }
  if (input.length > 253) {
    return fail(field, `${field} is ${input.length} characters long; at most 253 are allowed`);
  }
  if (input !== input.toLowerCase()) {
    return fail(field, `${field} "${printable(input)}" must be lowercase`);
  }
  const labels = input.split('.');
  for (const label of labels) {
    if (!hostnameLabel.test(label)) {
      return fail(
        field,
        `${field} "${printable(input)}" is not a valid DNS name: use letters, digits, hyphens and dots ` +
          `(each part 1-63 characters, not starting or ending with a hyphen)`,
      );
    }
  }
  return { ok: true, value: input };
}

/**
 * Names Drupal's `sites/` directory uses for itself: a site by one of these names would be
 * installed into `sites/all`, or clash with `sites/default` or a file of core's.
 */
export const RESERVED_SITE_NAMES: ReadonlySet<string> = new Set([
  'default',
  'all',
  'simpletest',
  'sites.php',
  'example.sites.php',
  'default.settings.php',
  'default.services.yml',
  'development.services.yml',
  'example.settings.local.php',
  'example.settings.php',
  'settings.php',
  'settings.local.php',
  'services.yml',
]);

/**
 * A site's domain: a DNS name a person could type into a browser — at least two parts
 * (`example.com`, `demo.localhost`), the last one not all digits (no IP address and no `0`), and
 * not one of the names Drupal's sites/ directory keeps for itself. It names the site's directory,
 * its vhost file and its database, so it is checked before anything is written.
 */
export function validateSiteDomain(field: string, input: unknown): Validated<string> {
  const name = validateHostname(field, input);
  if (!name.ok) return name;
  const domain = name.value;
  if (RESERVED_SITE_NAMES.has(domain)) {
    return fail(
      field,
      `${field} "${domain}" is a name Drupal's sites/ directory uses for itself; choose another`,
    );
  }
  const labels = domain.split('.');
  if (labels.length < 2) {
    return fail(
      field,
      `${field} "${domain}" must have at least two parts, like example.com or ${domain}.localhost`,
    );
  }
  if (/^\d+$/.test(labels.at(-1)!)) {
    return fail(
      field,
      `${field} "${domain}" ends in a number: a site's domain is a name like example.com, not an address`,
    );
  }
  return name;
}

const simpleName = /^[a-z][a-z0-9_-]{0,62}$/;
const platformName = /^[a-z][a-z0-9._-]{0,62}$/;

/**
 * A platform's name: as validateName, and dots too, so a platform can be named after its build
 * (`drupal-10.2.0`, `d11.0.1-acme`) — never two dots in a row nor a dot at the end. It names the
 * platform's directory, `<root>/platforms/<name>`.
 */
export function validatePlatformName(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || input.length === 0) {
    return fail(field, `${field} is required`);
  }
  if (!platformName.test(input) || input.includes('..') || input.endsWith('.')) {
    return fail(
      field,
      `${field} "${printable(input)}" is not valid: use 1-63 lowercase letters, digits, ".", "-" or "_", ` +
        `starting with a letter, with no ".." and no "." at the end`,
    );
  }
  return { ok: true, value: input };
}

/** A short name for a platform, client, cluster or token: lowercase, starts with a letter, at most 63. */
export function validateName(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || input.length === 0) {
    return fail(field, `${field} is required`);
  }
  if (!simpleName.test(input)) {
    return fail(
      field,
      `${field} "${printable(input)}" is not valid: use 1-63 lowercase letters, digits, "-" or "_", ` +
        `starting with a letter`,
    );
  }
  return { ok: true, value: input };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(input: unknown): input is string {
  return typeof input === 'string' && uuidPattern.test(input);
}

/** An absolute, normalised path with no `..` parts and no characters that need quoting anywhere. */
export function validateAbsolutePath(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || input.length === 0) {
    return fail(field, `${field} is required`);
  }
  if (!input.startsWith('/')) {
    return fail(field, `${field} "${printable(input)}" must be an absolute path`);
  }
  if (!/^[A-Za-z0-9._/-]+$/.test(input) || input.split('/').some((part) => part === '..' || part === '.')) {
    return fail(
      field,
      `${field} "${printable(input)}" may hold only letters, digits, ".", "_", "-" and "/", with no "." or ".." parts`,
    );
  }
  if (input.length > 1024) {
    return fail(field, `${field} is longer than 1024 characters`);
  }
  return { ok: true, value: input.length > 1 ? input.replace(/\/+$/, '') : input };
}

const databaseNamePattern = /^[a-z][a-z0-9_]{0,63}$/;
const databaseUserPattern = /^[a-z][a-z0-9_]{0,31}$/;

/**
 * A MariaDB/MySQL database name: lowercase letters, digits and "_", starting with a letter, at most
 * 64 characters (the server's limit). Still quoted as an identifier wherever it is used, and its
 * "_" escaped where the server reads it as a pattern (GRANT ... ON `db`.*).
 */
export function validateDatabaseName(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || input.length === 0) return fail(field, `${field} is required`);
  if (!databaseNamePattern.test(input)) {
    return fail(
      field,
      `${field} "${printable(input)}" is not a valid database name: use 1-64 lowercase letters, digits ` +
        `or "_", starting with a letter`,
    );
  }
  return { ok: true, value: input };
}

/** A MariaDB/MySQL user name: as a database name, but at most 32 characters (the server's limit). */
export function validateDatabaseUser(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || input.length === 0) return fail(field, `${field} is required`);
  if (!databaseUserPattern.test(input)) {
    return fail(
      field,
      `${field} "${printable(input)}" is not a valid database user: use 1-32 lowercase letters, digits ` +
        `or "_", starting with a letter`,
    );
  }
  return { ok: true, value: input };
}

const grantHostPattern = /^[a-z0-9.%:_/-]{1,255}$/;

/**
 * The host part of a database account (`'user'@'<host>'`): `%`, `localhost`, an IPv4 or IPv6
 * address, a netmask (`10.0.0.0/255.255.255.0`), a DNS name, or a pattern with `%` and `_`.
 */
export function validateGrantHost(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || input.length === 0) return fail(field, `${field} is required`);
  if (!grantHostPattern.test(input)) {
    return fail(
      field,
      `${field} "${printable(input)}" is not a valid account host: use "%", "localhost", an IP address, ` +
        `a netmask or a lowercase host name (with "%" as a wildcard)`,
    );
  }
  return { ok: true, value: input };
}

/** Throws a ValidationError when a Validated result failed; for code paths that want an exception. */
export function must<T>(result: Validated<T>): T {
  if (!result.ok) {
    throw new ValidationError(result.failure);
  }
  return result.value;
}

export class ValidationError extends Error {
  readonly field: string;
  constructor(failure: ValidationFailure) {
    super(failure.message);
    this.name = 'ValidationError';
    this.field = failure.field;
  }
}

export function fail<T>(field: string, message: string): Validated<T> {
  return { ok: false, failure: { field, message } };
}

/** Makes untrusted input safe to echo in a message: control characters escaped, length capped. */
export function printable(input: string): string {
  const shown = input.length > 80 ? `${input.slice(0, 77)}...` : input;
  return JSON.stringify(shown).slice(1, -1);
}

/** Whether this runtime knows an IANA time zone name (Europe/Paris, UTC ...). */
export function isTimeZone(name: string): boolean {
  if (name.length === 0 || name.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
