import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import {
  isUuid,
  must,
  type Validated,
  validateDatabaseName,
  ValidationError,
} from '../../../shared/src/validation.js';

/**
 * Strict checks for step parameters decoded from the wire: a plain object with exactly the known
 * keys, values of the right type and range. Nothing from the master is trusted as it is.
 */
export function paramsObject(
  input: unknown,
  required: readonly string[],
  optional: readonly string[] = [],
): Validated<Record<string, unknown>> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail('params', 'the parameters must be a JSON object');
  }
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!required.includes(key) && !optional.includes(key)) {
      return fail(key, `unknown parameter "${key.slice(0, 64)}"`);
    }
  }
  for (const key of required) {
    if (!(key in record) || record[key] === undefined || record[key] === null) {
      return fail(key, `the parameter "${key}" is required`);
    }
  }
  return { ok: true, value: record };
}

export function noParams(input: unknown): Validated<Record<string, never>> {
  const checked = paramsObject(input, []);
  return checked.ok ? { ok: true, value: {} } : checked;
}

export function integerParam(field: string, value: unknown, min: number, max: number): Validated<number> {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    return fail(field, `${field} must be a whole number`);
  }
  if (value < min || value > max)
    return fail(field, `${field} must be between ${min} and ${max}, got ${value}`);
  return { ok: true, value };
}

function fail<T>(field: string, message: string): Validated<T> {
  return { ok: false, failure: { field, message } };
}

/**
 * Parses parameters with `build`, whose checks throw ValidationError (through `must`): the first
 * failure becomes the Validated failure, so a step's parser reads as the list of its fields.
 */
export function parseWith<T>(
  input: unknown,
  required: readonly string[],
  optional: readonly string[],
  build: (params: Record<string, unknown>) => T,
): Validated<T> {
  const object = paramsObject(input, required, optional);
  if (!object.ok) return object;
  try {
    return { ok: true, value: build(object.value) };
  } catch (error) {
    if (error instanceof ValidationError) {
      return fail(error.field, error.message);
    }
    throw error;
  }
}

export function booleanValue(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new ValidationError({ field, message: `${field} must be true or false` });
  return value;
}

export function integerValue(field: string, value: unknown, min: number, max: number): number {
  return must(integerParam(field, value, min, max));
}

/** An ISO 8601 time (what Date#toISOString gives). */
export function timeValue(field: string, value: unknown): string {
  if (
    typeof value !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(value) ||
    Number.isNaN(Date.parse(value))
  ) {
    throw new ValidationError({
      field,
      message: `${field} must be an ISO 8601 UTC time, e.g. 2026-12-03T11:00:00.000Z`,
    });
  }
  return value;
}

export function archiveIdValue(field: string, value: unknown): string {
  if (!isUuid(value)) throw new ValidationError({ field, message: `${field} must be a lowercase UUID` });
  return value;
}

/** A list of at most `max` items, each checked by `check`. */
export function listValue<T>(
  field: string,
  value: unknown,
  max: number,
  check: (field: string, item: unknown) => T,
): T[] {
  if (!Array.isArray(value)) throw new ValidationError({ field, message: `${field} must be a list` });
  if (value.length > max) {
    throw new ValidationError({
      field,
      message: `${field} has ${value.length} items; at most ${max} are allowed`,
    });
  }
  return value.map((item, index) => check(`${field}[${index}]`, item));
}

/**
 * `{ database }` or null, as in includeDatabase and importDatabase: the key must be there (list it
 * among the optional keys: paramsObject refuses null for required ones), null meaning "none".
 */
export function databaseRefOrNull(field: string, value: unknown): { database: string } | null {
  if (value === undefined) {
    throw new ValidationError({ field, message: `the parameter "${field}" is required (null for none)` });
  }
  if (value === null) return null;
  const object = paramsObject(value, ['database']);
  if (!object.ok) {
    throw new ValidationError({
      field,
      message: `${field} must be null or { database }: ${object.failure.message}`,
    });
  }
  return { database: must(validateDatabaseName(`${field}.database`, object.value.database)) };
}

/** A parameter found wrong only when the step runs (a path that is not what it must be). */
export function invalidParam(message: string): StepError {
  return new StepError({ code: StepErrorCode.InvalidParams, message, retryable: false });
}

/**
 * A secret the step needs, from StepAssign.secrets. Its value never appears in a message: only
 * its name and what is wrong with it.
 */
export function requireSecret(secrets: Readonly<Record<string, string>>, name: string): string {
  const value = secrets[name];
  const problem =
    value === undefined || value === ''
      ? 'was not sent with the step'
      : value.length > 512
        ? 'is longer than 512 characters'
        : value.includes('\0')
          ? 'holds a NUL character'
          : undefined;
  if (problem) {
    throw new StepError({
      code: StepErrorCode.InvalidParams,
      message: `the secret "${name}" ${problem}; the master resolves it when it dispatches the step`,
      retryable: false,
    });
  }
  return value as string;
}
