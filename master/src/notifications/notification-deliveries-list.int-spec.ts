import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationDelivery } from '../../../shared/src/api.js';
import { expectWalked, refusalOf, walkPages } from '../../../test/support/pages.js';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import type { Principal } from '../auth/auth.service.js';
import { ClientsRepository } from '../clients/clients.repository.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import { NotificationsErrorCode } from './notifications.errors.js';
import { NotificationsRepository } from './notifications.repository.js';
import { NotificationsService, type DeliveryListFilter } from './notifications.service.js';

const ADMIN: Principal = { tokenId: 'admin', name: 'admin', role: 'admin', clientId: null };
/** The first deliveries' time: far enough back that one made now is newer than all of them. */
const T0 = '2020-03-01T10:00:00.000000Z';

interface Row {
  id: string;
  targetId: string;
  clientId: string | null;
  /** created_at to the microsecond (ISO, UTC): compares as text in time order. */
  at: string;
}

/** The delivery log by pages, through NotificationsService, on both databases the registry runs on. */
describe.each(TEST_DATABASE_KINDS)('notification delivery pages on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let service: NotificationsService;
  let acme: Principal;
  /** The admins' target, acme's and other's. */
  const targets: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    const repository = new NotificationsRepository(db);
    const clients = new ClientsRepository(db);
    const acmeId = (await clients.create({ name: 'acme', email: null })).id;
    const otherId = (await clients.create({ name: 'other', email: null })).id;
    acme = { tokenId: 'acme', name: 'client:acme', role: 'client', clientId: acmeId };
    service = new NotificationsService(repository, clients, { encrypt: (text) => text }, false);
    for (const clientId of [null, acmeId, otherId]) {
      const target = await repository.createTarget({
        kind: 'webhook',
        url: 'https://hooks.example/berth',
        address: null,
        clientId,
        events: null,
        secretEncrypted: randomBytes(8).toString('hex'),
      });
      targets.push(target.id);
    }
    // 66 deliveries in groups of three made in the same microsecond, two such groups in each
    // millisecond (a microsecond apart): a JS Date cannot tell the groups of a millisecond apart.
    for (let n = 0; n < 66; n++) {
      await insert({
        targetId: targets[n % 3]!,
        createdAt: `'${T0}'::timestamptz + interval '${Math.floor(n / 6)} milliseconds' + interval '${Math.floor(n / 3) % 2} microseconds'`,
      });
    }
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  async function insert(delivery: {
    targetId: string;
    /** SQL for created_at. */
    createdAt: string;
    id?: string;
  }): Promise<string> {
    const row = await sqlOne<{ id: string }>(
      db,
      `INSERT INTO notification_deliveries (id, target_id, event, subject_id, payload, next_attempt_at, created_at)
       VALUES (COALESCE($1::uuid, gen_random_uuid()), $2, 'task.failed', gen_random_uuid(), '{}'::jsonb, now(),
               ${delivery.createdAt})
       RETURNING id`,
      [delivery.id ?? null, delivery.targetId],
    );
    return row!.id;
  }

  /** Every delivery, newest first by (created_at, id), with its time to the microsecond. */
  const rows = () =>
    sqlRows<Row>(
      db,
      `SELECT d.id, d.target_id AS "targetId", t.client_id AS "clientId",
              to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
         FROM notification_deliveries d JOIN notification_targets t ON t.id = d.target_id
        ORDER BY d.created_at DESC, d.id DESC`,
    );

  /** Every page of a query, following `next`; calls `between` after each page but the last. */
  const walk = (
    principal: Principal,
    input: DeliveryListFilter,
    between?: (page: number, last: NotificationDelivery) => Promise<void>,
  ) =>
    walkPages(async (cursor) => {
      const page = await service.listDeliveries(principal, { ...input, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(Number(input.limit ?? 50));
      return page;
    }, between);

  it('pages newest first without skipping or repeating a delivery, also among deliveries of one microsecond, while deliveries are made', async () => {
    const before = (await rows()).map((row) => row.id);
    const expectedToo: string[] = [];
    const notExpected: string[] = [];
    const seen = await walk(ADMIN, { limit: '7' }, async (page, last) => {
      const hex = page.toString(16).padStart(2, '0');
      const targetId = targets[page % 3]!;
      // A new delivery (before the first page), one made long ago (after the cursor), and two in
      // the very microsecond of the page's last delivery: the one with the higher id sorts before
      // it (already passed), the one with the lower id after it.
      notExpected.push(await insert({ targetId, createdAt: 'now()' }));
      expectedToo.push(
        await insert({ targetId, createdAt: `'${T0}'::timestamptz - interval '${page + 1} days'` }),
      );
      const at = `(SELECT created_at FROM notification_deliveries WHERE id = '${last.id}')`;
      notExpected.push(
        await insert({ targetId, createdAt: at, id: `ffffffff-ffff-4fff-bfff-ffffffffff${hex}` }),
      );
      expectedToo.push(
        await insert({ targetId, createdAt: at, id: `00000000-0000-4000-8000-0000000000${hex}` }),
      );
    });
    // In (created_at, id) order, to the microsecond.
    expectWalked(
      seen.map((delivery) => delivery.id),
      (await rows()).map((row) => row.id),
      [...before, ...expectedToo],
      notExpected,
    );
  });

  it("shows a client token its own targets' deliveries only, page after page", async () => {
    const expected = (await rows()).filter((row) => row.clientId === acme.clientId).map((row) => row.id);
    expect(expected.length).toBeGreaterThan(10);
    expect((await walk(acme, { limit: '4' })).map((delivery) => delivery.id)).toEqual(expected);
    // A client token without a client sees nothing.
    expect(await service.listDeliveries({ ...acme, clientId: null }, {})).toEqual({ items: [], next: null });
  });

  it('pages 50 deliveries unless asked otherwise, as the log answered before it had pages', async () => {
    const first = await service.listDeliveries(ADMIN, {});
    expect(first.items).toHaveLength(50);
    expect(first.next).toEqual(expect.any(String));
    expect(first.items.map((delivery) => delivery.id)).toEqual(
      (await rows()).slice(0, 50).map((row) => row.id),
    );
  });

  it('refuses bad input with a 400 that names the parameter', async () => {
    const refusal = (input: DeliveryListFilter) => refusalOf(service.listDeliveries(ADMIN, input));
    const invalid = (message: RegExp) => ({
      code: NotificationsErrorCode.InvalidInput,
      status: 400,
      message: expect.stringMatching(message) as string,
    });
    for (const limit of ['0', '501', '1000', '2.5', 'many'])
      expect(await refusal({ limit })).toEqual(invalid(/^limit /));
    const cursor = (...parts: string[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    for (const bad of [
      'forged',
      'e30',
      'not base64!',
      cursor('tasks', '2020-03-01T10:00:00.000000Z', targets[0]!),
      cursor('notification-deliveries', '2020-03-01T10:00:00.000000Z', '10'),
      cursor('notification-deliveries', '2020-03-01', targets[0]!),
    ])
      expect(await refusal({ cursor: bad })).toEqual(invalid(/^cursor /));
  });
});
