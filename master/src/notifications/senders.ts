import { createHmac } from 'node:crypto';
import nodemailer, { type Mail as Transport } from 'nodemailer';

/** How long a webhook receiver may take to answer before the attempt counts as failed. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** The signature header's value: HMAC-SHA256 of the exact body with the target's secret, in hex. */
export function signature(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

/** POSTs one event; resolves when the receiver answered 2xx, rejects with why otherwise. */
export async function sendWebhook(
  url: string,
  secret: string,
  event: string,
  body: string,
  timeoutMs = WEBHOOK_TIMEOUT_MS,
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'berth-notifier',
        'x-berth-event': event,
        'x-berth-signature': signature(secret, body),
      },
      body,
      // A redirect is not an answer: the body would be posted somewhere the admin did not name.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if ((error as Error).name === 'TimeoutError') throw new Error(`no answer within ${timeoutMs / 1000} s`);
    throw new Error(cause?.code ?? cause?.message ?? (error as Error).message);
  }
  // The receiver's body is read (and dropped) so that the connection is freed.
  const text = await response.text().catch(() => '');
  if (response.status < 200 || response.status >= 300) {
    throw new Error(`HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
  }
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
  event: string;
}

/** Sends mail through one SMTP server (BERTH_SMTP_URL), with a pooled connection reused between mails. */
export class SmtpMailer {
  private readonly transport: Transport;

  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport({
      url: smtpUrl,
      connectionTimeout: WEBHOOK_TIMEOUT_MS,
      greetingTimeout: WEBHOOK_TIMEOUT_MS,
      socketTimeout: WEBHOOK_TIMEOUT_MS,
    });
  }

  async send(mail: Mail): Promise<void> {
    await this.transport.sendMail({
      from: this.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      headers: { 'X-Berth-Event': mail.event },
    });
  }

  close(): void {
    this.transport.close();
  }
}
