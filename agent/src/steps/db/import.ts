import { createGunzip } from 'node:zlib';
import { MariaDb, requireDatabase } from '../../adapters/mysql.js';
import { asError, firstFailure } from '../../adapters/streams.js';
import type { StepHandler } from '../step.js';
import { databaseArchiveParams } from './dump.js';

/**
 * Streams a gzipped dump from the archive into the database: download -> gunzip -> mariadb's
 * stdin. A transfer that fails or is cut short stops the client before it sees the end of its
 * input, so a partial download is never taken as the whole dump.
 */
export const dbImport: StepHandler<'db.import'> = {
  name: 'db.import',
  parseParams: databaseArchiveParams,
  async run({ database, archiveId }, context) {
    const mariadb = new MariaDb(context);
    await requireDatabase(mariadb, database, 'create it first (db.create)');
    context.note(`importing archive ${archiveId} into ${database}`);
    const gunzip = createGunzip();
    const [{ sha256, size }] = await firstFailure([
      {
        run: context.archives.getArchive({
          archiveId,
          ref: context.ref,
          destination: gunzip,
          signal: context.signal,
          // Of the archive's size, so that a follower sees how far the import is and an ETA.
          onProgress: (bytes, total) => context.progress('import', bytes, total, 'bytes'),
        }),
        // getArchive destroys gunzip itself, which stops the client (its input was cut short).
        onFailure: () => undefined,
      },
      {
        run: mariadb.import(database, gunzip),
        // The client is gone: the download must not wait for a reader any more.
        onFailure: (error) => gunzip.destroy(asError(error)),
      },
    ]);
    context.note(`imported ${size} bytes (sha256 ${sha256}) into ${database}`);
    return { sha256, bytes: size };
  },
};
