import type { Readable, Writable } from 'node:stream';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import type { HostSettings } from '../config.js';
import type { RunOptions, RunResult } from './process-runner.js';

/** What the MariaDB adapter needs of a step's context: its process runner and the admin connection. */
export interface MariaDbContext {
  readonly host: Pick<HostSettings, 'dbAdminDefaults'>;
  exec(options: Omit<RunOptions, 'signal' | 'onLine'>): Promise<RunResult>;
}

/**
 * `name` as an SQL identifier. The names that reach here are already whitelisted
 * (validateDatabaseName, validateDatabaseUser); quoting is the second line of defence.
 */
export function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/**
 * The database part of `GRANT ... ON <db>.*`, where the server reads `_` and `%` as wildcards:
 * escaped, so that the grant on `a_b` does not also cover `axb`.
 */
export function grantDatabase(name: string): string {
  return quoteIdentifier(name.replace(/[\\_%]/g, (character) => `\\${character}`));
}

/**
 * A string literal. The scripts sent by this adapter start with `SET SESSION sql_mode = ''`, so
 * that backslash escapes hold whatever the server's default mode (NO_BACKSLASH_ESCAPES would
 * otherwise change their meaning).
 */
export function quoteString(value: string): string {
  // eslint-disable-next-line no-control-regex -- NUL and Ctrl-Z are exactly what must be escaped.
  const escaped = value.replace(/[\0\n\r\x1a'"\\]/g, (character) => {
    switch (character) {
      case '\0':
        return '\\0';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\x1a':
        return '\\Z';
      default:
        return `\\${character}`;
    }
  });
  return `'${escaped}'`;
}

/** `'user'@'host'`. */
export function account(user: string, host: string): string {
  return `${quoteString(user)}@${quoteString(host)}`;
}

/** The first statement of every script: a known sql_mode for the session (see quoteString). */
export const SESSION_PREAMBLE = "SET SESSION sql_mode = '';\n";

/**
 * The MariaDB admin connection, through the `mariadb` and `mariadb-dump` clients. SQL always goes
 * on stdin and credentials in a defaults file, so nothing secret is ever in a command line.
 */
export class MariaDb {
  constructor(private readonly context: MariaDbContext) {}

  /** Connection arguments; `--defaults-extra-file` must come first for the clients to take it. */
  private connectionArgs(): string[] {
    const defaults = this.context.host.dbAdminDefaults;
    return defaults ? [`--defaults-extra-file=${defaults}`] : ['--user=root'];
  }

  /** Runs a script (statements separated by `;`) as the admin. The script may hold secrets. */
  async execute(script: string, options: { database?: string } = {}): Promise<void> {
    await this.context.exec({
      file: 'mariadb',
      args: [
        ...this.connectionArgs(),
        '--batch',
        ...(options.database ? [`--database=${options.database}`] : []),
      ],
      input: SESSION_PREAMBLE + script,
      timeoutMs: 120_000,
    });
  }

  /** Runs one query and returns its rows (tab-separated fields, `--batch` escapes undone). */
  async query(sql: string, options: { database?: string; maxBytes?: number } = {}): Promise<string[][]> {
    const result = await this.context.exec({
      file: 'mariadb',
      args: [
        ...this.connectionArgs(),
        '--batch',
        '--skip-column-names',
        ...(options.database ? [`--database=${options.database}`] : []),
      ],
      input: SESSION_PREAMBLE + sql,
      captureStdoutBytes: options.maxBytes ?? 16 * 1024 * 1024,
      timeoutMs: 120_000,
    });
    return result.stdout
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => line.split('\t').map(unescapeBatchField));
  }

  async databaseExists(database: string): Promise<boolean> {
    const rows = await this.query(
      `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${quoteString(database)};`,
    );
    return rows.length > 0;
  }

  /**
   * A consistent dump of `database` (one transaction, row by row) into `destination`, which is
   * not ended here: the caller ends it when this resolves, and destroys it when this rejects.
   */
  async dump(database: string, destination: Writable): Promise<void> {
    await this.context.exec({
      file: 'mariadb-dump',
      args: [
        ...this.connectionArgs(),
        '--single-transaction',
        '--quick',
        '--routines',
        '--triggers',
        '--hex-blob',
        '--default-character-set=utf8mb4',
        database,
      ],
      stdout: destination,
    });
  }

  /** Streams SQL from `source` into `database`; the client stops at the first error. */
  async import(database: string, source: Readable): Promise<void> {
    await this.context.exec({
      file: 'mariadb',
      args: [
        ...this.connectionArgs(),
        '--batch',
        '--default-character-set=utf8mb4',
        `--database=${database}`,
      ],
      stdin: source,
    });
  }
}

function unescapeBatchField(field: string): string {
  if (field === 'NULL') return field;
  return field.replace(/\\(.)/g, (_match, character: string) => {
    switch (character) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case '0':
        return '\0';
      default:
        return character;
    }
  });
}

/** Fails the step when the database the master named does not exist (db.import, db.dump ...). */
export async function requireDatabase(mariadb: MariaDb, database: string, what: string): Promise<void> {
  if (await mariadb.databaseExists(database)) return;
  throw new StepError({
    code: StepErrorCode.NotFound,
    message: `the database ${database} does not exist on this server: ${what}`,
    retryable: false,
  });
}
