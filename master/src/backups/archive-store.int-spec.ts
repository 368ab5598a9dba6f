import * as grpc from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARCHIVE_CHUNK_BYTES,
  type AgentServiceClient,
  type ArchiveChunk,
  type ArchiveChunk__Output,
  type AttemptRef__Output,
  type PutArchiveResult__Output,
} from '../../../shared/src/protocol.js';
import { packageRoot } from '../../../shared/src/package-root.js';
import { TEST_DATABASE_KINDS } from '../../../test/support/test-database.js';
import {
  seedAttempt,
  sleep,
  startAgentLink,
  type AgentLinkKit,
  type EnrolledAgent,
} from '../infra/grpc/agent-link.testing.js';

interface Upload {
  call: grpc.ClientWritableStream<ArchiveChunk>;
  result: Promise<PutArchiveResult__Output>;
}

function startUpload(client: AgentServiceClient): Upload {
  let call!: grpc.ClientWritableStream<ArchiveChunk>;
  const result = new Promise<PutArchiveResult__Output>((resolve, reject) => {
    call = client.PutArchive((error, response) =>
      error || !response ? reject(error ?? new Error('no response')) : resolve(response),
    );
  });
  return { call, result };
}

/** Writes chunks the way an agent does: waiting for 'drain' when gRPC says its buffer is full. */
async function write(call: grpc.ClientWritableStream<ArchiveChunk>, chunk: ArchiveChunk): Promise<void> {
  if (!call.write(chunk)) await once(call, 'drain');
}

async function upload(
  client: AgentServiceClient,
  header: { archiveId: string; ref: AttemptRef__Output; size?: number },
  data: Buffer,
  trailer: { sha256: string; size: string } | 'none' = {
    sha256: createHash('sha256').update(data).digest('hex'),
    size: String(data.length),
  },
): Promise<PutArchiveResult__Output> {
  const { call, result } = startUpload(client);
  result.catch(() => undefined);
  await write(call, {
    header: { archiveId: header.archiveId, ref: header.ref, size: String(header.size ?? 0) },
  });
  for (let offset = 0; offset < data.length; offset += ARCHIVE_CHUNK_BYTES) {
    await write(call, { data: data.subarray(offset, offset + ARCHIVE_CHUNK_BYTES) });
  }
  if (trailer !== 'none') await write(call, { trailer });
  call.end();
  return result;
}

async function download(
  client: AgentServiceClient,
  archiveId: string,
  ref: AttemptRef__Output,
): Promise<{ chunks: ArchiveChunk__Output[]; data: Buffer; error?: grpc.ServiceError }> {
  const chunks: ArchiveChunk__Output[] = [];
  const call = client.GetArchive({ archiveId, ref });
  try {
    for await (const chunk of call as AsyncIterable<ArchiveChunk__Output>) chunks.push(chunk);
  } catch (error) {
    return { chunks, data: dataOf(chunks), error: error as grpc.ServiceError };
  }
  return { chunks, data: dataOf(chunks) };
}

function dataOf(chunks: ArchiveChunk__Output[]): Buffer {
  return Buffer.concat(chunks.filter((chunk) => chunk.kind === 'data').map((chunk) => chunk.data!));
}

async function rejection(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

/**
 * A stand-in agent for the memory test, in plain JavaScript so that a bare `node` runs it: uploads
 * `total` bytes with backpressure, then downloads them slowly, and prints both sha256s.
 */
const TRANSFER_AGENT_SCRIPT = `
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
const t = JSON.parse(process.env.TRANSFER);
const definition = protoLoader.loadSync('proto/berth/agent/v1/agent.proto', {
  includeDirs: ['proto'], longs: String, enums: String, defaults: true, oneofs: true,
});
const Service = grpc.loadPackageDefinition(definition).berth.agent.v1.AgentService;
const client = new Service(t.target, grpc.credentials.createSsl(Buffer.from(t.ca), Buffer.from(t.key), Buffer.from(t.cert)));
const hash = createHash('sha256');
let call;
const stored = new Promise((resolve, reject) => {
  call = client.PutArchive((error, response) => (error ? reject(error) : resolve(response)));
});
const write = async (chunk) => { if (!call.write(chunk)) await once(call, 'drain'); };
await write({ header: { archiveId: t.archiveId, ref: t.ref, size: String(t.total) } });
for (let sent = 0, n = 0; sent < t.total; sent += t.chunk, n++) {
  const block = Buffer.alloc(t.chunk, n % 251);
  block.writeUInt32BE(n, 0);
  hash.update(block);
  await write({ data: block });
}
await write({ trailer: { sha256: hash.digest('hex'), size: String(t.total) } });
call.end();
const result = await stored;
const check = createHash('sha256');
let n = 0;
for await (const chunk of client.GetArchive({ archiveId: t.archiveId, ref: t.ref })) {
  if (chunk.data && chunk.data.length) check.update(chunk.data);
  if (++n % 32 === 0) await new Promise((r) => setTimeout(r, 1));
}
process.stdout.write(JSON.stringify({ stored: result, downloaded: check.digest('hex') }));
client.close();
`;

describe.each(TEST_DATABASE_KINDS)('archive store over gRPC on %s', (kind) => {
  let kit: AgentLinkKit;
  let agent: EnrolledAgent;
  let client: AgentServiceClient;
  const storeDir = (sub: 'archives' | 'tmp') => join(kit.database.dataDir, 'store', sub);
  /** Uploads in flight: files under store/tmp (a directory per master). */
  const tmpFiles = () =>
    readdirSync(storeDir('tmp'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);

  beforeAll(async () => {
    kit = await startAgentLink(kind);
    agent = await kit.enrollNew(`store-${kind}`);
    client = kit.client(agent);
  });

  afterAll(async () => {
    await kit?.stop();
  });

  async function reservedFor(target: EnrolledAgent = agent) {
    const archiveId = await kit.archives.reserve(target.serverId, 'transfer-check');
    const attempt = await seedAttempt(kit.db, { serverId: target.serverId, archiveId });
    return { archiveId, ...attempt };
  }

  async function expectNothingLeft(archiveId: string) {
    // The temp file is removed right after the error status is sent.
    for (let i = 0; i < 50 && tmpFiles().length > 0; i++) await sleep(20);
    expect(tmpFiles()).toEqual([]);
    expect(readdirSync(storeDir('archives'))).not.toContain(archiveId);
    expect((await kit.archives.info(archiveId))?.state).toBe('reserved');
  }

  it('stores an upload whose sha256 matches and sends it back byte for byte', async () => {
    const { archiveId, ref } = await reservedFor();
    const data = randomBytes(3 * ARCHIVE_CHUNK_BYTES + 12_345);
    const sha256 = createHash('sha256').update(data).digest('hex');

    const stored = await upload(client, { archiveId, ref, size: data.length }, data);
    expect(stored).toEqual({ archiveId, sha256, size: String(data.length) });
    const info = await kit.archives.info(archiveId);
    expect(info).toMatchObject({ state: 'stored', sha256, sizeBytes: String(data.length) });
    expect(info?.storedAt).toBeInstanceOf(Date);
    expect(readFileSync(kit.archives.path(archiveId)).equals(data)).toBe(true);
    expect(tmpFiles()).toEqual([]);

    // Downloaded by another attempt whose step names the archive.
    const reader = await seedAttempt(kit.db, { serverId: agent.serverId, archiveId });
    const { chunks, data: received, error } = await download(client, archiveId, reader.ref);
    expect(error).toBeUndefined();
    expect(chunks[0]?.header).toEqual({ archiveId, ref: reader.ref, size: String(data.length) });
    expect(chunks.at(-1)?.trailer).toEqual({ sha256, size: String(data.length) });
    expect(
      chunks
        .filter((chunk) => chunk.kind === 'data')
        .every((chunk) => chunk.data!.length <= ARCHIVE_CHUNK_BYTES),
    ).toBe(true);
    expect(received.equals(data)).toBe(true);
  });

  it('stores an empty archive', async () => {
    const { archiveId, ref } = await reservedFor();
    const stored = await upload(client, { archiveId, ref }, Buffer.alloc(0));
    expect(stored.size).toBe('0');
    expect(stored.sha256).toBe(createHash('sha256').digest('hex'));
  });

  it('refuses an upload whose trailer does not match, leaving nothing behind', async () => {
    const { archiveId, ref } = await reservedFor();
    const data = randomBytes(ARCHIVE_CHUNK_BYTES + 1);
    const wrong = createHash('sha256').update('something else').digest('hex');
    const error = await rejection(
      upload(client, { archiveId, ref }, data, { sha256: wrong, size: String(data.length) }),
    );
    expect(error.code).toBe(grpc.status.DATA_LOSS);
    expect(error.details).toMatch(/^sha256 mismatch/);
    await expectNothingLeft(archiveId);

    const wrongSize = await rejection(
      upload(client, { archiveId, ref }, data, {
        sha256: createHash('sha256').update(data).digest('hex'),
        size: String(data.length + 1),
      }),
    );
    expect(wrongSize.code).toBe(grpc.status.DATA_LOSS);
    await expectNothingLeft(archiveId);

    // The reservation still stands: a correct upload afterwards is stored.
    expect((await upload(client, { archiveId, ref }, data)).size).toBe(String(data.length));
  });

  it('refuses a truncated upload (no trailer), leaving nothing behind', async () => {
    const { archiveId, ref } = await reservedFor();
    const error = await rejection(upload(client, { archiveId, ref }, randomBytes(100_000), 'none'));
    expect(error.code).toBe(grpc.status.DATA_LOSS);
    expect(error.details).toMatch(/without a trailer/);
    await expectNothingLeft(archiveId);
  });

  it('refuses data after the trailer, an oversized chunk and more bytes than announced', async () => {
    const { archiveId, ref } = await reservedFor();
    const data = randomBytes(1000);
    const sha256 = createHash('sha256').update(data).digest('hex');

    const after = startUpload(client);
    await write(after.call, { header: { archiveId, ref, size: '0' } });
    await write(after.call, { data });
    await write(after.call, { trailer: { sha256, size: '1000' } });
    await write(after.call, { data });
    after.call.end();
    expect((await rejection(after.result)).code).toBe(grpc.status.INVALID_ARGUMENT);
    await expectNothingLeft(archiveId);

    const big = startUpload(client);
    await write(big.call, { header: { archiveId, ref, size: '0' } });
    await write(big.call, { data: randomBytes(ARCHIVE_CHUNK_BYTES + 1) });
    big.call.end();
    expect((await rejection(big.result)).code).toBe(grpc.status.INVALID_ARGUMENT);
    await expectNothingLeft(archiveId);

    const error = await rejection(upload(client, { archiveId, ref, size: 500 }, data));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    await expectNothingLeft(archiveId);
  });

  it('cleans up when the agent cancels an upload midway', async () => {
    const { archiveId, ref } = await reservedFor();
    const { call, result } = startUpload(client);
    await write(call, { header: { archiveId, ref, size: '0' } });
    await write(call, { data: randomBytes(ARCHIVE_CHUNK_BYTES) });
    // Wait until the master has the temp file open, then cut the call.
    for (let i = 0; i < 100 && tmpFiles().length === 0; i++) await sleep(10);
    call.cancel();
    expect((await rejection(result)).code).toBe(grpc.status.CANCELLED);
    await expectNothingLeft(archiveId);
  });

  it('refuses an upload under a stale epoch, for another step or another server', async () => {
    const { archiveId, ref, attemptId } = await reservedFor();
    const data = randomBytes(10);

    const stale = await rejection(
      upload(client, { archiveId, ref: { ...ref, epoch: String(BigInt(ref.epoch) - 1n) } }, data),
    );
    expect(stale.code).toBe(grpc.status.PERMISSION_DENIED);
    await expectNothingLeft(archiveId);

    // An attempt of another step, and one whose step does not name the archive.
    const other = await seedAttempt(kit.db, { serverId: agent.serverId, archiveId: undefined });
    const wrongStep = await rejection(
      upload(client, { archiveId, ref: { ...ref, stepId: other.stepId } }, data),
    );
    expect(wrongStep.code).toBe(grpc.status.PERMISSION_DENIED);

    const notNamed = await rejection(upload(client, { archiveId, ref: other.ref }, data));
    expect(notNamed.code).toBe(grpc.status.PERMISSION_DENIED);

    const intruder = await kit.enrollNew(`intruder-${kind}`);
    const foreign = await rejection(upload(kit.client(intruder), { archiveId, ref }, data));
    expect(foreign.code).toBe(grpc.status.PERMISSION_DENIED);

    await kit.db.query(`UPDATE step_attempts SET state = 'lost' WHERE id = $1`, [attemptId]);
    const lost = await rejection(upload(client, { archiveId, ref }, data));
    expect(lost.code).toBe(grpc.status.PERMISSION_DENIED);
    await expectNothingLeft(archiveId);

    const malformed = await rejection(upload(client, { archiveId: 'x/../../etc', ref }, data));
    expect(malformed.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('refuses to download an archive that is only reserved, or under a stale epoch', async () => {
    const { archiveId, ref } = await reservedFor();
    const reserved = await download(client, archiveId, ref);
    expect(reserved.error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(reserved.chunks).toEqual([]);

    await upload(client, { archiveId, ref }, randomBytes(10));
    const stale = await download(client, archiveId, { ...ref, epoch: String(BigInt(ref.epoch) + 1000n) });
    expect(stale.error?.code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('ends a download with DATA_LOSS instead of a trailer when the stored file changed', async () => {
    const { archiveId, ref } = await reservedFor();
    const data = randomBytes(2 * ARCHIVE_CHUNK_BYTES);
    await upload(client, { archiveId, ref }, data);
    const corrupted = Buffer.from(data);
    corrupted[12345] = (corrupted[12345] ?? 0) ^ 1;
    writeFileSync(kit.archives.path(archiveId), corrupted);

    const { chunks, error } = await download(client, archiveId, ref);
    expect(error?.code).toBe(grpc.status.DATA_LOSS);
    expect(error?.details).toMatch(/sha256 mismatch/);
    expect(chunks.some((chunk) => chunk.kind === 'trailer')).toBe(false);
  });

  it('checks a stored file against its sha256: whole, changed, missing, never stored', async () => {
    const { archiveId, ref } = await reservedFor();
    const data = randomBytes(ARCHIVE_CHUNK_BYTES + 7);
    const sha256 = createHash('sha256').update(data).digest('hex');
    await upload(client, { archiveId, ref }, data);
    const whole = { sha256, bytes: data.length };
    expect(await kit.archives.check(archiveId)).toEqual({
      archiveId,
      state: 'ok',
      expected: whole,
      found: whole,
    });

    const corrupted = Buffer.from(data);
    corrupted[3] = (corrupted[3] ?? 0) ^ 1;
    writeFileSync(kit.archives.path(archiveId), corrupted);
    expect(await kit.archives.check(archiveId)).toMatchObject({
      state: 'mismatch',
      found: { sha256: createHash('sha256').update(corrupted).digest('hex'), bytes: data.length },
    });

    rmSync(kit.archives.path(archiveId));
    expect(await kit.archives.check(archiveId)).toMatchObject({ state: 'missing', found: null });
    const reserved = await reservedFor();
    expect(await kit.archives.check(reserved.archiveId)).toMatchObject({ state: 'not-stored', found: null });
  });

  it('refuses archive calls without a valid client certificate', async () => {
    const { archiveId, ref } = await reservedFor();
    const error = await rejection(upload(kit.anonymousClient(), { archiveId, ref }, randomBytes(10)));
    expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
    await expectNothingLeft(archiveId);
  });

  it('removes an archive: file gone, row deleted', async () => {
    const { archiveId, ref } = await reservedFor();
    await upload(client, { archiveId, ref }, randomBytes(10));
    await kit.archives.remove(archiveId);
    expect(readdirSync(storeDir('archives'))).not.toContain(archiveId);
    expect((await kit.archives.info(archiveId))?.state).toBe('deleted');
  });

  it("keeps the master's memory flat through a 200 MB upload and download", async () => {
    const { archiveId, ref } = await reservedFor();
    const total = 200 * 1024 * 1024;
    // The agent runs in its own process, so this process's RSS is the master's alone.
    const baseline = process.memoryUsage().rss;
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss - baseline);
    }, 20);
    try {
      const child = spawn(process.execPath, ['--input-type=module', '-e', TRANSFER_AGENT_SCRIPT], {
        cwd: packageRoot(),
        env: {
          ...process.env,
          TRANSFER: JSON.stringify({
            target: `127.0.0.1:${kit.port}`,
            ca: kit.ca.caCertificatePem(),
            cert: agent.certificatePem,
            key: agent.privateKeyPem,
            archiveId,
            ref,
            total,
            chunk: ARCHIVE_CHUNK_BYTES,
          }),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout.on('data', (data: Buffer) => (output += data.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      expect(code, output).toBe(0);
      const report = JSON.parse(output) as { stored: { sha256: string; size: string }; downloaded: string };
      expect(report.stored.size).toBe(String(total));
      expect(report.downloaded).toBe(report.stored.sha256);
      expect((await kit.archives.info(archiveId))?.sha256).toBe(report.stored.sha256);
    } finally {
      clearInterval(sampler);
    }
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);
});
