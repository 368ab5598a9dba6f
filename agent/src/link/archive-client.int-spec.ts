import * as grpc from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import {
  ARCHIVE_CHUNK_BYTES,
  type AgentServiceClient,
  type ArchiveChunk__Output,
  loadAgentProtocol,
} from '../../../shared/src/protocol.js';
import { ArchiveClient } from './archive-client.js';

/** What the tiny master below does wrong, on purpose, for one test. */
type Fault = 'none' | 'lie-about-stored-sha' | 'corrupt-trailer' | 'no-trailer' | 'flip-a-byte' | 'refuse';

interface Stored {
  header: { archiveId: string; attemptId: string; epoch: string; size: string } | undefined;
  trailer: { sha256: string; size: string } | undefined;
  data: Buffer;
  largestChunk: number;
  chunks: number;
}

const ref = { stepId: 'step-1', attemptId: 'attempt-1', epoch: '7' };

describe('ArchiveClient against a gRPC server', () => {
  let server: grpc.Server;
  let client: AgentServiceClient;
  let archives: ArchiveClient;
  let fault: Fault = 'none';
  let pauseAfterBytes = 0;
  let producedWhilePaused: (() => void) | undefined;
  const store = new Map<string, Stored>();

  beforeAll(async () => {
    const proto = loadAgentProtocol();
    server = new grpc.Server();
    server.addService(proto.berth.agent.v1.AgentService.service, {
      PutArchive: (
        call: grpc.ServerReadableStream<ArchiveChunk__Output, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        if (fault === 'refuse') {
          callback({ code: grpc.status.PERMISSION_DENIED, details: 'stale epoch 7' });
          return;
        }
        const stored: Stored = {
          header: undefined,
          trailer: undefined,
          data: Buffer.alloc(0),
          largestChunk: 0,
          chunks: 0,
        };
        const parts: Buffer[] = [];
        const discardHash = createHash('sha256');
        let received = 0;
        let paused = false;
        call.on('data', (chunk: ArchiveChunk__Output) => {
          if (chunk.header) {
            stored.header = {
              archiveId: chunk.header.archiveId,
              attemptId: chunk.header.ref?.attemptId ?? '',
              epoch: chunk.header.ref?.epoch ?? '',
              size: chunk.header.size,
            };
          } else if (chunk.data) {
            // Big uploads are hashed and dropped, so that the test measures the client, not a store.
            if (stored.header?.archiveId.startsWith('discard-')) discardHash.update(chunk.data);
            else parts.push(chunk.data);
            received += chunk.data.length;
            stored.chunks += 1;
            stored.largestChunk = Math.max(stored.largestChunk, chunk.data.length);
            if (pauseAfterBytes > 0 && received >= pauseAfterBytes && !paused) {
              paused = true;
              call.pause();
              setTimeout(() => {
                producedWhilePaused?.();
                call.resume();
              }, 500);
            }
          } else if (chunk.trailer) {
            stored.trailer = { sha256: chunk.trailer.sha256, size: chunk.trailer.size };
          }
        });
        call.on('end', () => {
          if (stored.header?.archiveId.startsWith('discard-')) {
            callback(null, {
              archiveId: stored.header.archiveId,
              sha256: discardHash.digest('hex'),
              size: String(received),
            });
            return;
          }
          stored.data = Buffer.concat(parts);
          const archiveId = stored.header?.archiveId ?? '';
          store.set(archiveId, stored);
          const sha256 = createHash('sha256').update(stored.data).digest('hex');
          callback(null, {
            archiveId,
            sha256:
              fault === 'lie-about-stored-sha'
                ? sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'))
                : sha256,
            size: String(stored.data.length),
          });
        });
      },
      GetArchive: (call: grpc.ServerWritableStream<{ archiveId: string }, unknown>) => {
        const generated = /^generated-(\d+)$/.exec(call.request.archiveId);
        if (generated) {
          void streamGenerated(call, Number(generated[1]));
          return;
        }
        const stored = store.get(call.request.archiveId);
        if (!stored) {
          call.emit('error', { code: grpc.status.NOT_FOUND, details: 'no such archive' });
          return;
        }
        const data = Buffer.from(stored.data);
        const sha256 = createHash('sha256').update(data).digest('hex');
        if (fault === 'flip-a-byte') data[data.length >> 1] = (data[data.length >> 1] ?? 0) ^ 0xff;
        call.write({ header: { archiveId: call.request.archiveId, ref, size: String(data.length) } });
        for (let offset = 0; offset < data.length; offset += ARCHIVE_CHUNK_BYTES) {
          call.write({ data: data.subarray(offset, offset + ARCHIVE_CHUNK_BYTES) });
        }
        if (fault === 'corrupt-trailer')
          call.write({ trailer: { sha256: '0'.repeat(64), size: String(data.length) } });
        else if (fault !== 'no-trailer') call.write({ trailer: { sha256, size: String(data.length) } });
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    client = new proto.berth.agent.v1.AgentService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    archives = new ArchiveClient(client);
  });

  afterAll(() => {
    client?.close();
    server.forceShutdown();
  });

  beforeEach(() => {
    fault = 'none';
    pauseAfterBytes = 0;
    producedWhilePaused = undefined;
    store.clear();
  });

  function hashingSink(): { sink: Writable; digest: () => string; bytes: () => number } {
    const hash = createHash('sha256');
    let bytes = 0;
    const sink = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        setImmediate(done);
      },
    });
    return { sink, digest: () => hash.digest('hex'), bytes: () => bytes };
  }

  async function failure(promise: Promise<unknown>): Promise<StepError> {
    try {
      await promise;
    } catch (error) {
      expect(error).toBeInstanceOf(StepError);
      return error as StepError;
    }
    throw new Error('expected the transfer to fail');
  }

  it('uploads in bounded chunks with header and trailer, and downloads the same bytes', async () => {
    const payload = randomBytes(5 * 1024 * 1024 + 123);
    const expected = createHash('sha256').update(payload).digest('hex');
    const progress: number[] = [];
    // One big buffer: the client must cut it into chunks of at most ARCHIVE_CHUNK_BYTES.
    const put = await archives.putArchive({
      archiveId: 'a-1',
      ref,
      source: Readable.from([payload.subarray(0, 1000), payload.subarray(1000)]),
      size: payload.length,
      onProgress: (bytes) => progress.push(bytes),
    });
    expect(put).toEqual({ archiveId: 'a-1', sha256: expected, size: payload.length });
    const stored = store.get('a-1');
    expect(stored?.header).toEqual({
      archiveId: 'a-1',
      attemptId: 'attempt-1',
      epoch: '7',
      size: String(payload.length),
    });
    expect(stored?.trailer).toEqual({ sha256: expected, size: String(payload.length) });
    expect(stored?.largestChunk).toBeLessThanOrEqual(ARCHIVE_CHUNK_BYTES);
    expect(stored?.chunks).toBeGreaterThanOrEqual(Math.ceil(payload.length / ARCHIVE_CHUNK_BYTES));
    expect(stored?.data.equals(payload)).toBe(true);
    expect(progress.at(-1)).toBe(payload.length);

    const { sink, digest, bytes } = hashingSink();
    const received: Array<[number, number]> = [];
    const got = await archives.getArchive({
      archiveId: 'a-1',
      ref,
      destination: sink,
      onProgress: (done, total) => received.push([done, total]),
    });
    expect(got).toEqual({ archiveId: 'a-1', sha256: expected, size: payload.length });
    // The size the master announced in its header comes with every progress report.
    expect(received.at(-1)).toEqual([payload.length, payload.length]);
    expect(received.every(([, total]) => total === payload.length)).toBe(true);
    expect(digest()).toBe(expected);
    expect(bytes()).toBe(payload.length);
    expect(sink.writableFinished).toBe(true);
  });

  it('rejects an upload whose stored sha256 the master reports differently', async () => {
    fault = 'lie-about-stored-sha';
    const error = await failure(
      archives.putArchive({ archiveId: 'a-2', ref, source: Readable.from([randomBytes(1000)]) }),
    );
    expect(error.code).toBe(StepErrorCode.TransferFailed);
    expect(error.message).toMatch(/uploading archive a-2: the master stored archive a-2 with sha256/);
  });

  it('rejects an upload whose source gives another size than announced', async () => {
    const error = await failure(
      archives.putArchive({ archiveId: 'a-3', ref, source: Readable.from([randomBytes(10)]), size: 11 }),
    );
    expect(error.code).toBe(StepErrorCode.TransferFailed);
    expect(error.message).toContain('gave 10 bytes where 11 were expected');
  });

  it('maps a refusal by the master to a final TRANSFER_FAILED', async () => {
    fault = 'refuse';
    const error = await failure(
      archives.putArchive({ archiveId: 'a-4', ref, source: Readable.from([randomBytes(4 * 1024 * 1024)]) }),
    );
    expect(error.code).toBe(StepErrorCode.TransferFailed);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('PERMISSION_DENIED: stale epoch 7');
  });

  it.each([
    ['corrupt-trailer', /the trailer says 0{64}/],
    ['flip-a-byte', /the trailer says [0-9a-f]{64}/],
    ['no-trailer', /without a trailer/],
  ] as const)('rejects a download with %s', async (kind, message) => {
    await archives.putArchive({ archiveId: 'a-5', ref, source: Readable.from([randomBytes(700_000)]) });
    fault = kind;
    const { sink } = hashingSink();
    const error = await failure(archives.getArchive({ archiveId: 'a-5', ref, destination: sink }));
    expect(error.code).toBe(StepErrorCode.TransferFailed);
    expect(error.message).toMatch(message);
    expect(sink.destroyed).toBe(true);
    expect(sink.writableFinished).toBe(false);
  });

  it('maps a missing archive to TRANSFER_FAILED naming the status', async () => {
    const { sink } = hashingSink();
    const error = await failure(archives.getArchive({ archiveId: 'nope', ref, destination: sink }));
    expect(error.code).toBe(StepErrorCode.TransferFailed);
    expect(error.message).toContain('NOT_FOUND');
  });

  it('does not read the source far ahead of a slow master (backpressure)', async () => {
    pauseAfterBytes = 1024 * 1024;
    let produced = 0;
    let producedAtPause = 0;
    producedWhilePaused = () => {
      producedAtPause = produced;
    };
    const total = 64 * 1024 * 1024;
    function* source(): Generator<Buffer> {
      const block = Buffer.alloc(64 * 1024, 1);
      while (produced < total) {
        produced += block.length;
        yield block;
      }
    }
    const put = await archives.putArchive({ archiveId: 'a-6', ref, source: source() });
    expect(put.size).toBe(total);
    // While the master held the stream for 500 ms, only buffers' worth was produced, not 64 MB.
    expect(producedAtPause).toBeGreaterThan(0);
    expect(producedAtPause).toBeLessThan(16 * 1024 * 1024);
  });

  it('keeps memory flat for 200 MB each way', async () => {
    const total = 200 * 1024 * 1024;
    let peakRss = 0;
    const baseline = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    try {
      function* blocks(): Generator<Buffer> {
        for (let sent = 0; sent < total; sent += 1024 * 1024) yield randomBytes(1024 * 1024);
      }
      const put = await archives.putArchive({ archiveId: 'discard-big', ref, source: blocks(), size: total });
      expect(put.size).toBe(total);

      const { sink, digest, bytes } = hashingSink();
      const got = await archives.getArchive({ archiveId: `generated-${total}`, ref, destination: sink });
      expect(got.size).toBe(total);
      expect(bytes()).toBe(total);
      expect(got.sha256).toBe(digest());
    } finally {
      clearInterval(sampler);
    }
    // Holding either direction in memory would add 200 MB; streaming adds a few buffers' worth.
    expect(peakRss - baseline).toBeLessThan(120 * 1024 * 1024);
  });

  it('stops a transfer when its signal is aborted', async () => {
    const controller = new AbortController();
    function* endless(): Generator<Buffer> {
      const block = Buffer.alloc(ARCHIVE_CHUNK_BYTES);
      for (let i = 0; ; i += 1) {
        if (i === 20) {
          controller.abort(
            new StepError({ code: StepErrorCode.Timeout, message: 'too slow', retryable: true }),
          );
        }
        yield block;
      }
    }
    const error = await failure(
      archives.putArchive({ archiveId: 'a-7', ref, source: endless(), signal: controller.signal }),
    );
    expect(error.code).toBe(StepErrorCode.Timeout);
  });
});

/** Streams `total` deterministic bytes with a correct trailer, waiting for the client (backpressure). */
async function streamGenerated(
  call: grpc.ServerWritableStream<{ archiveId: string }, unknown>,
  total: number,
) {
  const hash = createHash('sha256');
  const block = Buffer.alloc(ARCHIVE_CHUNK_BYTES);
  call.write({ header: { archiveId: call.request.archiveId, ref, size: String(total) } });
  for (let sent = 0, index = 0; sent < total; sent += block.length, index += 1) {
    block.fill(index & 0xff);
    const data = Buffer.from(block.subarray(0, Math.min(block.length, total - sent)));
    hash.update(data);
    if (!call.write({ data })) await once(call, 'drain');
  }
  call.write({ trailer: { sha256: hash.digest('hex'), size: String(total) } });
  call.end();
}
