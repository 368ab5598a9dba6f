import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../../test/support/test-database.js';
import { openDatabase } from './data-source.js';
import { pendingSchemaChanges } from './schema-diff.js';
import { sqlRows } from './sql.js';

describe.each(TEST_DATABASE_KINDS)('committed migrations on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('leave no difference between the entities and the schema', async () => {
    expect(await pendingSchemaChanges(db)).toEqual({ up: [], down: [] });
  });

  it('are recorded, so a second start runs none', async () => {
    expect(await db.showMigrations()).toBe(false);
  });

  it('let the database refuse a second running task for the same site', async () => {
    const insert = `INSERT INTO tasks (type, state, target_kind, target_id, target_name, lock_key)
                    VALUES ('debug.noop', 'running', 'site', gen_random_uuid(), 'x', 'site:one') RETURNING id`;
    await sqlRows(db, insert);
    await expect(sqlRows(db, insert)).rejects.toThrow(/uq_tasks_running_lock/);
  });

  it('let a slot hold one attempt only once', async () => {
    const server = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO servers (name) VALUES ('slots-${kind}') RETURNING id`,
    );
    const serverId = server[0]!.id;
    await sqlRows(
      db,
      `INSERT INTO server_slots (server_id, slot_no) VALUES ($1, 0), ($1, 1) RETURNING slot_no`,
      [serverId],
    );
    const attempt = '00000000-0000-4000-8000-000000000001';
    await sqlRows(
      db,
      `UPDATE server_slots SET attempt_id = $2 WHERE server_id = $1 AND slot_no = 0 RETURNING slot_no`,
      [serverId, attempt],
    );
    await expect(
      sqlRows(
        db,
        `UPDATE server_slots SET attempt_id = $2 WHERE server_id = $1 AND slot_no = 1 RETURNING slot_no`,
        [serverId, attempt],
      ),
    ).rejects.toThrow(/uq_server_slots_attempt/);
  });
});
