import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import {
  must,
  validateHostname,
  validateSiteDomain,
  ValidationError,
} from '../../../../shared/src/validation.js';
import { pathKind } from '../../adapters/files.js';

/** A site's domain (validateSiteDomain): never a name Drupal's sites/ directory keeps for itself. */
export function domainValue(field: string, value: unknown): string {
  return must(validateSiteDomain(field, value));
}

/** A trusted host: a domain, or `*.` and a domain for any of its subdomains. */
export function trustedHostValue(field: string, value: unknown): string {
  if (typeof value === 'string' && value.startsWith('*.')) {
    return `*.${must(validateHostname(field, value.slice(2)))}`;
  }
  return must(validateHostname(field, value));
}

const ipv4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const ipv6 = /^[0-9a-f:]+$/;

/** A database server address: a DNS name, an IPv4 or an IPv6 address. */
export function dbHostValue(field: string, value: unknown): string {
  if (typeof value === 'string' && (ipv4.test(value) || (value.includes(':') && ipv6.test(value))))
    return value;
  const name = validateHostname(field, value);
  if (!name.ok) {
    throw new ValidationError({ field, message: `${field} must be a host name or an IP address` });
  }
  return name.value;
}

export async function requireDirectory(path: string, what: string): Promise<void> {
  const kind = await pathKind(path);
  if (kind === 'directory') return;
  throw new StepError({
    code: StepErrorCode.NotFound,
    message: kind === 'missing' ? `${what} ${path} does not exist` : `${what} ${path} is not a directory`,
    retryable: false,
  });
}
