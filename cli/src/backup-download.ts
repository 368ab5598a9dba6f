import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, rm, stat, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ApiClient } from './api-client.js';
import { CliError, ExitCode } from './errors.js';

export interface DownloadedBackup {
  file: string;
  bytes: number;
  sha256: string;
}

/**
 * Streams one archive of a backup to a file, hashing it on the way, and keeps the file only when
 * the sha256 is the one the master's store recorded (X-Berth-Sha256). The bytes go to FILE.part
 * (mode 0600: a backup is the site's data) and are linked into place at the end; an existing FILE
 * is never overwritten.
 */
export async function downloadBackup(
  client: ApiClient,
  request: { domain: string; backupId: string; part: 'files' | 'database'; output: string | undefined },
): Promise<DownloadedBackup> {
  const path =
    `/api/sites/${encodeURIComponent(request.domain)}/backups/` +
    `${encodeURIComponent(request.backupId)}/archive`;
  const response = await client.download(path, { part: request.part });
  const expected = response.headers.get('x-berth-sha256');
  if (!expected || !/^[0-9a-f]{64}$/.test(expected) || !response.body) {
    throw new CliError('the master sent the archive without its sha256: nothing was saved', ExitCode.Failed);
  }
  const file = request.output ?? suggestedName(response.headers.get('content-disposition'), request);
  if (await stat(file).catch(() => null)) {
    throw new CliError(`${file} exists already: choose another file with -o`, ExitCode.Usage);
  }
  const partial = `${file}.part`;
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    await pipeline(
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>),
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          bytes += chunk.length;
          done(null, chunk);
        },
      }),
      createWriteStream(partial, { flags: 'wx', mode: 0o600 }),
    );
  } catch (error) {
    await rm(partial, { force: true });
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CliError(`${partial} exists (another download?): remove it first`, ExitCode.Usage);
    }
    throw new CliError(
      `the download stopped: ${(error as Error).message}; nothing was saved`,
      ExitCode.Failed,
    );
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== expected) {
    await rm(partial, { force: true });
    throw new CliError(
      `the archive came with sha256 ${sha256}, the store recorded ${expected}: nothing was saved`,
      ExitCode.Failed,
    );
  }
  // link() fails if the file appeared meanwhile, where rename() would replace it.
  await link(partial, file);
  await unlink(partial);
  return { file, bytes, sha256 };
}

/** The master's name for it, reduced to a plain file name in the current directory. */
function suggestedName(
  disposition: string | null,
  request: { domain: string; backupId: string; part: string },
): string {
  const offered = /filename="([^"]+)"/.exec(disposition ?? '')?.[1];
  const name = offered ? basename(offered) : '';
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)
    ? name
    : `${request.domain}-${request.backupId}-${request.part === 'files' ? 'files.tar.gz' : 'database.sql.gz'}`;
}
