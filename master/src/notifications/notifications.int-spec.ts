import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { eventually } from '../../../test/support/processes.js';
import { ClientsRepository } from '../clients/clients.repository.js';
import { ServersRepository } from '../servers/servers.repository.js';
import { SecretBox } from '../infra/crypto/secret-box.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlRows } from '../infra/db/sql.js';
import { NotificationsErrorCode } from './notifications.errors.js';
import { NotificationsRepository } from './notifications.repository.js';
import { NotificationsService } from './notifications.service.js';
import { Notifier } from './notifier.js';
import { SmtpMailer } from './senders.js';
import { signatureValid, startSmtpReceiver, startWebhookReceiver } from './testing/receivers.js';

const ADMIN = { tokenId: 'test', name: 'admin', role: 'admin' as const, clientId: null };
const logger = pino({ level: 'silent' });

/**
 * The delivery worker on both registries, against a real HTTP receiver and a real SMTP server: a
 * failed task reaches a webhook (signed) and a mailbox, a receiver that answers 500 twice sees the
 * retries, one that never answers 200 is given up on after 5 attempts, a client hears only of its
 * own, and two masters make and send each delivery once.
 */
describe.each(TEST_DATABASE_KINDS)('notifications on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let repository: NotificationsRepository;
  let service: NotificationsService;
  let box: SecretBox;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  let mailer: SmtpMailer;
  const notifiers: Notifier[] = [];
  let acmeId: string;
  let otherId: string;

  const notifier = (now?: () => Date) => {
    const made = new Notifier({
      repository,
      decrypt: (sealed) => box.decrypt(sealed),
      mailer,
      options: { pollMs: 60_000, backoffMs: [50, 50, 50, 50], lookbackMs: 3600_000, agentDownMs: 60_000 },
      logger,
      ...(now ? { now } : {}),
    });
    notifiers.push(made);
    return made;
  };

  const failTask = async (task: { type: string; clientId?: string | null; params?: object }) => {
    const [row] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO tasks (type, state, target_kind, target_id, target_name, params, error, error_code,
                          client_id, started_at, finished_at)
       VALUES ($1, 'failed', 'site', $2, 'one.example', $3::jsonb, $4, 'STEP_FAILED', $5, now(), now())
       RETURNING id`,
      [
        task.type,
        randomUUID(),
        JSON.stringify(task.params ?? {}),
        `step db.dump failed: mysqldump exited 2 (${task.type})`,
        task.clientId ?? null,
      ],
    );
    return row!.id;
  };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    repository = new NotificationsRepository(db);
    box = SecretBox.open({ dataDir: database.dataDir, keyBase64: randomBytes(32).toString('base64') });
    const clients = new ClientsRepository(db);
    acmeId = (await clients.create({ name: 'acme', email: null })).id;
    otherId = (await clients.create({ name: 'other', email: null })).id;
    service = new NotificationsService(repository, clients, box, true);
    smtp = await startSmtpReceiver();
    mailer = new SmtpMailer(smtp.url, 'berth@test.example');
  });

  afterAll(async () => {
    for (const running of notifiers) await running.stop();
    mailer?.close();
    await smtp?.close();
    await db?.destroy();
    await database?.drop();
  });

  // Each test starts with no targets, whatever the one before left.
  afterEach(async () => {
    await sqlRows(db, `DELETE FROM notification_deliveries`);
    await sqlRows(db, `DELETE FROM notification_targets`);
  });

  const deliveriesOf = async (targetId: string) =>
    (await repository.listDeliveries({ limit: 500 })).deliveries.filter(
      (delivery) => delivery.targetId === targetId,
    );

  it('refuses a bad URL, address or event with a 400 and a message', async () => {
    for (const [input, message] of [
      [{ kind: 'webhook', url: 'ftp://hooks.example/x' }, 'http:// or https://'],
      [{ kind: 'webhook', url: 'not a url' }, 'is not a URL'],
      [{ kind: 'email', address: 'nobody' }, 'not an email address'],
      [{ kind: 'webhook', url: 'https://hooks.example/x', events: ['task.exploded'] }, 'unknown event'],
      [{ kind: 'pigeon' }, 'kind must be'],
    ] as const) {
      const refused = await service.addTarget(ADMIN, input).then(
        () => undefined,
        (error: { code: string; status: number; message: string }) => error,
      );
      expect(refused).toMatchObject({ code: NotificationsErrorCode.InvalidInput, status: 400 });
      expect(refused?.message).toContain(message);
    }
    expect(await service.listTargets(ADMIN)).toEqual([]);
  });

  it('delivers a failed task to a webhook, signed, after two 500s, and to a mailbox', async () => {
    const receiver = await startWebhookReceiver([500, 500, 200]);
    try {
      const hook = await service.addTarget(ADMIN, { kind: 'webhook', url: receiver.url });
      expect(hook.secret).toMatch(/^[0-9a-f]{64}$/);
      // The secret is sealed in the registry, never kept in the clear.
      const [stored] = await sqlRows<{ secret: string }>(
        db,
        `SELECT secret_encrypted AS secret FROM notification_targets WHERE id = $1`,
        [hook.id],
      );
      expect(stored!.secret).not.toContain(hook.secret!);
      const mail = await service.addTarget(ADMIN, {
        kind: 'email',
        address: 'ops@test.example',
        events: ['task.failed'],
      });
      const taskId = await failTask({ type: 'site.backup', params: { reason: 'scheduled' } });

      const worker = notifier();
      await eventually(
        'the webhook delivered',
        async () => {
          await worker.tick();
          return (
            (await deliveriesOf(hook.id)).every((delivery) => delivery.state === 'delivered') &&
            (await deliveriesOf(hook.id)).length === 2
          );
        },
        20_000,
        20,
      );

      // task.failed and backup.failed (a scheduled backup), each after two refusals: 3 attempts.
      const deliveries = await deliveriesOf(hook.id);
      expect(deliveries.map((delivery) => delivery.event).sort()).toEqual(['backup.failed', 'task.failed']);
      for (const delivery of deliveries) expect(delivery).toMatchObject({ attempts: 3, lastError: null });
      expect(receiver.received.map((hit) => hit.status).sort()).toEqual([200, 200, 500, 500, 500, 500]);
      for (const hit of receiver.received) {
        expect(signatureValid(hook.secret!, hit)).toBe(true);
        expect(signatureValid('another secret of some length', hit)).toBe(false);
      }
      const delivered = receiver.received.find((hit) => hit.status === 200 && hit.event === 'task.failed')!;
      expect(JSON.parse(delivered.body)).toMatchObject({
        event: 'task.failed',
        task: { id: taskId, type: 'site.backup', targetName: 'one.example', errorCode: 'STEP_FAILED' },
      });

      // The email target asked for task.failed only: one mail, with the failure in it.
      await eventually(
        'the mail delivered',
        async () => {
          await worker.tick();
          return (await deliveriesOf(mail.id))[0]?.state === 'delivered';
        },
        20_000,
        20,
      );
      expect(await deliveriesOf(mail.id)).toHaveLength(1);
      const message = smtp.messages.find((received) => received.to.includes('ops@test.example'))!;
      expect(message.from).toBe('berth@test.example');
      expect(message.raw).toContain('X-Berth-Event: task.failed');
      expect(message.raw).toContain('Task failed: site.backup');
      expect(message.raw).toContain('mysqldump exited 2');
      expect(message.raw).toContain(taskId);
      await service.removeTarget(ADMIN, hook.id);
      await service.removeTarget(ADMIN, mail.id);
    } finally {
      await receiver.close();
    }
  });

  it('gives up after 5 attempts, each one in the delivery row', async () => {
    const receiver = await startWebhookReceiver([503]);
    try {
      const hook = await service.addTarget(ADMIN, { kind: 'webhook', url: receiver.url });
      await failTask({ type: 'site.migrate' });
      const worker = notifier();
      await eventually(
        'the webhook given up on',
        async () => {
          await worker.tick();
          return (await deliveriesOf(hook.id))[0]?.state === 'failed';
        },
        20_000,
        20,
      );
      expect(await deliveriesOf(hook.id)).toMatchObject([
        {
          event: 'task.failed',
          state: 'failed',
          attempts: 5,
          lastError: 'HTTP 503: nope',
          deliveredAt: null,
        },
      ]);
      expect(receiver.received).toHaveLength(5);
      await service.removeTarget(ADMIN, hook.id);
    } finally {
      await receiver.close();
    }
  });

  it("tells a client only of its own tasks, and lists and removes only the client's targets", async () => {
    const receiver = await startWebhookReceiver();
    const acme = { tokenId: 'acme', name: 'acme', role: 'client' as const, clientId: acmeId };
    const other = { tokenId: 'other', name: 'other', role: 'client' as const, clientId: otherId };
    try {
      // A client's own webhook must be public; an admin adds one inside the network for it.
      const internal = await service
        .addTarget(acme, { kind: 'webhook', url: `${receiver.url}?for=acme` })
        .then(
          () => undefined,
          (error: { status: number; message: string }) => error,
        );
      expect(internal?.status).toBe(400);
      expect(internal?.message).toContain('must reach a public address');
      const acmeHook = await service.addTarget(ADMIN, {
        kind: 'webhook',
        url: `${receiver.url}?for=acme`,
        client: 'acme',
      });
      expect(acmeHook.client).toBe('acme');
      const refused = await service
        .addTarget(acme, { kind: 'webhook', url: receiver.url, client: 'other' })
        .then(
          () => undefined,
          (error: { status: number }) => error,
        );
      expect(refused?.status).toBe(403);
      const otherHook = await service.addTarget(ADMIN, {
        kind: 'webhook',
        url: `${receiver.url}?for=other`,
        client: 'other',
      });
      expect((await service.listTargets(acme)).map((target) => target.id)).toEqual([acmeHook.id]);
      expect((await service.listTargets(ADMIN)).map((target) => target.id).sort()).toEqual(
        [acmeHook.id, otherHook.id].sort(),
      );
      const removeOthers = await service.removeTarget(acme, otherHook.id).then(
        () => undefined,
        (error: { status: number }) => error,
      );
      expect(removeOthers?.status).toBe(404);

      const acmeTask = await failTask({ type: 'site.install', clientId: acmeId });
      await failTask({ type: 'platform.verify' });
      const worker = notifier();
      await eventually(
        'acme told',
        async () => {
          await worker.tick();
          return receiver.received.length >= 1;
        },
        20_000,
        20,
      );
      await worker.tick();
      expect(receiver.received.map((hit) => JSON.parse(hit.body) as { task: { id: string } })).toMatchObject([
        { task: { id: acmeTask } },
      ]);
      expect(await deliveriesOf(otherHook.id)).toEqual([]);
      expect((await service.listDeliveries(acme, {})).items.map((delivery) => delivery.targetId)).toEqual([
        acmeHook.id,
      ]);
      await service.removeTarget(acme, acmeHook.id);
      await service.removeTarget(other, otherHook.id);
    } finally {
      await receiver.close();
    }
  });

  it('makes and sends each delivery once with two masters, and tells of a missed schedule', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const hook = await service.addTarget(ADMIN, { kind: 'webhook', url: receiver.url });
      const taskIds = [];
      for (let i = 0; i < 10; i++) taskIds.push(await failTask({ type: 'site.cron' }));
      const [one, two] = [notifier(), notifier()];
      const made = await Promise.all([one.scanFailedTasks(), two.scanFailedTasks(), one.scanFailedTasks()]);
      expect(made.reduce((sum, count) => sum + count, 0)).toBe(10);
      const firing = {
        id: randomUUID(),
        kind: 'store-gc' as const,
        targetId: '00000000-0000-0000-0000-000000000000',
        dueAt: new Date(Date.now() - 3600_000),
        opensAt: new Date(Date.now() - 3600_000),
        expiresAt: new Date(),
        state: 'missed' as const,
        taskId: null,
      };
      expect(await one.scheduleMissed(firing)).toBe(1);
      expect(await two.scheduleMissed(firing)).toBe(0);
      await eventually(
        'all delivered',
        async () => {
          await Promise.all([one.deliverDue(), two.deliverDue()]);
          const deliveries = await deliveriesOf(hook.id);
          return deliveries.length === 11 && deliveries.every((delivery) => delivery.state === 'delivered');
        },
        20_000,
        20,
      );
      expect(receiver.received).toHaveLength(11);
      const subjects = receiver.received.map((hit) => JSON.parse(hit.body) as { task?: { id: string } });
      expect(new Set(subjects.map((body) => body.task?.id).filter(Boolean))).toEqual(new Set(taskIds));
      const missed = receiver.received.find((hit) => hit.event === 'schedule.missed')!;
      expect(JSON.parse(missed.body)).toMatchObject({
        event: 'schedule.missed',
        firing: { id: firing.id, kind: 'store-gc' },
      });
      expect(signatureValid(hook.secret!, missed)).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it('tells the admins of an agent silent past the limit, once per outage whichever master sees it', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const admin = await service.addTarget(ADMIN, { kind: 'webhook', url: receiver.url });
      const acme = await service.addTarget(ADMIN, { kind: 'webhook', url: receiver.url, client: 'acme' });
      const servers = new ServersRepository(db);
      const seen = async (name: string, agoMs: number | null) => {
        const server = await servers.create({ name, slots: 1 });
        await sqlRows(db, `UPDATE servers SET last_seen_at = $2 WHERE id = $1 RETURNING id`, [
          server.id,
          agoMs === null ? null : new Date(Date.now() - agoMs).toISOString(),
        ]);
        return server.id;
      };
      const down = await seen(`down-${kind}`, 10 * 60_000);
      // Heard from 10 s before the clock below is read.
      await seen(`up-${kind}`, -50_000);
      await seen(`new-${kind}`, null);

      let clock = Date.now();
      const one = notifier(() => new Date(clock));
      const two = notifier(() => new Date(clock));
      // A master that just started gives its agents the limit to reconnect first.
      expect(await one.scanSilentAgents()).toBe(0);
      clock += 60_000;
      expect(await one.scanSilentAgents()).toBe(1);
      expect(await two.scanSilentAgents()).toBe(0);
      expect(await deliveriesOf(acme.id)).toEqual([]);
      await one.deliverDue();
      const [hit] = receiver.received;
      expect(JSON.parse(hit!.body)).toMatchObject({
        event: 'agent.disconnected',
        server: { id: down, name: `down-${kind}` },
      });
      expect(signatureValid(admin.secret!, hit!)).toBe(true);

      // Back, then silent again: another outage, another notification.
      await sqlRows(db, `UPDATE servers SET last_seen_at = $2 WHERE id = $1 RETURNING id`, [
        down,
        new Date(clock - 5 * 60_000).toISOString(),
      ]);
      expect(await two.scanSilentAgents()).toBe(1);
      expect((await deliveriesOf(admin.id)).map((delivery) => delivery.event)).toEqual([
        'agent.disconnected',
        'agent.disconnected',
      ]);
    } finally {
      await receiver.close();
      await sqlRows(db, `DELETE FROM servers RETURNING id`);
    }
  });
});
