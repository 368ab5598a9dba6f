import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CreatedNotificationTarget,
  NotificationDelivery,
  NotificationTarget,
  Task,
} from '../../shared/src/api.js';
import {
  signatureValid,
  startSmtpReceiver,
  startWebhookReceiver,
} from '../../master/src/notifications/testing/receivers.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';
import { eventually } from '../support/processes.js';

/**
 * Notifications against a real master and agent: a webhook receiver (node:http) and an SMTP server
 * (smtp-server) started here; a platform verify that fails (its directory renamed away) reaches both,
 * the webhook signed with the secret `berth notify add-webhook` showed once.
 */
describe('notifications of a failed task', () => {
  let stack: HostingStack;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;

  const json = async <T>(...args: string[]): Promise<T> =>
    JSON.parse((await stack.berth(...args, '--json')).stdout) as T;

  beforeAll(async () => {
    hooks = await startWebhookReceiver([500, 200]);
    smtp = await startSmtpReceiver();
    stack = await startHostingStack({
      label: 'notify',
      platforms: { 'fixture-10-3': 'fixture-10.3' },
      masterEnv: {
        BERTH_SMTP_URL: smtp.url,
        BERTH_SMTP_FROM: 'berth@e2e.example',
        BERTH_NOTIFY_POLL_MS: '300',
        BERTH_NOTIFY_BACKOFF_MS: '200,200,200,200',
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await hooks?.close();
    await smtp?.close();
  });

  it('refuses a URL that is not http(s) and an address that is not one, with a message', async () => {
    for (const args of [
      ['add-webhook', 'ftp://hooks.example/berth'],
      ['add-email', 'not-an-address'],
    ]) {
      const refused = await stack.berth('notify', ...args).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(refused?.code).toBe(2);
      expect(refused?.stderr).toMatch(/http:\/\/ or https:\/\/|not an email address/);
    }
    expect(await json<NotificationTarget[]>('notify', 'list')).toEqual([]);
  });

  it('sends a webhook (signed, retried after a 500) and an email for a failed task', async () => {
    const hook = await json<CreatedNotificationTarget>('notify', 'add-webhook', hooks.url);
    expect(hook.secret).toMatch(/^[0-9a-f]{64}$/);
    const mail = await json<CreatedNotificationTarget>('notify', 'add-email', 'ops@e2e.example');
    const listed = await json<NotificationTarget[]>('notify', 'list');
    expect(listed.map((target) => target.id).sort()).toEqual([hook.id, mail.id].sort());
    // The secret is shown once, never listed.
    expect(JSON.stringify(listed)).not.toContain(hook.secret!);

    const codebase = join(stack.root, 'platforms', 'fixture-10-3');
    renameSync(codebase, `${codebase}.away`);
    let task: Task;
    try {
      const failed = await stack.berth('platform', 'verify', 'fixture-10-3', '--json').then(
        () => undefined,
        (error: { code: number; stdout: string }) => error,
      );
      expect(failed?.code).toBe(1);
      task = JSON.parse(failed!.stdout) as Task;
      expect(task).toMatchObject({ type: 'platform.verify', state: 'failed' });
    } finally {
      renameSync(`${codebase}.away`, codebase);
    }

    const delivered = await eventually(
      'the webhook and the mail delivered',
      async () => {
        const deliveries = await json<NotificationDelivery[]>('notify', 'deliveries');
        return deliveries.length === 2 && deliveries.every((delivery) => delivery.state === 'delivered')
          ? deliveries
          : undefined;
      },
      60_000,
      300,
    );
    expect(delivered.find((delivery) => delivery.targetId === hook.id)).toMatchObject({
      event: 'task.failed',
      subjectId: task.id,
      attempts: 2,
    });

    expect(hooks.received.map((hit) => hit.status)).toEqual([500, 200]);
    for (const hit of hooks.received) {
      expect(hit.event).toBe('task.failed');
      expect(signatureValid(hook.secret!, hit)).toBe(true);
    }
    const body = JSON.parse(hooks.received[1]!.body) as { event: string; task: Record<string, unknown> };
    expect(body).toMatchObject({
      event: 'task.failed',
      task: { id: task.id, type: 'platform.verify', targetName: 'fixture-10-3' },
    });
    expect(body.task.error).toBe(task.error);

    expect(smtp.messages).toHaveLength(1);
    const message = smtp.messages[0]!;
    expect(message).toMatchObject({ from: 'berth@e2e.example', to: ['ops@e2e.example'] });
    expect(message.raw).toContain('Subject: [Berth] Task failed: platform.verify fixture-10-3');
    expect(message.raw).toContain(task.id);

    await stack.berth('notify', 'remove', hook.id);
    await stack.berth('notify', 'remove', mail.id);
    expect(await json<NotificationTarget[]>('notify', 'list')).toEqual([]);
  }, 120_000);
});
