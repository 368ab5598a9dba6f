import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../../shared/src/package-root.js';

/** s3rver's own credentials: it checks every request's signature against them. */
export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3TestServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** Its data directory: `<dir>/<bucket>/<key>._S3rver_object` holds each object's bytes. */
  dir: string;
  /** The file that holds an object's bytes (a test damages or removes it). */
  objectFile(bucket: string, key: string): string;
  stop(): Promise<void>;
}

/**
 * A real S3-compatible server for tests: s3rver (npm, dev dependency) as a child process on
 * 127.0.0.1 and a free port, its data in a temp directory, the given buckets made at start.
 * Nothing on Debian here serves S3 without a Ceph cluster. Stopped by pid, its directory removed.
 */
export async function startS3Server(buckets: readonly string[]): Promise<S3TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-s3-'));
  const child = spawn(
    process.execPath,
    [
      join(packageRoot(), 'node_modules', 's3rver', 'bin', 's3rver.js'),
      '--directory',
      dir,
      '--address',
      '127.0.0.1',
      '--port',
      '0',
      '--no-vhost-buckets',
      ...buckets.flatMap((bucket) => ['--configure-bucket', bucket]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3rver did not start in 15 s:\n${output}`)), 15_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const listening = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
        if (listening) {
          clearTimeout(timer);
          resolve(Number(listening[1]));
        }
      });
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited with ${code}:\n${output}`));
      });
    });
    return {
      endpoint: `http://127.0.0.1:${port}`,
      dir,
      objectFile: (bucket, key) => join(dir, bucket, `${key}._S3rver_object`),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
