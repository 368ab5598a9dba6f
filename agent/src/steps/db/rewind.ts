import { Transform, type TransformCallback } from 'node:stream';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { BINLOG_FILE_PATTERN, type BinlogPosition } from '../../../../shared/src/steps.js';
import { must, validateDatabaseName, ValidationError } from '../../../../shared/src/validation.js';
import { MariaDb, requireDatabase } from '../../adapters/mysql.js';
import { archiveIdValue, integerValue, paramsObject, parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { importArchive } from './import.js';

// A rollback point without a dump taken while writes wait: the backup's dump (taken online, its
// snapshot's place in the binary log recorded) plus the binary log from there to the moment writes
// were held. The server must log row-based: row events name their table's database, so the replay
// takes this site's changes and nobody else's, whatever database a statement was sent from.

/** The binary log as the server has it now, or a refusal that says why a dump must do instead. */
async function requireBinlogFrom(mariadb: MariaDb, since: BinlogPosition): Promise<string[]> {
  if (!(await mariadb.hasRowBasedBinlog())) {
    throw new StepError({
      code: StepErrorCode.Refused,
      message: 'the server keeps no row-based binary log (log_bin = ON and binlog_format = ROW are needed)',
      retryable: false,
    });
  }
  const logs = await mariadb.binaryLogs();
  const first = logs.indexOf(since.file);
  if (first < 0) {
    throw new StepError({
      code: StepErrorCode.Refused,
      message: `the binary log ${since.file} is no longer on the server (purged); it has ${logs.join(', ') || 'none'}`,
      retryable: false,
    });
  }
  return logs.slice(first);
}

export const dbBinlogMark: StepHandler<'db.binlog-mark'> = {
  name: 'db.binlog-mark',
  parseParams: (input) =>
    parseWith(input, ['database', 'since'], [], (params) => ({
      database: must(validateDatabaseName('database', params.database)),
      since: binlogPositionValue('since', params.since),
    })),
  async run({ database, since }, context) {
    const mariadb = new MariaDb(context);
    await requireDatabase(mariadb, database, 'nothing to mark');
    await requireBinlogFrom(mariadb, since);
    const now = await mariadb.binlogPosition();
    if (!now) throw new Error('SHOW MASTER STATUS answered nothing although log_bin is on');
    context.note(
      `binary log at ${now.file}:${now.position} (a rollback replays ${since.file}:${since.position} up to here)`,
    );
    return now;
  },
};

export const dbRewind: StepHandler<'db.rewind'> = {
  name: 'db.rewind',
  parseParams: (input) =>
    parseWith(input, ['database', 'archiveId', 'from', 'to'], [], (params) => ({
      database: must(validateDatabaseName('database', params.database)),
      archiveId: archiveIdValue('archiveId', params.archiveId),
      from: binlogPositionValue('from', params.from),
      to: binlogPositionValue('to', params.to),
    })),
  async run({ database, archiveId, from, to }, context) {
    const mariadb = new MariaDb(context);
    await requireDatabase(mariadb, database, 'nothing to rewind');
    const logs = await requireBinlogFrom(mariadb, from);
    const last = logs.indexOf(to.file);
    if (last < 0) {
      throw new StepError({
        code: StepErrorCode.NotFound,
        message: `the binary log ${to.file} is not on the server after ${from.file}`,
        retryable: false,
      });
    }
    // From an empty database, so that a second run (a lost attempt) ends where the first would
    // have, and tables the failed updates created do not outlive the rollback.
    const stopped = await mariadb.killOtherSessions(database);
    if (stopped > 0) context.note(`stopped ${stopped} earlier session(s) on ${database}`);
    await mariadb.emptyDatabase(database);
    context.note(
      `rewinding ${database}: the dump in archive ${archiveId}, then ${from.file}:${from.position} to ${to.file}:${to.position} of the binary log`,
    );
    const imported = await importArchive(context, mariadb, database, archiveId);
    // mariadb-binlog's SQL for this database only, GTID sequence numbers dropped, into the client.
    const replayedBytes = await mariadb.importFrom(
      database,
      (destination) => mariadb.binlogEvents(database, logs.slice(0, last + 1), from, to, destination),
      {
        through: new WithoutGtidSequence(),
        onBytes: (bytes) => context.progress('replay', bytes, 0, 'bytes'),
      },
    );

    context.note(
      `rewound ${database}: ${imported.size} bytes of dump, ${replayedBytes} bytes of binary log replayed`,
    );
    return { sha256: imported.sha256, bytes: imported.size, replayedBytes };
  },
};

const GTID_SEQUENCE_LINE = Buffer.from('/*M!100001 SET @@session.gtid_seq_no=');

/**
 * Drops the lines that give each replayed transaction its original GTID sequence number: the
 * replay is a new write of this server, numbered as such (a server in gtid_strict_mode refuses an
 * old number again). Works on bytes, line by line, so statement text passes through unchanged.
 */
export class WithoutGtidSequence extends Transform {
  private rest: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    let start = 0;
    for (let end = data.indexOf(10, start); end >= 0; end = data.indexOf(10, start)) {
      const line = data.subarray(start, end + 1);
      if (!line.subarray(0, GTID_SEQUENCE_LINE.length).equals(GTID_SEQUENCE_LINE)) this.push(line);
      start = end + 1;
    }
    this.rest = Buffer.from(data.subarray(start));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.rest.length && !this.rest.subarray(0, GTID_SEQUENCE_LINE.length).equals(GTID_SEQUENCE_LINE))
      this.push(this.rest);
    callback();
  }
}

function binlogPositionValue(field: string, value: unknown): BinlogPosition {
  const object = paramsObject(value, ['file', 'position']);
  if (!object.ok) {
    throw new ValidationError({
      field,
      message: `${field} must be { file, position }: ${object.failure.message}`,
    });
  }
  const { file, position } = object.value;
  if (typeof file !== 'string' || !BINLOG_FILE_PATTERN.test(file)) {
    throw new ValidationError({
      field: `${field}.file`,
      message: `${field}.file must be a binary log's file name`,
    });
  }
  return { file, position: integerValue(`${field}.position`, position, 0, Number.MAX_SAFE_INTEGER) };
}
