/**
 * A stand-in for the master's REST API in the CLI's unit tests only: a node:http server on
 * 127.0.0.1:0 that answers from handlers the test gives and records every request. The real master
 * is exercised by the cross-process tests under test/.
 */
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CliIo } from '../context.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface FakeReply {
  status?: number;
  body?: unknown;
  /** Sent as is instead of JSON. */
  raw?: string | Buffer;
  /** Response headers (a download's sha256, say). */
  headers?: Record<string, string>;
  /** Wait this long before answering (timeouts). */
  delayMs?: number;
}

/** Keyed by "METHOD /path" (no query string). */
export type FakeRoutes = Record<string, (request: RecordedRequest) => FakeReply | Promise<FakeReply>>;

export interface FakeMaster {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startFakeMaster(routes: FakeRoutes): Promise<FakeMaster> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://fake');
        const text = Buffer.concat(chunks).toString('utf8');
        const recorded: RecordedRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body: text ? (JSON.parse(text) as unknown) : undefined,
        };
        requests.push(recorded);
        const handler = routes[`${recorded.method} ${recorded.path}`];
        const reply: FakeReply = handler
          ? await handler(recorded)
          : {
              status: 404,
              body: { statusCode: 404, code: 'NOT_FOUND', message: `no route ${recorded.path}` },
            };
        if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
        if (res.destroyed) return;
        res.statusCode = reply.status ?? 200;
        for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
        if (reply.raw !== undefined) {
          res.end(reply.raw);
        } else {
          res.setHeader('content-type', 'application/json');
          res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A paged list as the master serves one (`?limit=&cursor=`, `{ items, next }`): at most `pageSize`
 * items a page whatever the limit, the cursor being "@" and the index of the page's first item.
 * `extra` adds to every page (a backup list's totals).
 */
export function pagedList(
  items: readonly unknown[],
  pageSize: number,
  extra: Record<string, unknown> = {},
): (request: RecordedRequest) => FakeReply {
  return (request) => {
    const cursor = request.query.get('cursor');
    const start = cursor === null ? 0 : Number(cursor.slice(1));
    const count = Math.min(Number(request.query.get('limit') ?? items.length), pageSize);
    const end = Math.min(start + count, items.length);
    return {
      body: { items: items.slice(start, end), next: end < items.length ? `@${end}` : null, ...extra },
    };
  };
}

/** A port nothing listens on: bound once, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface MemoryIo extends CliIo {
  stdoutText(): string;
  stderrText(): string;
}

/** CLI input and output held in memory; no signals, no process.exit. */
export function memoryIo(env: Record<string, string | undefined>, options: { tty?: boolean } = {}): MemoryIo {
  let stdout = '';
  let stderr = '';
  return {
    stdout: { write: (chunk: string) => (stdout += chunk), isTTY: options.tty ?? false, columns: 100 },
    stderr: { write: (chunk: string) => (stderr += chunk), isTTY: options.tty ?? false, columns: 100 },
    env,
    pollIntervalMs: 5,
    stdoutText: () => stdout,
    stderrText: () => stderr,
  };
}
