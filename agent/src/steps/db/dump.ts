import { PassThrough } from 'node:stream';
import { must, validateDatabaseName } from '../../../../shared/src/validation.js';
import type { BinlogPosition } from '../../../../shared/src/steps.js';
import {
  binlogPositionInDump,
  MariaDb,
  requireDatabase,
  requireEmptyDatabase,
} from '../../adapters/mysql.js';
import { AdaptiveGzip } from '../../adapters/adaptive-gzip.js';
import { archiveIdValue, parseWith } from '../params.js';
import { asError, firstFailure } from '../../adapters/streams.js';
import type { StepContext, StepHandler } from '../step.js';

/**
 * Dumps a database, gzipped, straight into the archive: mariadb-dump's stdout -> gzip -> upload,
 * with backpressure all the way and no temp file. Gzip is ended only once the dump exited 0; a
 * failed dump destroys it, so the upload fails and the master never keeps a cut-short dump. With
 * `alsoInto` the same stream is imported into that database as it goes (one read of the rows for
 * a backup and a rehearsal copy); the slower of the two sets the pace.
 */
export const dbDump: StepHandler<'db.dump'> = {
  name: 'db.dump',
  parseParams: (input) =>
    parseWith(input, ['database', 'archiveId'], ['alsoInto'], (params) => ({
      database: must(validateDatabaseName('database', params.database)),
      archiveId: archiveIdValue('archiveId', params.archiveId),
      ...(params.alsoInto !== undefined
        ? { alsoInto: must(validateDatabaseName('alsoInto', params.alsoInto)) }
        : {}),
    })),
  async run({ database, archiveId, alsoInto }, context) {
    const mariadb = new MariaDb(context);
    await requireDatabase(mariadb, database, 'nothing to dump');
    if (alsoInto === database) throw new Error(`db.dump: ${database} cannot be imported into itself`);
    if (alsoInto) await requireEmptyDatabase(mariadb, alsoInto, 'the dump goes into a new database only');
    const withBinlog = await mariadb.hasRowBasedBinlog();
    context.note(`dumping ${database} into archive ${archiveId}${alsoInto ? ` and into ${alsoInto}` : ''}`);
    const { sha256, size, binlog } = await dumpToArchive(context, mariadb, database, archiveId, {
      withBinlog,
      alsoInto,
    });
    context.note(
      `dumped ${database}: ${size} bytes gzipped, sha256 ${sha256}` +
        (binlog ? `, snapshot at ${binlog.file}:${binlog.position} of the binary log` : '') +
        (alsoInto ? `; imported into ${alsoInto}` : ''),
    );
    return { sha256, bytes: size, ...(binlog ? { binlog } : {}) };
  },
};

/** How much of a dump's head is searched for its binary log position (it is in the first 1–2 KiB). */
const DUMP_HEAD_BYTES = 64 * 1024;

async function dumpToArchive(
  context: StepContext,
  mariadb: MariaDb,
  database: string,
  archiveId: string,
  options: { withBinlog: boolean; alsoInto: string | undefined },
): Promise<{ sha256: string; size: number; binlog: BinlogPosition | null }> {
  // Rows of compressed blobs (cache entries, files kept in the database) are stored, not deflated again.
  const gzip = new AdaptiveGzip();
  const dumped = new PassThrough();
  let dumpedBytes = 0;
  let head = '';
  dumped.on('data', (chunk: Buffer) => {
    if (options.withBinlog && head.length < DUMP_HEAD_BYTES)
      head += chunk.toString('latin1', 0, DUMP_HEAD_BYTES);
    dumpedBytes += chunk.length;
    context.progress('dump', dumpedBytes, 0, 'bytes');
  });
  dumped.pipe(gzip);
  // The second reader of the same bytes; pipe() waits for the slower of the two.
  const copy = options.alsoInto ? dumped.pipe(new PassThrough()) : null;
  // The first failure stops every part: the upload and the import must not take what they have so
  // far as the whole dump, and mariadb-dump must not block on a pipe nobody reads any more.
  const stopAll = (error: unknown) => {
    dumped.destroy();
    gzip.destroy(asError(error));
    copy?.destroy(asError(error));
  };
  const [, upload] = await firstFailure([
    {
      run: mariadb.dump(database, dumped, { binlogPosition: options.withBinlog }).then(() => {
        dumped.end();
      }),
      onFailure: stopAll,
    },
    {
      run: context.archives.putArchive({ archiveId, ref: context.ref, source: gzip, signal: context.signal }),
      onFailure: stopAll,
    },
    ...(copy && options.alsoInto
      ? [{ run: mariadb.import(options.alsoInto, copy), onFailure: stopAll }]
      : []),
  ]);
  return { ...upload, binlog: options.withBinlog ? binlogPositionInDump(head) : null };
}
