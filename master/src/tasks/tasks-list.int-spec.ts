import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { expectWalked, refusalOf, walkPages } from '../../../test/support/pages.js';
import type { Principal } from '../auth/auth.service.js';
import { ClientsRepository } from '../clients/clients.repository.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import { ServersError } from '../servers/servers.errors.js';
import { ServersRepository } from '../servers/servers.repository.js';
import { TaskLogBus } from './task-log-bus.js';
import { TasksErrorCode } from './tasks.errors.js';
import { TasksRepository } from './tasks.repository.js';
import { TasksService, type TaskListInput, type TaskView } from './tasks.service.js';

const ADMIN: Principal = { tokenId: 'admin', name: 'admin', role: 'admin', clientId: null };
/** The first tasks' time: far enough back that a task created now is newer than all of them. */
const T0 = '2020-03-01T10:00:00.000000Z';

interface Row {
  id: string;
  type: string;
  state: string;
  targetId: string;
  targetName: string;
  clientId: string | null;
  /** created_at to the microsecond (ISO, UTC): compares as text in time order. */
  at: string;
}

/** The task list by pages and filters, through TasksService, on both databases the registry runs on. */
describe.each(TEST_DATABASE_KINDS)('task list pages on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let tasks: TasksService;
  let client: Principal;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    const servers = new ServersRepository(db);
    for (const name of ['web1', 'web2']) ids[name] = (await servers.create({ name, slots: 1 })).id;
    ids.acme = (await new ClientsRepository(db).create({ name: 'acme', email: null })).id;
    ids.siteA = '5a5a5a5a-0000-4000-8000-00000000000a';
    ids.siteB = '5b5b5b5b-0000-4000-8000-00000000000b';
    ids.platform = '70707070-0000-4000-8000-000000000001';
    client = { tokenId: 'acme', name: 'client:acme', role: 'client', clientId: ids.acme };
    tasks = new TasksService(
      new TasksRepository(db),
      {} as never,
      {} as never,
      {} as never,
      {
        serverId: async (nameOrId) => {
          const server = await servers.findByNameOrId(nameOrId);
          if (!server) throw ServersError.notFound(nameOrId);
          return server.id;
        },
        names: () => Promise.resolve(new Map()),
      },
      { cancelTask: () => Promise.resolve() },
      new TaskLogBus(),
    );
    // 72 tasks in groups of three created in the same microsecond, two such groups in each
    // millisecond (a microsecond apart): a JS Date cannot tell the groups of a millisecond apart.
    for (let n = 0; n < 72; n++) {
      const target = (
        [
          {
            kind: 'site',
            id: n % 2 === 0 ? ids.siteA : ids.siteB,
            name: n % 2 === 0 ? 'a.example' : 'b.example',
          },
          { kind: 'platform', id: ids.platform, name: 'p1' },
          { kind: 'server', id: n % 2 === 0 ? ids.web1! : ids.web2!, name: n % 2 === 0 ? 'web1' : 'web2' },
        ] as const
      )[n % 3]!;
      await insert({
        type: `${target.kind}.verify`,
        state: n % 5 === 0 ? 'failed' : n % 5 === 1 ? 'queued' : 'succeeded',
        targetKind: target.kind,
        targetId: target.id,
        targetName: target.name,
        clientId: target.kind === 'site' && n % 4 === 0 ? ids.acme : null,
        createdAt: `'${T0}'::timestamptz + interval '${Math.floor(n / 6)} milliseconds' + interval '${Math.floor(n / 3) % 2} microseconds'`,
      });
    }
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  async function insert(task: {
    type: string;
    state: string;
    targetKind: string;
    targetId: string;
    targetName: string;
    clientId: string | null;
    /** SQL for created_at. */
    createdAt: string;
    id?: string;
  }): Promise<string> {
    const row = await sqlOne<{ id: string }>(
      db,
      `INSERT INTO tasks (id, type, state, target_kind, target_id, target_name, client_id, created_at)
       VALUES (COALESCE($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, ${task.createdAt}) RETURNING id`,
      [
        task.id ?? null,
        task.type,
        task.state,
        task.targetKind,
        task.targetId,
        task.targetName,
        task.clientId,
      ],
    );
    return row!.id;
  }

  /** Every task, newest first by (created_at, id), with its time to the microsecond. */
  const rows = () =>
    sqlRows<Row>(
      db,
      `SELECT id, type, state, target_id AS "targetId", target_name AS "targetName", client_id AS "clientId",
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
         FROM tasks ORDER BY created_at DESC, id DESC`,
    );

  /** Every page of a query, following `next`; calls `between` after each page but the last. */
  const walk = (
    principal: Principal,
    input: TaskListInput,
    between?: (page: number, last: TaskView) => Promise<void>,
  ) =>
    walkPages(async (cursor) => {
      const page = await tasks.list(principal, { ...input, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(Number(input.limit ?? 50));
      return page;
    }, between);

  it('pages newest first without skipping or repeating a task, also among tasks of one microsecond, while tasks are added', async () => {
    const before = (await rows()).map((row) => row.id);
    const expectedToo: string[] = [];
    const notExpected: string[] = [];
    const seen = await walk(ADMIN, { limit: '7' }, async (page, last) => {
      const hex = page.toString(16).padStart(2, '0');
      const base = {
        type: 'site.verify',
        state: 'queued',
        targetKind: 'site',
        targetId: ids.siteA!,
        targetName: 'a.example',
        clientId: null,
      };
      // A new task (before the first page), one created long ago (after the cursor), and two in
      // the very microsecond of the page's last task: the one with the higher id sorts before it
      // (already passed), the one with the lower id after it.
      notExpected.push(await insert({ ...base, createdAt: 'now()' }));
      expectedToo.push(
        await insert({ ...base, createdAt: `'${T0}'::timestamptz - interval '${page + 1} days'` }),
      );
      const at = `(SELECT created_at FROM tasks WHERE id = '${last.id}')`;
      notExpected.push(
        await insert({ ...base, createdAt: at, id: `ffffffff-ffff-4fff-bfff-ffffffffff${hex}` }),
      );
      expectedToo.push(
        await insert({ ...base, createdAt: at, id: `00000000-0000-4000-8000-0000000000${hex}` }),
      );
    });
    // In (created_at, id) order, to the microsecond.
    expectWalked(
      seen.map((task) => task.id),
      (await rows()).map((row) => row.id),
      [...before, ...expectedToo],
      notExpected,
    );
  });

  it('filters by state, type, target (a name or an id), server and since, and shows a client its own tasks', async () => {
    const all = await rows();
    const expectFilter = async (
      input: TaskListInput,
      keep: (row: Row) => boolean,
      principal: Principal = ADMIN,
    ) => {
      const expected = all.filter(keep).map((row) => row.id);
      expect(expected.length).toBeGreaterThan(0);
      expect((await walk(principal, { ...input, limit: '5' })).map((task) => task.id)).toEqual(expected);
    };
    await expectFilter({ state: 'failed' }, (row) => row.state === 'failed');
    await expectFilter({ type: 'platform.verify' }, (row) => row.type === 'platform.verify');
    await expectFilter({ target: 'b.example' }, (row) => row.targetName === 'b.example');
    await expectFilter({ target: 'web2' }, (row) => row.targetName === 'web2');
    await expectFilter({ target: ids.platform! }, (row) => row.targetId === ids.platform);
    await expectFilter({ server: 'web1' }, (row) => row.targetId === ids.web1);
    await expectFilter({ server: ids.web2! }, (row) => row.targetId === ids.web2);
    const since = '2020-03-01T10:00:00.005Z';
    await expectFilter({ since }, (row) => row.at >= '2020-03-01T10:00:00.005000Z');
    await expectFilter(
      { state: 'succeeded', target: 'a.example', since: '2020-03-01' },
      (row) => row.state === 'succeeded' && row.targetName === 'a.example' && row.at >= '2020-03-01',
    );
    await expectFilter({}, (row) => row.clientId === ids.acme, client);
    await expectFilter(
      { state: 'queued' },
      (row) => row.clientId === ids.acme && row.state === 'queued',
      client,
    );
    // Named twice in different ways, the target and the server must agree.
    expect((await tasks.list(ADMIN, { target: ids.web1!, server: 'web2' })).items).toEqual([]);
    // A client token without a client sees nothing; one that names another's task sees nothing more.
    expect(await tasks.list({ ...client, clientId: null }, {})).toEqual({ items: [], next: null });
    expect((await tasks.list(client, { target: 'web1' })).items).toEqual([]);
  });

  it('pages 50 tasks unless asked otherwise', async () => {
    const first = await tasks.list(ADMIN, {});
    expect(first.items).toHaveLength(50);
    expect(first.next).toEqual(expect.any(String));
  });

  it('refuses bad input with a 400 that names the parameter', async () => {
    const refusal = (input: TaskListInput) => refusalOf(tasks.list(ADMIN, input));
    const invalid = (message: RegExp) => ({
      code: TasksErrorCode.InvalidInput,
      status: 400,
      message: expect.stringMatching(message) as string,
    });
    for (const limit of ['0', '501', '2.5', 'many'])
      expect(await refusal({ limit })).toEqual(invalid(/^limit /));
    expect(await refusal({ limit: ['5', '6'] as unknown as string })).toEqual(invalid(/^limit /));
    const platformsCursor = Buffer.from(JSON.stringify(['platforms', 'p1'])).toString('base64url');
    const badTime = Buffer.from(JSON.stringify(['tasks', '2020-03-01', ids.web1])).toString('base64url');
    for (const cursor of ['forged', 'e30', platformsCursor, badTime, 'not base64!'])
      expect(await refusal({ cursor })).toEqual(invalid(/^cursor /));
    expect(await refusal({ state: 'stuck' })).toEqual(invalid(/^state must be one of queued, running/));
    expect(await refusal({ type: 'site.explode' })).toEqual(invalid(/^type "site.explode"/));
    for (const since of ['yesterday', '2026-02-31', '2026-13-01', '1714560000'])
      expect(await refusal({ since })).toEqual(invalid(/^since /));
    expect(await refusal({ target: 'x'.repeat(300) })).toEqual(invalid(/^target /));
    // An unknown server is the servers' 404, as before.
    expect(await refusal({ server: 'nowhere' })).toMatchObject({ status: 404 });
  });
});
