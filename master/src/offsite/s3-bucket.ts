import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Where an off-site target keeps its copies, and how to reach it. */
export interface BucketLocation {
  /** The S3 endpoint, http(s)://host[:port] (AWS, MinIO, Ceph RGW, Backblaze, Wasabi ...). */
  endpoint: string;
  region: string;
  bucket: string;
  /** Prepended to every key ("berth/" ...); may be empty. */
  prefix: string;
  /** Path-style URLs (endpoint/bucket/key), which most S3-compatible servers want. */
  pathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
}

/** What was read or written: its sha256 and size, counted by Berth, not taken from the server. */
export interface ObjectDigest {
  sha256: string;
  bytes: number;
}

/** Parts of a multipart upload: 16 MiB, so a 100 GB archive stays far below S3's 10,000 parts. */
const PART_BYTES = 16 * 1024 * 1024;
/** Parts in flight at once, per upload. */
const PART_CONCURRENCY = 2;

/**
 * One S3 bucket through the AWS SDK (the well-kept client that every S3-compatible server is tested
 * against), the only place Berth talks S3. Uploads stream from a file in parts (memory stays at a
 * few parts whatever the size); a read streams through sha256. Errors say which call, which bucket
 * and what the server said, never the secret.
 */
export class S3Bucket {
  private readonly client: S3Client;

  constructor(private readonly location: BucketLocation) {
    this.client = new S3Client({
      endpoint: location.endpoint,
      region: location.region,
      forcePathStyle: location.pathStyle,
      credentials: { accessKeyId: location.accessKeyId, secretAccessKey: location.secretAccessKey },
      // Checksums only where S3 requires them: S3-compatible servers do not all read the
      // aws-chunked trailers the SDK sends by default. Berth checks every copy's sha256 itself.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000 },
      maxAttempts: 3,
    });
  }

  /** The full key of a name under the target's prefix. */
  key(name: string): string {
    return `${this.location.prefix}${name}`;
  }

  /** Proves the credentials may write, read and delete under the prefix: a small object round trip. */
  async probe(): Promise<void> {
    const key = this.key(`.berth-probe-${Date.now()}`);
    await this.call('PutObject', () =>
      this.client.send(new PutObjectCommand({ Bucket: this.location.bucket, Key: key, Body: 'berth' })),
    );
    await this.call('HeadObject', () =>
      this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: key })),
    );
    await this.remove(key);
  }

  /** Uploads a file under `key` (multipart when large), with its sha256 as metadata for people. */
  async upload(key: string, file: string, sha256: string, signal?: AbortSignal): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.location.bucket,
        Key: key,
        Body: createReadStream(file),
        Metadata: { sha256 },
      },
      partSize: PART_BYTES,
      queueSize: PART_CONCURRENCY,
      leavePartsOnError: false,
    });
    signal?.addEventListener('abort', () => void upload.abort(), { once: true });
    await this.call('Upload', () => upload.done());
  }

  /** Reads an object whole and returns its sha256 and size (the copy checked after an upload). */
  async digest(key: string): Promise<ObjectDigest> {
    const body = await this.body(key);
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of body) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    return { sha256: hash.digest('hex'), bytes };
  }

  /** Downloads an object into `file` (created, 0600) and returns the sha256 and size it wrote. */
  async download(key: string, file: string): Promise<ObjectDigest> {
    const body = await this.body(key);
    const hash = createHash('sha256');
    let bytes = 0;
    body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    await this.call('GetObject', () => pipeline(body, createWriteStream(file, { flags: 'wx', mode: 0o600 })));
    return { sha256: hash.digest('hex'), bytes };
  }

  /** Removes an object; one already gone is not an error (S3's own rule). */
  async remove(key: string): Promise<void> {
    await this.call('DeleteObject', () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: key })),
    );
  }

  close(): void {
    this.client.destroy();
  }

  private async body(key: string): Promise<Readable> {
    const object = await this.call('GetObject', () =>
      this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key })),
    );
    if (!object.Body)
      throw new Error(`GetObject of ${key} in bucket ${this.location.bucket} returned no body`);
    return object.Body as Readable;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new Error(
        `${what} on bucket ${this.location.bucket} at ${this.location.endpoint} failed: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    return `${error.name}${status ? ` (HTTP ${status})` : ''}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
