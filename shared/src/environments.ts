/**
 * Projects and their environments (dev, test, live, or names people pick): the names, and the
 * command that scrubs a copy synced down. Validated the same way on the master (the API's 400s) and
 * the agent (app.sanitize's params).
 */
import { fail, printable, type Validated } from './validation.js';

/** A project's name: as a platform's (lowercase, digits, dashes, underscores). */
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** An environment's name: dev, test, live, feature-x ... */
const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export function validateProjectName(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || !PROJECT_NAME.test(input)) {
    return fail(field, `${field} must be 1-63 of a-z, 0-9, - and _, starting with a letter or digit`);
  }
  return { ok: true, value: input };
}

export function validateEnvironmentName(field: string, input: unknown): Validated<string> {
  if (typeof input !== 'string' || !ENVIRONMENT_NAME.test(input)) {
    return fail(
      field,
      `${field} must be 1-32 of a-z, 0-9 and -, starting with a letter (dev, test, live ...)`,
    );
  }
  return { ok: true, value: input };
}

/** Drush's own: user e-mails and passwords scrubbed (sql:sanitize). */
export const DEFAULT_SANITIZE = 'sql:sanitize';

/**
 * What scrubs a copy synced down: drush's `sql:sanitize`, or a command of the project's own code
 * named `<namespace>:sanitize` (acme:sanitize), run without arguments. Only a sanitize command:
 * anything else could do what a sync must not (php:eval, sql:query ...).
 */
export function validateSanitizeCommand(field: string, input: unknown): Validated<string> {
  if (
    typeof input === 'string' &&
    (input === DEFAULT_SANITIZE || /^[a-z][a-z0-9_-]{0,60}:sanitize$/.test(input))
  ) {
    return { ok: true, value: input };
  }
  return fail(
    field,
    `${field} "${printable(String(input))}" must be sql:sanitize or a drush command of your code named <namespace>:sanitize`,
  );
}
