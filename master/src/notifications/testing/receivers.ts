import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedHook {
  event: string | undefined;
  signature: string | undefined;
  /** The exact bytes received, as text. */
  body: string;
  headers: IncomingHttpHeaders;
  status: number;
}

/**
 * A webhook receiver on 127.0.0.1 for tests: answers the POSTs of each event with the next of
 * `statuses` (the last one for ever after), counted per event, and keeps what it received.
 */
export async function startWebhookReceiver(statuses: number[] = [200]): Promise<{
  url: string;
  received: ReceivedHook[];
  close(): Promise<void>;
}> {
  const received: ReceivedHook[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const event = header(request.headers['x-berth-event']);
      const before = received.filter((hit) => hit.event === event).length;
      const status = statuses[Math.min(before, statuses.length - 1)] ?? 200;
      received.push({
        event,
        signature: header(request.headers['x-berth-signature']),
        body: Buffer.concat(chunks).toString('utf8'),
        headers: request.headers,
        status,
      });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/berth`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a receiver checks: the signature is HMAC-SHA256 of the exact body with the shared secret. */
export function signatureValid(secret: string, hook: Pick<ReceivedHook, 'body' | 'signature'>): boolean {
  const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(hook.body).digest('hex'));
  const given = Buffer.from(hook.signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface ReceivedMail {
  from: string | undefined;
  to: string[];
  /** The whole message as sent (headers and body). */
  raw: string;
}

/** A real SMTP server (the nodemailer project's smtp-server) on 127.0.0.1, keeping every message. */
export async function startSmtpReceiver(): Promise<{
  url: string;
  messages: ReceivedMail[];
  close(): Promise<void>;
}> {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    // Plain SMTP on loopback: no certificate to trust, no login.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const from = session.envelope.mailFrom;
        messages.push({
          from: from ? from.address : undefined,
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
