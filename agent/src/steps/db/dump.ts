import { PassThrough } from 'node:stream';
import { createGzip } from 'node:zlib';
import { must, validateDatabaseName } from '../../../../shared/src/validation.js';
import type { BinlogPosition } from '../../../../shared/src/steps.js';
import { binlogPositionInDump, MariaDb, requireDatabase } from '../../adapters/mysql.js';
import { archiveIdValue, parseWith } from '../params.js';
import { asError, firstFailure } from '../../adapters/streams.js';
import type { StepContext, StepHandler } from '../step.js';

export function databaseArchiveParams(input: unknown) {
  return parseWith(input, ['database', 'archiveId'], [], (params) => ({
    database: must(validateDatabaseName('database', params.database)),
    archiveId: archiveIdValue('archiveId', params.archiveId),
  }));
}

/**
 * Dumps a database, gzipped, straight into the archive: mariadb-dump's stdout -> gzip -> upload,
 * with backpressure all the way and no temp file. Gzip is ended only once the dump exited 0; a
 * failed dump destroys it, so the upload fails and the master never keeps a cut-short dump.
 */
export const dbDump: StepHandler<'db.dump'> = {
  name: 'db.dump',
  parseParams: databaseArchiveParams,
  async run({ database, archiveId }, context) {
    const mariadb = new MariaDb(context);
    await requireDatabase(mariadb, database, 'nothing to dump');
    const withBinlog = await mariadb.hasRowBasedBinlog();
    context.note(`dumping ${database} into archive ${archiveId}`);
    const { sha256, size, binlog } = await dumpToArchive(context, mariadb, database, archiveId, withBinlog);
    context.note(
      `dumped ${database}: ${size} bytes gzipped, sha256 ${sha256}` +
        (binlog ? `, snapshot at ${binlog.file}:${binlog.position} of the binary log` : ''),
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
  withBinlog: boolean,
): Promise<{ sha256: string; size: number; binlog: BinlogPosition | null }> {
  const gzip = createGzip();
  const dumped = new PassThrough();
  let dumpedBytes = 0;
  let head = '';
  dumped.on('data', (chunk: Buffer) => {
    if (withBinlog && head.length < DUMP_HEAD_BYTES) head += chunk.toString('latin1', 0, DUMP_HEAD_BYTES);
    dumpedBytes += chunk.length;
    context.progress('dump', dumpedBytes, 0, 'bytes');
  });
  dumped.pipe(gzip);
  const [, upload] = await firstFailure([
    {
      run: mariadb.dump(database, dumped, { binlogPosition: withBinlog }).then(() => {
        dumped.end();
      }),
      // The upload must not take what gzip has so far as the whole dump.
      onFailure: (error) => gzip.destroy(asError(error)),
    },
    {
      run: context.archives.putArchive({ archiveId, ref: context.ref, source: gzip, signal: context.signal }),
      // Nobody reads the dump any more: stop mariadb-dump instead of letting it block on a full pipe.
      onFailure: () => dumped.destroy(),
    },
  ]);
  return { ...upload, binlog: withBinlog ? binlogPositionInDump(head) : null };
}
