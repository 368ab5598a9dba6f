import { request } from 'node:http';

export interface ProbeRequest {
  address: string;
  port: number;
  hostHeader: string;
  path: string;
  timeoutMs: number;
  /** Body bytes kept (for the expected text and the excerpt); the rest is read and dropped. */
  maxBodyBytes: number;
  signal?: AbortSignal;
}

export interface ProbeAnswer {
  status: number;
  body: string;
  ms: number;
}

/** One GET with a Host header, no redirects followed, a fresh connection. */
export function httpGet(probe: ProbeRequest): Promise<ProbeAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: probe.address,
        port: probe.port,
        path: probe.path,
        method: 'GET',
        headers: { host: probe.hostHeader, 'user-agent': 'berth-agent probe', accept: '*/*' },
        timeout: probe.timeoutMs,
        agent: false,
        signal: probe.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept >= probe.maxBodyBytes) return;
          chunks.push(chunk.subarray(0, probe.maxBodyBytes - kept));
          kept += chunk.length;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: Math.round(performance.now() - started),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${probe.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
