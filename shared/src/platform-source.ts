/**
 * Where a platform's code comes from when Berth builds it: a git repository at a ref, or a
 * Composer project at a version. Validated the same way on the master (the API's 400s) and the
 * agent (a step's params): each value ends up as one argv element of git or composer, so it must
 * never read as an option, and nothing here lets a transport run a command (git's ext::, fd::).
 */
import { fail, printable, type Validated } from './validation.js';

export type PlatformSource =
  | { kind: 'git'; url: string; ref: string }
  | {
      kind: 'composer-project';
      /** vendor/name */
      package: string;
      /** A version or constraint: 10.3.1, ^10.3 ... */
      version: string;
      /** A Composer repository (http(s):// or file:// URL with a packages.json) instead of Packagist. */
      repository?: string;
    };

/** A git URL: https://, ssh://, scp-like user@host:path, file:// or an absolute path (a local repository). */
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+$/;
const ABSOLUTE = /^\/[A-Za-z0-9._~/-]*$/;
const URL_CHARS = /^[\x21-\x7e]+$/;

export function validateGitUrl(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || input.length === 0 || input.length > 500) {
    return fail(
      field,
      `${field} is required: the repository's URL (https://, ssh://, user@host:path or a path)`,
    );
  }
  if (!URL_CHARS.test(input) || input.startsWith('-')) {
    return fail(field, `${field} "${printable(input)}" is not a repository URL`);
  }
  if (SCP_LIKE.test(input) || (ABSOLUTE.test(input) && !input.includes('/../')))
    return { ok: true, value: input };
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail(field, `${field} "${printable(input)}" is not a repository URL`);
  }
  if (!['https:', 'ssh:', 'file:', 'git:'].includes(url.protocol)) {
    return fail(
      field,
      `${field} must be an https://, ssh://, git:// or file:// URL, user@host:path or a path`,
    );
  }
  if (url.password) {
    return fail(
      field,
      `${field} must not hold a password (it would show in logs and process lists): give a deploy key instead`,
    );
  }
  return { ok: true, value: input };
}

/** A branch, a tag or a commit: git's own rules for a ref name, and never an option. */
const REF = /^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$/;

export function validateGitRef(field: string, input: unknown): Validated<string> {
  if (
    typeof input !== 'string' ||
    !REF.test(input) ||
    input.includes('..') ||
    input.includes('//') ||
    input.endsWith('/') ||
    input.endsWith('.lock') ||
    input.endsWith('.')
  ) {
    return fail(field, `${field} "${printable(String(input))}" is not a branch, tag or commit`);
  }
  return { ok: true, value: input };
}

/** Composer's package name rule (vendor/name, lowercase). */
const PACKAGE = /^[a-z0-9]([_.-]?[a-z0-9]+)*\/[a-z0-9](([_.]?|-{0,2})[a-z0-9]+)*$/;
/** A version or constraint as people write them: 10.3.1, ^10.3, ~10.3.0, 10.3.x-dev, >=10 <11. */
const VERSION = /^[A-Za-z0-9^~*<>=!|., _-]{1,100}$/;

export function validateComposerProject(
  field: string,
  input: unknown,
): Validated<{ package: string; version: string }> {
  const text = typeof input === 'string' ? input : '';
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const version = colon < 0 ? '' : text.slice(colon + 1);
  if (
    !PACKAGE.test(name) ||
    !VERSION.test(version) ||
    version.startsWith('-') ||
    version.trim() !== version
  ) {
    return fail(
      field,
      `${field} "${printable(text)}" must be PACKAGE:VERSION, e.g. drupal/recommended-project:^10.3`,
    );
  }
  return { ok: true, value: { package: name, version } };
}

export function validateComposerRepository(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || input.length > 500 || !URL_CHARS.test(input)) {
    return fail(field, `${field} must be the URL of a Composer repository (https:// or file://)`);
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail(field, `${field} "${printable(input)}" is not a URL`);
  }
  if (!['https:', 'http:', 'file:'].includes(url.protocol) || url.password) {
    return fail(field, `${field} must be an https://, http:// or file:// URL without a password`);
  }
  return { ok: true, value: input };
}

/** A platform source as a step's or a request's params give it, checked whole. */
export function validatePlatformSource(field: string, input: unknown): Validated<PlatformSource> {
  if (typeof input !== 'object' || input === null) return fail(field, `${field} is required`);
  const source = input as Record<string, unknown>;
  if (source.kind === 'git') {
    const url = validateGitUrl(`${field}.url`, source.url);
    if (!url.ok) return url;
    const ref = validateGitRef(`${field}.ref`, source.ref);
    if (!ref.ok) return ref;
    return { ok: true, value: { kind: 'git', url: url.value, ref: ref.value } };
  }
  if (source.kind === 'composer-project') {
    const project = validateComposerProject(
      `${field}`,
      `${String(source.package)}:${String(source.version)}`,
    );
    if (!project.ok) return project;
    if (source.repository === undefined)
      return { ok: true, value: { kind: 'composer-project', ...project.value } };
    const repository = validateComposerRepository(`${field}.repository`, source.repository);
    if (!repository.ok) return repository;
    return {
      ok: true,
      value: { kind: 'composer-project', ...project.value, repository: repository.value },
    };
  }
  return fail(field, `${field}.kind must be "git" or "composer-project"`);
}

/** For people: "git /srv/repo.git at v2", "composer drupal/recommended-project:^10.3". */
export function describeSource(source: PlatformSource): string {
  return source.kind === 'git'
    ? `git ${source.url} at ${source.ref}`
    : `composer ${source.package}:${source.version}`;
}

/** A full commit id as git prints it: 40 hex digits (SHA-1), or 64 (a SHA-256 repository). */
export function validateCommitId(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || !/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(input)) {
    return fail(field, `${field} "${printable(String(input))}" is not a full commit id`);
  }
  return { ok: true, value: input };
}

/**
 * A deploy key: an OpenSSH or PEM private key without a passphrase, as ssh -i reads it (a
 * platform's or a site repository's); returned trimmed, with the newline ssh needs.
 */
export function validateDeployKey(field: string, input: unknown): Validated<string> {
  if (
    typeof input !== 'string' ||
    input.length > 16_384 ||
    !/^-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[\s\S]+\r?\n-----END [A-Z ]*PRIVATE KEY-----\s*$/.test(
      input.trim() + '\n',
    )
  ) {
    return fail(
      field,
      `${field} must be an SSH private key (-----BEGIN OPENSSH PRIVATE KEY----- ...), without a passphrase`,
    );
  }
  return { ok: true, value: input.trim() + '\n' };
}
