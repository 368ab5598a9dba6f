/**
 * How a task log line says it matters: agents and the master start a warning with `warning: ` and
 * an error with `error: ` (the log stream carries no level of its own). Followers show these by
 * default and the rest only when asked (`--verbose`, `berth task log`).
 */
export const WARNING_PREFIX = 'warning: ';
export const ERROR_PREFIX = 'error: ';

export function warning(text: string): string {
  return `${WARNING_PREFIX}${text}`;
}

/** Whether a line is a warning or an error, by its prefix. */
export function isNotable(line: { text: string }): boolean {
  return line.text.startsWith(WARNING_PREFIX) || line.text.startsWith(ERROR_PREFIX);
}
