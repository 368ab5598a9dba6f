import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { link, mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { GetArchiveRequest__Output } from '../../../generated/proto/berth/agent/v1/GetArchiveRequest.js';
import {
  ARCHIVE_CHUNK_BYTES,
  type ArchiveChunk,
  type ArchiveChunk__Output,
  type AttemptRef__Output,
} from '../../../shared/src/protocol.js';
import { mapWithConcurrency } from '../../../shared/src/concurrency.js';
import { isUuid } from '../../../shared/src/validation.js';
import type { MasterConfig } from '../infra/config/master-config.js';
import type { ArchiveInfo, ArchiveRepository, TransferRef } from './archive.repository.js';

export const ArchiveErrorCode = {
  /** The first chunk of an upload was not a header, or a field of it is malformed. */
  BadHeader: 'BAD_HEADER',
  /** The caller's attempt may not upload or download this archive (stale epoch, wrong server ...). */
  NotAuthorized: 'NOT_AUTHORIZED',
  /** Chunks out of order: a second header, data after the trailer, an empty chunk. */
  BadSequence: 'BAD_SEQUENCE',
  /** A data chunk larger than ARCHIVE_CHUNK_BYTES, or more bytes than the header announced. */
  TooLarge: 'TOO_LARGE',
  /** The upload ended without a trailer: the bytes may be incomplete. */
  Truncated: 'TRUNCATED',
  /** The bytes do not match their sha256 or size (on upload, or a stored file that changed). */
  ChecksumMismatch: 'CHECKSUM_MISMATCH',
  /** The archive's file is gone from the store while the registry says it is stored. */
  FileMissing: 'FILE_MISSING',
  /** Another upload stored this archive first, or it stopped being reserved during the upload. */
  Conflict: 'CONFLICT',
} as const;
export type ArchiveErrorCode = (typeof ArchiveErrorCode)[keyof typeof ArchiveErrorCode];

export class ArchiveError extends Error {
  readonly code: ArchiveErrorCode;
  constructor(code: ArchiveErrorCode, message: string) {
    super(message);
    this.name = 'ArchiveError';
    this.code = code;
  }
}

/** Shaped like the PutArchiveResult message. Int64 fields are decimal strings. */
export interface StoredArchive {
  archiveId: string;
  sha256: string;
  size: string;
}

/**
 * An archive's file read again against what it was stored with: `ok`, `mismatch` (changed since),
 * `missing` (the file is gone), or `not-stored` (the registry has it reserved or deleted).
 */
export interface ArchiveCheck {
  archiveId: string;
  state: 'ok' | 'mismatch' | 'missing' | 'not-stored';
  expected: { sha256: string | null; bytes: number };
  found: { sha256: string; bytes: number } | null;
}

/** What the store reports for monitoring (MasterMetrics implements it). */
export interface ArchiveMetrics {
  /** An upload was stored whole and verified. */
  archiveStored(purpose: string, bytes: number): void;
}

const PURPOSE = /^[a-z][a-z0-9.-]{0,31}$/;
/** Files removed at once, and rows marked deleted per statement, by removeMany. */
const REMOVE_CONCURRENCY = 16;
const REMOVE_BATCH = 1_000;
const EPOCH = /^[1-9][0-9]{0,17}$/;
const SIZE = /^(0|[1-9][0-9]{0,17})$/;

/**
 * The master's archive store (backups, transfer checks): files under <dataDir>/store/archives named
 * by archive id, written only through a temp file that is renamed into place once the bytes arrived
 * whole and their sha256 matched. Uploads and downloads stream chunk by chunk with backpressure, so
 * memory stays flat whatever the size.
 */
export class ArchiveStore {
  private readonly archivesDir: string;
  private readonly tmpDir: string;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly archives: ArchiveRepository,
    config: Pick<MasterConfig, 'dataDir'> & Partial<Pick<MasterConfig, 'masterId'>>,
    private readonly logger: Logger,
    private readonly metrics: ArchiveMetrics = { archiveStored: () => undefined },
  ) {
    this.archivesDir = join(config.dataDir, 'store', 'archives');
    // Uploads in flight, per master: several masters may share one store (a shared file system), and
    // one starting must only clear what it left itself.
    this.tmpDir = join(config.dataDir, 'store', 'tmp', config.masterId ?? 'master');
  }

  /** Creates the store's directories and removes temp files a previous run of this master left behind. */
  start(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.archivesDir, { recursive: true, mode: 0o700 });
      await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
      const leftovers = await readdir(this.tmpDir);
      await Promise.all(leftovers.map((name) => rm(join(this.tmpDir, name), { force: true })));
      if (leftovers.length > 0) this.logger.info({ count: leftovers.length }, 'removed unfinished uploads');
    })();
    return this.ready;
  }

  /** Reserves an archive that an attempt on `serverId` will upload; its step params must name it. */
  async reserve(serverId: string, purpose: string, attemptId: string | null = null): Promise<string> {
    if (!PURPOSE.test(purpose)) throw new Error(`archive purpose "${purpose}" is not a short lowercase name`);
    return this.archives.reserve(serverId, purpose, attemptId);
  }

  async info(archiveId: string): Promise<ArchiveInfo | undefined> {
    return isUuid(archiveId) ? this.archives.find(archiveId) : undefined;
  }

  path(archiveId: string): string {
    if (!isUuid(archiveId)) throw new Error(`"${String(archiveId)}" is not an archive id`);
    return join(this.archivesDir, archiveId);
  }

  /** The names of the files in the store (archive ids, if nothing else wrote there), with their mtimes. */
  async files(): Promise<Array<{ name: string; modifiedAt: Date }>> {
    await this.start();
    const names = await readdir(this.archivesDir);
    const found = await Promise.all(
      names.map(async (name) => {
        try {
          return { name, modifiedAt: (await stat(join(this.archivesDir, name))).mtime };
        } catch {
          return undefined; // removed meanwhile
        }
      }),
    );
    return found.filter((file) => file !== undefined);
  }

  /** Removes a file of the store that no archive row names (the garbage collector's repair). */
  async removeStrayFile(name: string): Promise<void> {
    if (name.includes('/') || name === '.' || name === '..')
      throw new Error(`"${name}" is not a file of the store`);
    await rm(join(this.archivesDir, name), { force: true });
    this.logger.warn({ file: name }, 'removed a file of the store that no archive names');
  }

  /**
   * Deletes many archives (the garbage collector): their files a few at a time, then their rows in
   * batches, instead of one statement per archive.
   */
  async removeMany(archiveIds: readonly string[]): Promise<void> {
    const ids = [...new Set(archiveIds)];
    await mapWithConcurrency(ids, REMOVE_CONCURRENCY, (id) => rm(this.path(id), { force: true }));
    for (let start = 0; start < ids.length; start += REMOVE_BATCH) {
      await this.archives.markManyDeleted(ids.slice(start, start + REMOVE_BATCH));
    }
    if (ids.length > 0) this.logger.info({ count: ids.length }, 'removed archives');
  }

  /**
   * Reads a stored archive's file whole and compares it with the sha256 and size it was stored
   * with (a restore test; backups nobody restores would otherwise rot unseen). Never throws for a
   * file that is missing or changed: that is the answer.
   */
  async check(archiveId: string): Promise<ArchiveCheck> {
    const archive = await this.info(archiveId);
    const expected = { sha256: archive?.sha256 ?? null, bytes: Number(archive?.sizeBytes ?? 0) };
    if (archive?.state !== 'stored') return { archiveId, state: 'not-stored', expected, found: null };
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      const file = await open(this.path(archiveId), 'r');
      try {
        for await (const chunk of file.createReadStream({ highWaterMark: ARCHIVE_CHUNK_BYTES })) {
          hash.update(chunk as Buffer);
          bytes += (chunk as Buffer).length;
        }
      } finally {
        await file.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return { archiveId, state: 'missing', expected, found: null };
    }
    const found = { sha256: hash.digest('hex'), bytes };
    const matches = found.sha256 === expected.sha256 && found.bytes === expected.bytes;
    return { archiveId, state: matches ? 'ok' : 'mismatch', expected, found };
  }

  /**
   * Puts a stored archive's file back from elsewhere (an off-site copy): `write` fills a temp file
   * and returns what it wrote; only bytes whose sha256 and size are the ones the archive was stored
   * with are published, over a damaged file if there is one. Anything else leaves the store as it was.
   */
  async restoreFile(
    archiveId: string,
    write: (tempFile: string) => Promise<{ sha256: string; bytes: number }>,
  ): Promise<void> {
    await this.start();
    const archive = await this.info(archiveId);
    if (archive?.state !== 'stored' || archive.sha256 === null) {
      throw new ArchiveError(
        ArchiveErrorCode.NotAuthorized,
        `archive ${archiveId} is not stored: nothing to put back`,
      );
    }
    const temp = join(this.tmpDir, `${archiveId}.${randomBytes(8).toString('hex')}.part`);
    try {
      const written = await write(temp);
      if (written.sha256 !== archive.sha256 || String(written.bytes) !== archive.sizeBytes) {
        throw new ArchiveError(
          ArchiveErrorCode.ChecksumMismatch,
          `sha256 mismatch: ${written.bytes} bytes with sha256 ${written.sha256} came back for archive ${archiveId}, ` +
            `stored as ${archive.sizeBytes} bytes with sha256 ${archive.sha256}; the store was left as it was`,
        );
      }
      const file = await open(temp, 'r+');
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path(archiveId));
      await this.syncArchivesDir();
      this.logger.warn({ archiveId }, 'put an archive back into the store from elsewhere');
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Deletes an archive's file and marks it deleted. */
  async remove(archiveId: string): Promise<void> {
    await rm(this.path(archiveId), { force: true });
    await this.archives.markDeleted(archiveId);
    this.logger.info({ archiveId }, 'removed an archive');
  }

  /**
   * Receives an upload (PutArchive): header, data chunks, trailer, then the end of the stream.
   * Pulls one chunk at a time, so gRPC flow control holds the sender while the disk catches up.
   * On any failure the temp file is removed and the archive stays reserved.
   */
  async receive(serverId: string, chunks: AsyncIterable<ArchiveChunk__Output>): Promise<StoredArchive> {
    await this.start();
    const iterator = chunks[Symbol.asyncIterator]();
    const first = await iterator.next();
    const firstChunk: ArchiveChunk__Output | undefined = first.done ? undefined : first.value;
    const header = firstChunk?.kind === 'header' ? firstChunk.header : undefined;
    if (!header) {
      throw new ArchiveError(ArchiveErrorCode.BadHeader, 'the first chunk of PutArchive must be a header');
    }
    const archiveId = header.archiveId;
    const ref = transferRef(header.ref);
    if (!isUuid(archiveId) || !ref || !SIZE.test(header.size)) {
      throw new ArchiveError(
        ArchiveErrorCode.BadHeader,
        'the PutArchive header needs an archive id, a step id, an attempt id, an epoch and a size',
      );
    }
    const upload = await this.archives.mayUpload(archiveId, ref, serverId);
    if (!upload) throw notAuthorized(archiveId, 'upload');
    const log = this.logger.child({
      taskId: upload.taskId,
      stepId: ref.stepId,
      attemptId: ref.attemptId,
      archiveId,
      serverId,
    });
    const expectedSize = BigInt(header.size);
    const temp = join(this.tmpDir, `${archiveId}.${randomBytes(8).toString('hex')}.part`);
    let file: FileHandle | undefined = await open(temp, 'wx', 0o600);
    try {
      const hash = createHash('sha256');
      let received = 0n;
      let trailer: { sha256: string; size: string } | undefined;
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        const chunk = next.value;
        if (trailer) {
          throw new ArchiveError(
            ArchiveErrorCode.BadSequence,
            'PutArchive sent more chunks after its trailer',
          );
        }
        if (chunk.kind === 'data' && chunk.data) {
          if (chunk.data.length > ARCHIVE_CHUNK_BYTES) {
            throw new ArchiveError(
              ArchiveErrorCode.TooLarge,
              `a data chunk of ${chunk.data.length} bytes is larger than ${ARCHIVE_CHUNK_BYTES}: split it`,
            );
          }
          received += BigInt(chunk.data.length);
          if (expectedSize > 0n && received > expectedSize) {
            throw new ArchiveError(
              ArchiveErrorCode.TooLarge,
              `more than the ${expectedSize} bytes the header announced arrived`,
            );
          }
          hash.update(chunk.data);
          await writeAll(file, chunk.data);
        } else if (chunk.kind === 'trailer' && chunk.trailer) {
          trailer = chunk.trailer;
        } else {
          throw new ArchiveError(
            ArchiveErrorCode.BadSequence,
            `PutArchive sent an unexpected ${chunk.kind ?? 'empty'} chunk`,
          );
        }
      }
      if (!trailer) {
        throw new ArchiveError(
          ArchiveErrorCode.Truncated,
          `the upload ended after ${received} bytes without a trailer; nothing was stored: upload it again`,
        );
      }
      const sha256 = hash.digest('hex');
      const size = received.toString();
      if (
        trailer.sha256.toLowerCase() !== sha256 ||
        trailer.size !== size ||
        (expectedSize > 0n && received !== expectedSize)
      ) {
        throw new ArchiveError(
          ArchiveErrorCode.ChecksumMismatch,
          `sha256 mismatch: ${size} bytes with sha256 ${sha256} arrived, the trailer says ${trailer.size} bytes ` +
            `with sha256 ${trailer.sha256}; nothing was stored: upload it again`,
        );
      }
      await file.sync();
      await file.close();
      file = undefined;
      await this.moveIntoPlace(temp, archiveId);
      if (!(await this.archives.markStored(archiveId, ref, serverId, { sha256, sizeBytes: size }))) {
        const now = await this.archives.find(archiveId);
        if (now?.state !== 'stored') await rm(this.path(archiveId), { force: true });
        throw new ArchiveError(
          ArchiveErrorCode.Conflict,
          `archive ${archiveId} stopped being reserved for this attempt during the upload; it was not stored`,
        );
      }
      log.info({ sha256, size }, 'stored an archive');
      this.metrics.archiveStored(upload.purpose, Number(size));
      return { archiveId, sha256, size };
    } catch (error) {
      await file?.close().catch(() => undefined);
      await rm(temp, { force: true });
      // Stop reading the call: the sender gets the error status.
      await iterator.return?.().catch(() => undefined);
      log.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        'refused an archive upload',
      );
      throw error;
    }
  }

  /**
   * Sends a stored archive (GetArchive): header, data chunks read from the file as the receiver
   * takes them, then the trailer with the stored sha256 and size. The bytes are hashed again on the
   * way out; if the file no longer matches, this throws DATA_LOSS instead of sending the trailer.
   */
  async send(
    serverId: string,
    request: GetArchiveRequest__Output,
    out: Writable,
    signal?: AbortSignal,
  ): Promise<void> {
    const ref = transferRef(request.ref);
    if (!isUuid(request.archiveId) || !ref) {
      throw new ArchiveError(
        ArchiveErrorCode.BadHeader,
        'GetArchive needs an archive id, a step id, an attempt id and an epoch',
      );
    }
    const archive = await this.archives.mayDownload(request.archiveId, ref, serverId);
    if (!archive || archive.sha256 === null || archive.sizeBytes === null) {
      throw notAuthorized(request.archiveId, 'download');
    }
    const log = this.logger.child({
      taskId: archive.taskId,
      stepId: ref.stepId,
      attemptId: ref.attemptId,
      archiveId: archive.id,
      serverId,
    });
    let file: FileHandle;
    try {
      file = await open(this.path(archive.id), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      log.error('a stored archive is missing from the store');
      throw new ArchiveError(
        ArchiveErrorCode.FileMissing,
        `archive ${archive.id} is recorded as stored but its file is missing from the master's store`,
      );
    }
    try {
      await writeChunk(
        out,
        { header: { archiveId: archive.id, ref: request.ref, size: archive.sizeBytes } },
        signal,
      );
      const hash = createHash('sha256');
      let sent = 0n;
      for (;;) {
        signal?.throwIfAborted();
        const buffer = Buffer.allocUnsafe(ARCHIVE_CHUNK_BYTES);
        const { bytesRead } = await file.read(buffer, 0, ARCHIVE_CHUNK_BYTES, null);
        if (bytesRead === 0) break;
        const data = buffer.subarray(0, bytesRead);
        hash.update(data);
        sent += BigInt(bytesRead);
        await writeChunk(out, { data }, signal);
      }
      const sha256 = hash.digest('hex');
      if (sha256 !== archive.sha256 || sent.toString() !== archive.sizeBytes) {
        log.error({ sha256, size: sent.toString() }, 'a stored archive no longer matches its sha256');
        throw new ArchiveError(
          ArchiveErrorCode.ChecksumMismatch,
          `sha256 mismatch: archive ${archive.id} in the master's store no longer matches what was stored ` +
            `(${sent} bytes, sha256 ${sha256}; expected ${archive.sizeBytes} bytes, sha256 ${archive.sha256})`,
        );
      }
      await writeChunk(out, { trailer: { sha256, size: archive.sizeBytes } }, signal);
      log.info({ size: archive.sizeBytes }, 'sent an archive');
    } finally {
      await file.close();
    }
  }

  /** Makes the archives directory's entries durable (a rename is only on disk once its directory is). */
  private async syncArchivesDir(): Promise<void> {
    const dir = await open(this.archivesDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Publishes a complete temp file under the archive's name; the same name is never half written. */
  private async moveIntoPlace(temp: string, archiveId: string): Promise<void> {
    const final = this.path(archiveId);
    try {
      await link(temp, final);
      await rm(temp, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A file under this name and a row still reserved: left by a crash between the rename and
      // the UPDATE. This upload replaces it. A stored row means another upload won.
      const now = await this.archives.find(archiveId);
      if (now?.state !== 'reserved') {
        throw new ArchiveError(ArchiveErrorCode.Conflict, `archive ${archiveId} is already stored`);
      }
      await rename(temp, final);
    }
    await this.syncArchivesDir();
  }
}

function notAuthorized(archiveId: string, what: 'upload' | 'download'): ArchiveError {
  return new ArchiveError(
    ArchiveErrorCode.NotAuthorized,
    `this agent's attempt may not ${what} archive ${archiveId}: the archive is not ${
      what === 'upload' ? 'reserved for this server' : 'stored'
    }, or the attempt is not the step's current one (stale epoch) or not named by the step`,
  );
}

function transferRef(ref: AttemptRef__Output | null | undefined): TransferRef | undefined {
  if (!ref || !isUuid(ref.stepId) || !isUuid(ref.attemptId) || !EPOCH.test(ref.epoch)) return undefined;
  return { stepId: ref.stepId, attemptId: ref.attemptId, epoch: ref.epoch };
}

async function writeAll(file: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await file.write(data, offset, data.length - offset, null);
    offset += bytesWritten;
  }
}

/** Writes one chunk and, when the stream's buffer is full, waits until the receiver took it. */
async function writeChunk(
  out: Writable,
  chunk: ArchiveChunk,
  signal: AbortSignal | undefined,
): Promise<void> {
  signal?.throwIfAborted();
  if (!out.write(chunk)) await once(out, 'drain', { signal });
}
