import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../shared/src/api.js';
import { expectWalked, refusalOf, walkPages } from '../../../test/support/pages.js';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import { AuditErrorCode } from './audit.errors.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService, type AuditListFilter } from './audit.service.js';

/** The first events' time: far enough back that an event written now is newer than all of them. */
const T0 = '2020-03-01T10:00:00.000000Z';
const TASK_ID = '0b6f2a53-6a0c-4a55-9a0e-6f1c2d3e4f50';
/** The events written first; more than a default page (100). */
const EVENTS = 130;

interface Row {
  id: string;
  /** at to the microsecond (ISO, UTC): compares as text in time order. */
  at: string;
  target: Record<string, string>;
  summary: Record<string, unknown> | null;
  taskId: string | null;
}

/** The audit log by pages and filters, through AuditService, on both databases the registry runs on. */
describe.each(TEST_DATABASE_KINDS)('audit log pages on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let audit: AuditService;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    audit = new AuditService(new AuditRepository(db));
    // Events in groups of four written in the same microsecond, two such groups in each millisecond
    // (a microsecond apart): a JS Date cannot tell the groups of a millisecond apart. Their ids are
    // 10, 20, 30, … (room for an id between two of them), so that groups hold ids of one and two
    // digits (90, 100, …) and of two and three: the order is the number's, not the text's.
    for (let n = 0; n < EVENTS; n++) {
      await insert({
        id: String((n + 1) * 10),
        at: `'${T0}'::timestamptz + interval '${Math.floor(n / 8)} milliseconds' + interval '${Math.floor(n / 4) % 2} microseconds'`,
        target: n % 3 === 2 ? {} : { domain: n % 2 === 0 ? 'a.example' : 'b.example' },
        summary: n % 3 === 2 ? { name: 'front', servers: n % 2 === 0 ? ['web1'] : ['web1', 'web2'] } : null,
        taskId: n % 5 === 0 ? TASK_ID : null,
      });
    }
    // An event written from now on gets an id above all of those, and ten apart too: the id below
    // one is free.
    await sqlRows(db, `SELECT setval(pg_get_serial_sequence('audit_events', 'id'), 100000) AS id`);
    await sqlRows(db, `ALTER SEQUENCE audit_events_id_seq INCREMENT BY 10`);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  async function insert(event: {
    /** The registry's next id when left out. */
    id?: string;
    /** SQL for at. */
    at: string;
    target?: Record<string, string>;
    summary?: Record<string, unknown> | null;
    taskId?: string | null;
  }): Promise<string> {
    const row = await sqlOne<{ id: string }>(
      db,
      `INSERT INTO audit_events (id, at, token_name, role, method, route, path, target, summary, status,
                                 task_id, duration_ms)
       VALUES (COALESCE($1::bigint, nextval(pg_get_serial_sequence('audit_events', 'id'))), ${event.at},
               'admin', 'admin', 'POST', '/api/sites/:domain/backup', '/api/sites/x/backup', $2::jsonb,
               $3::jsonb, 202, $4, 1)
       RETURNING id::text AS id`,
      [
        event.id ?? null,
        JSON.stringify(event.target ?? {}),
        event.summary ? JSON.stringify(event.summary) : null,
        event.taskId ?? null,
      ],
    );
    return row!.id;
  }

  /** Every event, newest first by (at, id), with its time to the microsecond. */
  const rows = async () =>
    (
      await sqlRows<Row>(
        db,
        `SELECT id::text AS id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at,
                target, summary, task_id AS "taskId"
           FROM audit_events ORDER BY at DESC, audit_events.id DESC`,
      )
    ).map((row) => ({
      ...row,
      target: parsed(row.target) ?? {},
      summary: parsed(row.summary),
    }));

  /** Every page of a query, following `next`; calls `between` after each page but the last. */
  const walk = (input: AuditListFilter, between?: (page: number, last: AuditEvent) => Promise<void>) =>
    walkPages(async (cursor) => {
      const page = await audit.list({ ...input, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(Number(input.limit ?? 100));
      return page;
    }, between);

  it('pages newest first without skipping or repeating an event, also among events of one microsecond, while events are written', async () => {
    const before = (await rows()).map((row) => row.id);
    const expectedToo: string[] = [];
    const notExpected: string[] = [];
    const seen = await walk({ limit: '7' }, async (page, last) => {
      // A new event (before the first page), one from long ago (after the cursor), and two in the
      // very microsecond of the page's last event: one with a higher id sorts before it (already
      // passed), one with a lower id after it.
      notExpected.push(await insert({ at: 'now()' }));
      expectedToo.push(await insert({ at: `'${T0}'::timestamptz - interval '${page + 1} days'` }));
      const at = `(SELECT at FROM audit_events WHERE id = ${Number(last.id)})`;
      notExpected.push(await insert({ at }));
      expectedToo.push(await insert({ at, id: String(Number(last.id) - 1) }));
    });
    // In (at, id) order, to the microsecond.
    expectWalked(
      seen.map((event) => event.id),
      (await rows()).map((row) => row.id),
      [...before, ...expectedToo],
      notExpected,
    );
  });

  it('filters by target (a route parameter, a summary value or item, a task id) and since', async () => {
    const all = await rows();
    const expectFilter = async (input: AuditListFilter, keep: (row: Row) => boolean) => {
      const expected = all.filter(keep).map((row) => row.id);
      expect(expected.length).toBeGreaterThan(0);
      expect((await walk({ ...input, limit: '6' })).map((event) => event.id)).toEqual(expected);
    };
    const summaryHas = (row: Row, value: string) =>
      Object.values(row.summary ?? {}).some((item) =>
        Array.isArray(item) ? item.includes(value) : item === value,
      );
    await expectFilter({ target: 'b.example' }, (row) => row.target.domain === 'b.example');
    await expectFilter({ target: 'web2' }, (row) => summaryHas(row, 'web2'));
    await expectFilter({ target: 'front' }, (row) => summaryHas(row, 'front'));
    await expectFilter({ target: TASK_ID }, (row) => row.taskId === TASK_ID);
    await expectFilter(
      { since: '2020-03-01T10:00:00.010Z' },
      (row) => row.at >= '2020-03-01T10:00:00.010000Z',
    );
    await expectFilter(
      { target: 'a.example', since: '2020-03-01T10:00:00.005Z' },
      (row) => row.target.domain === 'a.example' && row.at >= '2020-03-01T10:00:00.005000Z',
    );
    expect(await audit.list({ target: 'web' })).toEqual({ items: [], next: null });
  });

  it('pages 100 events unless asked otherwise, as the log answered before it had pages', async () => {
    const first = await audit.list({});
    expect(first.items).toHaveLength(100);
    expect(first.next).toEqual(expect.any(String));
    expect((await audit.list({ limit: '500' })).next).toBeNull();
  });

  it('refuses bad input with a 400 that names the parameter', async () => {
    const refusal = (input: AuditListFilter) => refusalOf(audit.list(input));
    const invalid = (message: RegExp) => ({
      code: AuditErrorCode.InvalidQuery,
      status: 400,
      message: expect.stringMatching(message) as string,
    });
    for (const limit of ['0', '501', '1000', '2.5', 'many'])
      expect(await refusal({ limit })).toEqual(invalid(/^limit /));
    expect(await refusal({ limit: ['5', '6'] as unknown as string })).toEqual(invalid(/^limit /));
    const cursor = (...parts: string[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    for (const bad of [
      'forged',
      'e30',
      'not base64!',
      // Another list's cursor; a uuid, a number out of bigint's range or no time where the key is.
      cursor('tasks', '2020-03-01T10:00:00.000000Z', TASK_ID),
      cursor('audit', '2020-03-01T10:00:00.000000Z', TASK_ID),
      cursor('audit', '2020-03-01T10:00:00.000000Z', '9223372036854775808'),
      cursor('audit', '2020-03-01T10:00:00.000000Z', '010'),
      cursor('audit', '2020-03-01', '10'),
    ])
      expect(await refusal({ cursor: bad })).toEqual(invalid(/^cursor /));
    // The largest id there can be is a key, and nothing comes after an event older than all.
    expect(
      await audit.list({ cursor: cursor('audit', '2000-01-01T00:00:00.000000Z', '9223372036854775807') }),
    ).toEqual({ items: [], next: null });
    for (const since of ['yesterday', '1714560000', '2026-02-31x'])
      expect(await refusal({ since })).toEqual(invalid(/^since /));
    expect(await refusal({ target: 'x'.repeat(256) })).toEqual(invalid(/^target /));
    expect(await refusal({ target: ['a', 'b'] as unknown as string })).toEqual(invalid(/^target /));
  });
});

/** jsonb comes back parsed from node-postgres; this holds whichever way a driver hands it over. */
function parsed<T>(value: T | string | null): T | null {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}
