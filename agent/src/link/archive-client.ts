import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import {
  ARCHIVE_CHUNK_BYTES,
  type AgentServiceClient,
  type ArchiveChunk,
  type ArchiveChunk__Output,
  type AttemptRef,
  type PutArchiveResult__Output,
} from '../../../shared/src/protocol.js';

export interface PutArchiveOptions {
  /** The archive the master reserved for this attempt. */
  archiveId: string;
  ref: AttemptRef;
  /** Read lazily, one chunk at a time as gRPC takes them. */
  source: Readable | AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>;
  /** The expected size, when known; the upload fails if the source gives another. */
  size?: number;
  signal?: AbortSignal;
  /** Called with the bytes sent so far. */
  onProgress?: (bytes: number) => void;
}

export interface GetArchiveOptions {
  archiveId: string;
  ref: AttemptRef;
  /** Receives the bytes; ended once they all arrived and matched the trailer, destroyed otherwise. */
  destination: Writable;
  signal?: AbortSignal;
  /** Called with the bytes received so far and the size the master announced (0 when unknown). */
  onProgress?: (bytes: number, total: number) => void;
}

export interface ArchiveTransferResult {
  archiveId: string;
  /** Lowercase hex. */
  sha256: string;
  size: number;
}

/** What steps see of the archive link. */
export interface ArchiveTransfers {
  putArchive(options: PutArchiveOptions): Promise<ArchiveTransferResult>;
  getArchive(options: GetArchiveOptions): Promise<ArchiveTransferResult>;
}

/**
 * Streams archives to and from the master (PutArchive, GetArchive): header, data chunks of at
 * most ARCHIVE_CHUNK_BYTES, trailer with sha256 and size, checked at both ends. Both directions
 * wait for the other side (gRPC flow control, the destination's drain), so memory stays flat
 * whatever the size.
 */
export class ArchiveClient implements ArchiveTransfers {
  /** `client`: the master to talk to now (with several, the one the control stream is on). */
  constructor(client: AgentServiceClient | (() => AgentServiceClient)) {
    this.clientOf = typeof client === 'function' ? client : () => client;
  }

  private readonly clientOf: () => AgentServiceClient;

  private get client(): AgentServiceClient {
    return this.clientOf();
  }

  async putArchive(options: PutArchiveOptions): Promise<ArchiveTransferResult> {
    const { archiveId, ref, signal } = options;
    throwIfAborted(signal);
    let call!: grpc.ClientWritableStream<ArchiveChunk>;
    const answer = new Promise<PutArchiveResult__Output>((resolve, reject) => {
      call = this.client.PutArchive((error, result) => {
        if (error) reject(error);
        else if (result) resolve(result);
        else reject(new Error('PutArchive answered nothing'));
      });
    });
    // A failure of the call is awaited below; until then it must not count as unhandled.
    answer.catch(() => undefined);
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });

    const hash = createHash('sha256');
    let size = 0;
    try {
      await writeChunk(call, answer, {
        header: { archiveId, ref, size: String(options.size ?? 0) },
      });
      for await (const chunk of options.source as
        AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array>) {
        const bytes =
          typeof chunk === 'string'
            ? Buffer.from(chunk)
            : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        for (let offset = 0; offset < bytes.length; offset += ARCHIVE_CHUNK_BYTES) {
          const piece = bytes.subarray(offset, offset + ARCHIVE_CHUNK_BYTES);
          hash.update(piece);
          size += piece.length;
          await writeChunk(call, answer, { data: piece });
          throwIfAborted(signal);
        }
        options.onProgress?.(size);
      }
      if (options.size !== undefined && options.size !== size) {
        throw transferFailed(
          `the archive source gave ${size} bytes where ${options.size} were expected`,
          false,
        );
      }
      const sha256 = hash.digest('hex');
      await writeChunk(call, answer, { trailer: { sha256, size: String(size) } });
      call.end();
      const result = await answer;
      if (result.sha256.toLowerCase() !== sha256 || result.size !== String(size)) {
        throw transferFailed(
          `the master stored archive ${archiveId} with sha256 ${result.sha256 || '(none)'} and ${result.size} bytes, ` +
            `but ${sha256} and ${size} bytes were sent`,
          true,
        );
      }
      return { archiveId, sha256, size };
    } catch (error) {
      call.cancel();
      throw asTransferError(error, signal, `uploading archive ${archiveId}`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async getArchive(options: GetArchiveOptions): Promise<ArchiveTransferResult> {
    const { archiveId, ref, destination, signal } = options;
    throwIfAborted(signal);
    const call = this.client.GetArchive({ archiveId, ref });
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });

    const hash = createHash('sha256');
    let size = 0;
    let expectedSize: string | undefined;
    let trailer: { sha256: string; size: string } | undefined;
    try {
      for await (const chunk of call as AsyncIterable<ArchiveChunk__Output>) {
        switch (chunk.kind) {
          case 'header': {
            if (expectedSize !== undefined) throw transferFailed('the master sent a second header', true);
            if (chunk.header?.archiveId && chunk.header.archiveId !== archiveId) {
              throw transferFailed(
                `the master sent archive ${chunk.header.archiveId} instead of ${archiveId}`,
                false,
              );
            }
            expectedSize = chunk.header?.size ?? '0';
            break;
          }
          case 'data': {
            if (expectedSize === undefined)
              throw transferFailed('the master sent data before the header', true);
            if (trailer) throw transferFailed('the master sent data after the trailer', true);
            const data = chunk.data ?? Buffer.alloc(0);
            hash.update(data);
            size += data.length;
            if (!destination.write(data)) await drained(destination);
            options.onProgress?.(size, Number(expectedSize) || 0);
            break;
          }
          case 'trailer': {
            if (trailer) throw transferFailed('the master sent a second trailer', true);
            trailer = { sha256: chunk.trailer?.sha256 ?? '', size: chunk.trailer?.size ?? '' };
            break;
          }
          case undefined:
            throw transferFailed('the master sent an empty chunk', true);
        }
      }
      throwIfAborted(signal);
      if (expectedSize === undefined) throw transferFailed('the master sent no header', true);
      if (!trailer) {
        throw transferFailed(`the transfer ended after ${size} bytes without a trailer (cut short)`, true);
      }
      const sha256 = hash.digest('hex');
      if (trailer.size !== String(size)) {
        throw transferFailed(`received ${size} bytes but the trailer says ${trailer.size}`, true);
      }
      if (expectedSize !== '0' && expectedSize !== String(size)) {
        throw transferFailed(`received ${size} bytes but the header announced ${expectedSize}`, true);
      }
      if (trailer.sha256.toLowerCase() !== sha256) {
        throw transferFailed(
          `the received bytes have sha256 ${sha256} but the trailer says ${trailer.sha256}`,
          true,
        );
      }
      destination.end();
      await finished(destination);
      return { archiveId, sha256, size };
    } catch (error) {
      call.cancel();
      // Without an error argument: the caller owns the destination's error handling.
      destination.destroy();
      throw asTransferError(error, signal, `downloading archive ${archiveId}`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** Writes one chunk, and waits for gRPC to take more when its buffer is full (or for the call to fail). */
async function writeChunk(
  call: grpc.ClientWritableStream<ArchiveChunk>,
  answer: Promise<unknown>,
  chunk: ArchiveChunk,
): Promise<void> {
  if (call.write(chunk)) return;
  await Promise.race([
    once(call, 'drain'),
    answer.then(() => Promise.reject(new Error('the master answered before the upload ended'))),
  ]);
}

async function drained(stream: Writable): Promise<void> {
  if (stream.destroyed) throw transferFailed('the destination was closed during the download', false);
  await new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(transferFailed('the destination was closed during the download', false));
    };
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

async function finished(stream: Writable): Promise<void> {
  if (stream.writableFinished) return;
  await Promise.race([once(stream, 'finish'), once(stream, 'close')]);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof StepError
    ? reason
    : new StepError({
        code: StepErrorCode.Cancelled,
        message: 'the transfer was cancelled',
        retryable: false,
      });
}

function transferFailed(message: string, retryable: boolean): StepError {
  return new StepError({ code: StepErrorCode.TransferFailed, message, retryable });
}

const FINAL_STATUSES = new Set<grpc.status>([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.ALREADY_EXISTS,
  grpc.status.PERMISSION_DENIED,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.UNAUTHENTICATED,
]);

function asTransferError(error: unknown, signal: AbortSignal | undefined, what: string): StepError {
  if (signal?.aborted) {
    try {
      throwIfAborted(signal);
    } catch (reason) {
      return reason as StepError;
    }
  }
  if (error instanceof StepError) {
    return error.code === StepErrorCode.TransferFailed
      ? new StepError({ ...error.toFailure(), message: `${what}: ${error.message}` })
      : error;
  }
  if (isServiceError(error)) {
    return transferFailed(
      `${what}: the master answered ${grpc.status[error.code] ?? error.code}: ${error.details || error.message}`,
      !FINAL_STATUSES.has(error.code),
    );
  }
  return transferFailed(`${what}: ${error instanceof Error ? error.message : String(error)}`, true);
}

export function isServiceError(error: unknown): error is grpc.ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<grpc.ServiceError>).code === 'number' &&
    'details' in error &&
    'metadata' in error
  );
}
