import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract } from 'tar-stream';
import { createGunzip } from 'node:zlib';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { must, validateDatabaseName } from '../../../../shared/src/validation.js';
import { MariaDb, requireDatabase } from '../../adapters/mysql.js';
import { DATABASE_ENTRY } from '../../adapters/site-archive.js';
import { asError, firstFailure } from '../../adapters/streams.js';
import { archiveIdValue, booleanValue, parseWith } from '../params.js';
import type { StepContext, StepHandler } from '../step.js';

/**
 * Streams a gzipped dump from the archive into the database: download -> gunzip -> mariadb's
 * stdin. A transfer that fails or is cut short stops the client before it sees the end of its
 * input, so a partial download is never taken as the whole dump. A site archive from before dumps
 * were archives of their own (`siteArchive`) is read as a tar: only its database.sql goes to the
 * client, every other entry is skipped unread.
 */
export const dbImport: StepHandler<'db.import'> = {
  name: 'db.import',
  parseParams: (input) =>
    parseWith(input, ['database', 'archiveId'], ['siteArchive'], (params) => ({
      database: must(validateDatabaseName('database', params.database)),
      archiveId: archiveIdValue('archiveId', params.archiveId),
      ...(params.siteArchive !== undefined
        ? { siteArchive: booleanValue('siteArchive', params.siteArchive) }
        : {}),
    })),
  async run({ database, archiveId, siteArchive = false }, context) {
    const mariadb = new MariaDb(context);
    await requireDatabase(mariadb, database, 'create it first (db.create)');
    context.note(
      `importing ${siteArchive ? `${DATABASE_ENTRY} of site archive` : 'archive'} ${archiveId} into ${database}`,
    );
    const { sha256, size } = await importArchive(context, mariadb, database, archiveId, { siteArchive });
    context.note(`imported ${size} bytes (sha256 ${sha256}) into ${database}`);
    return { sha256, bytes: size };
  },
};

/**
 * The archive's dump streamed into `database`, with the import's progress (of the archive's size,
 * so that a follower sees an ETA). Shared by db.import and db.rewind.
 */
export async function importArchive(
  context: StepContext,
  mariadb: MariaDb,
  database: string,
  archiveId: string,
  options: { siteArchive?: boolean } = {},
): Promise<{ sha256: string; size: number }> {
  const gunzip = createGunzip();
  const dump = options.siteArchive ? databaseEntryOf(gunzip, archiveId) : gunzip;
  const [download] = await firstFailure([
    {
      run: context.archives.getArchive({
        archiveId,
        ref: context.ref,
        destination: gunzip,
        signal: context.signal,
        onProgress: (bytes, total) => context.progress('import', bytes, total, 'bytes'),
      }),
      // getArchive destroys gunzip itself, which stops the client (its input was cut short).
      onFailure: (error) => dump.destroy(asError(error)),
    },
    {
      run: mariadb.import(database, dump),
      // The client is gone: the download must not wait for a reader any more.
      onFailure: (error) => gunzip.destroy(asError(error)),
    },
  ]);
  return download;
}

/**
 * The database.sql entry of a gunzipped site archive as a stream that ends when the entry does;
 * it fails (NOT_FOUND) when the archive ends without one, so the client never takes an empty input
 * as the dump.
 */
function databaseEntryOf(tar: Readable, archiveId: string): PassThrough {
  const out = new PassThrough();
  const entries = tarExtract();
  let found = false;
  entries.on('entry', (header, stream, next) => {
    if (header.name === DATABASE_ENTRY && header.type === 'file' && !found) {
      found = true;
      // The entry's end is the dump's end; the rest of the archive is read and dropped.
      stream.pipe(out);
      stream.once('end', next);
      return;
    }
    stream.once('end', next);
    stream.resume();
  });
  pipeline(tar, entries).then(
    () => {
      if (!found)
        out.destroy(
          new StepError({
            code: StepErrorCode.NotFound,
            message: `site archive ${archiveId} holds no ${DATABASE_ENTRY}`,
            retryable: false,
          }),
        );
    },
    (error: unknown) => out.destroy(asError(error)),
  );
  return out;
}
