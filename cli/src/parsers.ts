import { InvalidArgumentError } from 'commander';

/** Commander argument parsers: a bad value is a usage error (exit 2) with a message saying why. */

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError('expected a whole number of at least 1.');
  }
  return parsed;
}

/** The rows of one page of a list (the API's `limit`): 1 to 500. */
export const MAX_PAGE_LIMIT = 500;

export function pageLimit(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < 1 || parsed > MAX_PAGE_LIMIT) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_PAGE_LIMIT}.`);
  }
  return parsed;
}

export function wholeNumber(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed)) {
    throw new InvalidArgumentError('expected a whole number (0 or more).');
  }
  return parsed;
}

export function portNumber(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed > 65535) {
    throw new InvalidArgumentError('expected a port number (0-65535; 0 picks a free port).');
  }
  return parsed;
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ];
}

/** "90" or "90s", "5m", "1h": a wait, in milliseconds. */
export function durationMs(value: string): number {
  const match = /^(\d+)(s|m|h)?$/.exec(value.trim());
  const amount = match ? Number(match[1]) : NaN;
  if (!match || !Number.isSafeInteger(amount) || amount < 1) {
    throw new InvalidArgumentError('expected a duration such as 90, 90s, 5m or 1h (at least 1 s).');
  }
  return amount * { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!;
}
