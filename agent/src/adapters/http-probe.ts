import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ProbeRequest {
  address: string;
  port: number;
  hostHeader: string;
  path: string;
  timeoutMs: number;
  /** Body bytes kept (for the expected text and the excerpt); the rest is read and dropped. */
  maxBodyBytes: number;
  signal?: AbortSignal;
  /**
   * Over HTTPS, the Host as the TLS server name too. The certificate is not checked: the probe asks
   * whether the site answers through this server's nginx, and a certificate from a CA this host does
   * not trust (or one just installed) is the certificate's business, not the site's.
   */
  https?: boolean;
}

export interface ProbeAnswer {
  status: number;
  /** The Location of a redirect. */
  location?: string;
  body: string;
  ms: number;
}

/** One GET with a Host header (over HTTP, or HTTPS), no redirects followed, a fresh connection. */
export function httpGet(probe: ProbeRequest): Promise<ProbeAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const send = probe.https ? httpsRequest : request;
    const req = send(
      {
        ...(probe.https ? { servername: probe.hostHeader, rejectUnauthorized: false } : {}),
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
            ...(typeof res.headers.location === 'string' ? { location: res.headers.location } : {}),
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
