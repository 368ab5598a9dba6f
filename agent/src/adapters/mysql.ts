import { PassThrough, type Readable, type Transform, type Writable } from 'node:stream';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import { BINLOG_FILE_PATTERN, type BinlogPosition } from '../../../shared/src/steps.js';
import type { HostSettings } from '../config.js';
import type { RunOptions, RunResult } from './process-runner.js';
import { asError, firstFailure } from './streams.js';

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
   * `binlogPosition`: the dump's head names the binary log position of its snapshot (a comment,
   * see binlogPositionInDump); MariaDB reads it from the consistent snapshot, with no global lock.
   */
  async dump(
    database: string,
    destination: Writable,
    options: { binlogPosition?: boolean } = {},
  ): Promise<void> {
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
        ...(options.binlogPosition ? ['--master-data=2'] : []),
        database,
      ],
      stdout: destination,
    });
  }

  /**
   * Runs `whileLocked` while one session of its own holds `FLUSH TABLES ... FOR EXPORT` on
   * `tables` of `database` (writes to them wait; their .ibd files are consistent and beside them a
   * .cfg each), then UNLOCK TABLES. The session is a client kept open on a pipe: its lock lasts
   * exactly as long as `whileLocked`, and ends with it whatever happens.
   */
  async whileExported<T>(
    database: string,
    tables: readonly string[],
    whileLocked: () => Promise<T>,
  ): Promise<T> {
    const commands = new PassThrough();
    const answers = new PassThrough();
    let said = '';
    answers.on('data', (chunk: Buffer) => (said += chunk.toString('utf8')));
    const list = tables.map((table) => `${quoteIdentifier(database)}.${quoteIdentifier(table)}`).join(', ');
    const session = this.context.exec({
      file: 'mariadb',
      args: [...this.connectionArgs(), '--batch', '--skip-column-names', '--unbuffered'],
      stdin: commands,
      stdout: answers,
      timeoutMs: 3_600_000,
    });
    // Ended here once the session is gone, so the exec's caller never waits for a reader.
    const ended = session.finally(() => answers.end());
    commands.write(`${SESSION_PREAMBLE}FLUSH TABLES ${list} FOR EXPORT;\nSELECT 'berth: exported';\n`);
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (said.includes('berth: exported')) resolve();
        };
        answers.on('data', check);
        check();
        ended.then(
          () => reject(new Error('the export session ended before its tables were flushed')),
          reject,
        );
      });
      return await whileLocked();
    } finally {
      commands.end('UNLOCK TABLES;\n');
      await ended.catch(() => undefined);
    }
  }

  /** Whether the server keeps a row-based binary log: what a rollback by the log needs. */
  async hasRowBasedBinlog(): Promise<boolean> {
    const [row] = await this.query('SELECT @@GLOBAL.log_bin, @@GLOBAL.binlog_format;');
    return row?.[0] === '1' && row[1] === 'ROW';
  }

  /** Where the binary log is now (SHOW MASTER STATUS); null when the server keeps none. */
  async binlogPosition(): Promise<BinlogPosition | null> {
    const [row] = await this.query('SHOW MASTER STATUS;');
    if (!row) return null;
    return parseBinlogPosition(row[0], row[1]);
  }

  /** The binary logs the server still has, oldest first (SHOW BINARY LOGS). */
  async binaryLogs(): Promise<string[]> {
    const rows = await this.query('SHOW BINARY LOGS;');
    return rows.map((row) => parseBinlogPosition(row[0], '0').file);
  }

  /** Drops every table and view of `database`, the database itself (and its grants) kept. */
  async emptyDatabase(database: string): Promise<void> {
    const rows = await this.query(
      `SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${quoteString(database)};`,
    );
    const of = (type: (tableType: string) => boolean) =>
      rows
        .filter((row) => type(row[1] ?? ''))
        .map((row) => `${quoteIdentifier(database)}.${quoteIdentifier(row[0]!)}`);
    const views = of((tableType) => tableType === 'VIEW');
    const tables = of((tableType) => tableType !== 'VIEW');
    const statements = [
      'SET FOREIGN_KEY_CHECKS = 0;',
      ...(views.length ? [`DROP VIEW IF EXISTS ${views.join(', ')};`] : []),
      ...(tables.length ? [`DROP TABLE IF EXISTS ${tables.join(', ')};`] : []),
    ];
    // With the database selected, so that a session left by a lost attempt is found (killOtherSessions).
    await this.execute(statements.join('\n'), { database });
  }

  /**
   * Stops the admin's other sessions on `database`: what a lost attempt of a step (its client
   * killed with the agent) may have left running on the server, which must not write into the
   * database while it is rebuilt. The sites connect as their own users, never as the admin.
   */
  async killOtherSessions(database: string): Promise<number> {
    const rows = await this.query(
      `SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ${quoteString(database)} ` +
        "AND USER = SUBSTRING_INDEX(USER(), '@', 1) AND ID <> CONNECTION_ID();",
    );
    const ids = rows.map((row) => Number(row[0])).filter((id) => Number.isSafeInteger(id));
    // A session may end between the query and its KILL: that is what was wanted.
    for (const id of ids) await this.execute(`KILL ${id};`).catch(() => undefined);
    return ids.length;
  }

  /**
   * The binary log from `from` to `to` as SQL, the row events of `database` only, into
   * `destination` (not ended here, as for dump). Read from the server (`--read-from-remote-server`),
   * so the admin connection is all it needs, wherever the log files are.
   */
  async binlogEvents(
    database: string,
    files: readonly string[],
    from: BinlogPosition,
    to: BinlogPosition,
    destination: Writable,
  ): Promise<void> {
    await this.context.exec({
      file: 'mariadb-binlog',
      args: [
        ...this.connectionArgs(),
        '--read-from-remote-server',
        `--database=${database}`,
        `--start-position=${from.position}`,
        `--stop-position=${to.position}`,
        ...files,
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

  /**
   * What `produce` writes (a dump, the binary log's events) imported into `database` as it comes,
   * through `through` when given; returns how many bytes `produce` wrote. A producer that fails
   * stops the client before it sees the end of its input, so a cut-short stream is never taken as
   * the whole; a client that fails stops the producer.
   */
  async importFrom(
    database: string,
    produce: (destination: Writable) => Promise<void>,
    options: { through?: Transform; onBytes?: (bytes: number) => void } = {},
  ): Promise<number> {
    const produced = new PassThrough();
    const input = options.through ? produced.pipe(options.through) : produced;
    let bytes = 0;
    produced.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      options.onBytes?.(bytes);
    });
    await firstFailure([
      {
        run: produce(produced).then(() => {
          produced.end();
        }),
        onFailure: (error) => input.destroy(asError(error)),
      },
      { run: this.import(database, input), onFailure: () => produced.destroy() },
    ]);
    return bytes;
  }
}

/** A binary log position as the server gave it; a file name with anything path-like is refused. */
export function parseBinlogPosition(file: string | undefined, position: string | undefined): BinlogPosition {
  const offset = Number(position);
  if (!file || !BINLOG_FILE_PATTERN.test(file) || !Number.isSafeInteger(offset) || offset < 0) {
    throw new StepError({
      code: StepErrorCode.CommandFailed,
      message: `the server named a binary log position that is not one: ${JSON.stringify({ file, position })}`,
      retryable: false,
    });
  }
  return { file, position: offset };
}

/**
 * The position a `--master-data=2` dump's head names (`-- CHANGE MASTER TO MASTER_LOG_FILE='f',
 * MASTER_LOG_POS=n;`), or null when `head` has none.
 */
export function binlogPositionInDump(head: string): BinlogPosition | null {
  const found = /^-- CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+);$/m.exec(head);
  return found ? parseBinlogPosition(found[1], found[2]) : null;
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

/**
 * Fails the step unless `database` exists and has no table (REFUSED): a copy or a dump goes into a
 * new database only, never over one that holds something.
 */
export async function requireEmptyDatabase(mariadb: MariaDb, database: string, what: string): Promise<void> {
  await requireDatabase(mariadb, database, 'create it first (db.create)');
  const [[tables] = []] = await mariadb.query(
    `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${quoteString(database)};`,
  );
  if (tables === '0') return;
  throw new StepError({
    code: StepErrorCode.Refused,
    message: `${database} is not empty (${tables} tables): ${what}`,
    retryable: false,
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
