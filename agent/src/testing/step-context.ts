import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import pino from 'pino';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import type { StepName, StepOutput } from '../../../shared/src/steps.js';
import { ProcessRunner } from '../adapters/process-runner.js';
import { AGENT_ENV, type AgentOptions, type HostSettings, loadHostSettings } from '../config.js';
import type {
  ArchiveTransferResult,
  ArchiveTransfers,
  GetArchiveOptions,
  PutArchiveOptions,
} from '../link/archive-client.js';
import type { StepContext, StepHandler } from '../steps/step.js';

/**
 * Archives kept in memory, in place of the master's store: what steps upload can be read back,
 * and tests can put any bytes (a hostile tarball) for a step to download.
 */
export class MemoryArchives implements ArchiveTransfers {
  readonly archives = new Map<string, Buffer>();
  /** Cut the next download short after this many bytes (a broken transfer). */
  cutNextDownloadAt: number | undefined;
  /** Fail the next upload once it has this many bytes (the master went away mid-transfer). */
  failNextUploadAt: number | undefined;

  async putArchive(options: PutArchiveOptions): Promise<ArchiveTransferResult> {
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    const failAt = this.failNextUploadAt;
    this.failNextUploadAt = undefined;
    let received = 0;
    for await (const chunk of options.source as AsyncIterable<Buffer>) {
      const bytes = Buffer.from(chunk);
      hash.update(bytes);
      chunks.push(bytes);
      received += bytes.length;
      if (failAt !== undefined && received >= failAt) {
        throw new StepError({
          code: StepErrorCode.TransferFailed,
          message: `the upload broke after ${received} bytes`,
          retryable: false,
        });
      }
      if (options.signal?.aborted) throw options.signal.reason;
    }
    const data = Buffer.concat(chunks);
    this.archives.set(options.archiveId, data);
    return { archiveId: options.archiveId, sha256: hash.digest('hex'), size: data.length };
  }

  async getArchive(options: GetArchiveOptions): Promise<ArchiveTransferResult> {
    const data = this.archives.get(options.archiveId);
    const { destination } = options;
    if (!data) {
      destination.destroy();
      throw new StepError({
        code: StepErrorCode.TransferFailed,
        message: `no archive ${options.archiveId}`,
        retryable: false,
      });
    }
    const cutAt = this.cutNextDownloadAt;
    this.cutNextDownloadAt = undefined;
    const limit = cutAt ?? data.length;
    try {
      for (let offset = 0; offset < limit; offset += 64 * 1024) {
        const piece = data.subarray(offset, Math.min(limit, offset + 64 * 1024));
        if (!destination.write(piece)) await drainOrClose(destination);
        options.onProgress?.(offset + piece.length, data.length);
      }
      if (cutAt !== undefined) throw new Error(`the transfer was cut after ${cutAt} bytes`);
      destination.end();
      if (!destination.writableFinished)
        await Promise.race([once(destination, 'finish'), once(destination, 'close')]);
    } catch (error) {
      destination.destroy();
      throw error instanceof StepError
        ? error
        : new StepError({
            code: StepErrorCode.TransferFailed,
            message: `downloading archive ${options.archiveId}: ${(error as Error).message}`,
            retryable: true,
          });
    }
    return {
      archiveId: options.archiveId,
      sha256: createHash('sha256').update(data).digest('hex'),
      size: data.length,
    };
  }
}

async function drainOrClose(stream: Writable): Promise<void> {
  if (stream.destroyed) throw new Error('the destination was closed');
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the destination was closed'));
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}

export interface TestContext extends StepContext {
  /** The lines the step (and its programs) logged. */
  readonly lines: string[];
  /** Cancels the step (as the master's cancel would). */
  cancel(): void;
}

/** A real step context (real processes, real files) with archives in memory. */
export function testContext(
  host: HostSettings,
  options: { secrets?: Record<string, string>; archives?: ArchiveTransfers } = {},
): TestContext {
  const runner = new ProcessRunner();
  const controller = new AbortController();
  const lines: string[] = [];
  return {
    ref: { stepId: 'step-1', attemptId: `attempt-${randomBytes(4).toString('hex')}`, epoch: '1' },
    taskId: 'task-1',
    signal: controller.signal,
    logger: pino({ level: 'silent' }),
    hostname: 'web1',
    agentVersion: '0.0.0-test',
    services: { cached: () => Promise.resolve([]), detect: () => Promise.resolve([]) },
    archives: options.archives ?? new MemoryArchives(),
    host,
    secrets: Object.freeze({ ...options.secrets }),
    lines,
    note: (text) => lines.push(`agent: ${text}`),
    progress: () => undefined,
    exec: (run) =>
      runner.run({
        killGraceMs: 1000,
        ...run,
        signal: controller.signal,
        onLine: (stream, line) => lines.push(`${stream}: ${line}`),
      }),
    cancel: () =>
      controller.abort(
        new StepError({ code: StepErrorCode.Cancelled, message: 'cancelled', retryable: false }),
      ),
  };
}

/** Validates the parameters as the supervisor does, then runs the step. */
export async function runStep<S extends StepName>(
  handler: StepHandler<S>,
  params: unknown,
  context: StepContext,
): Promise<StepOutput<S>> {
  const parsed = handler.parseParams(params);
  if (!parsed.ok) {
    throw new StepError({
      code: StepErrorCode.InvalidParams,
      message: parsed.failure.message,
      retryable: false,
    });
  }
  return handler.run(parsed.value, context);
}

/** The StepError a promise rejects with. */
export async function stepFailure(promise: Promise<unknown>): Promise<StepError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StepError) return error;
    throw error;
  }
  throw new Error('expected the step to fail');
}

/** A fresh agent root in a temp directory (removed by `remove`), with its host settings. */
export async function testRoot(
  options: Omit<Pick<AgentOptions, keyof typeof AGENT_ENV>, 'root'> = {},
): Promise<{ root: string; host: HostSettings; remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'berth-root-'));
  const host = loadHostSettings({ ...options, root });
  return { root, host, remove: () => rm(root, { recursive: true, force: true }) };
}

/** A unique lowercase name for a test database or user. */
export function uniqueDbName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** A my.cnf [client] file (mode 0600) for a MariaDB account. */
export async function writeDefaultsFile(
  dir: string,
  account: { user: string; password?: string; host?: string; port?: number },
): Promise<string> {
  const path = join(dir, `${account.user}-${randomBytes(3).toString('hex')}.cnf`);
  const lines = [
    '[client]',
    `host=${account.host ?? '127.0.0.1'}`,
    `port=${account.port ?? 3306}`,
    `user=${account.user}`,
    ...(account.password !== undefined ? [`password="${account.password}"`] : []),
    '',
  ];
  await writeFile(path, lines.join('\n'), { mode: 0o600 });
  return path;
}
