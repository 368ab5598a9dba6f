import type { Validated } from '../../../shared/src/validation.js';

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
