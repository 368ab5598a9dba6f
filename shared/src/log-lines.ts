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

/** Drush's and PHP's own way of saying it: `[error]  Update failed: ...`, `PHP Warning: ...`. */
const PROGRAM_NOTABLE =
  /^\s*(?:\[(?:error|warning|critical|alert|emergency)\]|PHP (?:Fatal error|Warning|Parse error))/i;

/** Whether a line is a warning or an error: by the prefix Berth gives it, or the program's own. */
export function isNotable(line: { text: string }): boolean {
  return (
    line.text.startsWith(WARNING_PREFIX) ||
    line.text.startsWith(ERROR_PREFIX) ||
    PROGRAM_NOTABLE.test(line.text)
  );
}

/**
 * What a follower shows without `--verbose`: the master's own account of the task (its phases,
 * backups, rollbacks, outcome) and every warning and error, not each command a step ran or the
 * documents it printed.
 */
export function shownByDefault(line: { stream: string; text: string }): boolean {
  return line.stream === 'master' || isNotable(line);
}
