import { readFile } from 'node:fs/promises';
import { usageError } from './errors.js';

/**
 * A secret read from a file (a token, a key), the way the CLI takes secrets: never as an argument,
 * which every user of the machine sees in `ps`. Surrounding whitespace trimmed unless `keepAsIs`
 * (an SSH key keeps its line breaks); a missing or empty file is a usage error (exit 2).
 */
export async function readSecretFile(file: string, what: string, keepAsIs = false): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw usageError(`Cannot read the ${what} file ${file}: ${(error as Error).message}`);
  }
  if (!text.trim()) throw usageError(`The ${what} file ${file} is empty`);
  return keepAsIs ? text : text.trim();
}
