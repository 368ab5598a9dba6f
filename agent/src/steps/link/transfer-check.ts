import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { isUuid } from '../../../../shared/src/validation.js';
import { integerParam, paramsObject } from '../params.js';
import type { StepHandler } from '../step.js';

export const MAX_TRANSFER_CHECK_BYTES = 8 * 1024 ** 3;
const BLOCK_BYTES = 1024 * 1024;

/**
 * Checks the archive link both ways: uploads `bytes` of random data to the archive the master
 * reserved, downloads it back, and compares the sha256 of what went and what came back.
 */
export const linkTransferCheck: StepHandler<'link.transfer-check'> = {
  name: 'link.transfer-check',
  parseParams(input) {
    const object = paramsObject(input, ['archiveId', 'bytes']);
    if (!object.ok) return object;
    if (!isUuid(object.value.archiveId)) {
      return { ok: false, failure: { field: 'archiveId', message: 'archiveId must be a lowercase UUID' } };
    }
    const bytes = integerParam('bytes', object.value.bytes, 1, MAX_TRANSFER_CHECK_BYTES);
    if (!bytes.ok) return bytes;
    return { ok: true, value: { archiveId: object.value.archiveId, bytes: bytes.value } };
  },
  async run({ archiveId, bytes }, context) {
    const { ref, signal } = context;
    context.note(`uploading ${bytes} random bytes to archive ${archiveId}`);
    const uploadStarted = performance.now();
    const upload = await context.archives.putArchive({
      archiveId,
      ref,
      source: Readable.from(randomBlocks(bytes)),
      size: bytes,
      signal,
      onProgress: (done) => context.progress('upload', done, bytes, 'bytes'),
    });
    const uploadMs = Math.round(performance.now() - uploadStarted);
    context.progress('upload', bytes, bytes, 'bytes');

    context.note(`uploaded in ${uploadMs} ms (sha256 ${upload.sha256}); downloading it back`);
    const downloadStarted = performance.now();
    const sink = hashingSink();
    const download = await context.archives.getArchive({
      archiveId,
      ref,
      destination: sink.stream,
      signal,
      onProgress: (done) => context.progress('download', done, bytes, 'bytes'),
    });
    const downloadMs = Math.round(performance.now() - downloadStarted);
    context.progress('download', download.size, bytes, 'bytes');

    const received = sink.digest();
    if (received !== upload.sha256 || download.sha256 !== upload.sha256 || download.size !== bytes) {
      throw new StepError({
        code: StepErrorCode.TransferFailed,
        message:
          `the archive came back different: sent ${bytes} bytes with sha256 ${upload.sha256}, ` +
          `received ${download.size} bytes with sha256 ${received}`,
        retryable: true,
      });
    }
    context.note(`downloaded in ${downloadMs} ms; both directions match`);
    return { sha256: upload.sha256, bytes, uploadMs, downloadMs };
  },
};

/** Random bytes in 1 MiB blocks, made on demand so that memory stays flat. */
function* randomBlocks(total: number): Generator<Buffer> {
  for (let left = total; left > 0; left -= BLOCK_BYTES) {
    yield randomBytes(Math.min(left, BLOCK_BYTES));
  }
}

function hashingSink(): { stream: Writable; digest: () => string } {
  const hash = createHash('sha256');
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done();
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}
