import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { ArchiveRepository } from '../backups/archive.repository.js';
import { ArchiveStore } from '../backups/archive-store.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlRows } from '../infra/db/sql.js';
import { BackupPoliciesRepository } from '../schedules/backup-policies.repository.js';
import { ServersRepository } from '../servers/servers.repository.js';
import { StoreCollector } from './store-collector.js';
import { StoreRepository } from './store.repository.js';

const logger = pino({ level: 'silent' });
const DAY = 24 * 3600_000;
const GRACE = 3600_000;

/**
 * The store's collector on a real registry and a real store directory: retention removes rows and
 * files together, what an unfinished task names and what is younger than the grace are kept, rows
 * and files that disagree are repaired, and carrying a plan out twice removes nothing twice.
 */
describe.each(TEST_DATABASE_KINDS)('store collector on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let dataDir: string;
  let archives: ArchiveStore;
  let policies: BackupPoliciesRepository;
  let collector: StoreCollector;
  let serverId: string;
  let siteId: string;
  const now = new Date('2026-12-04T12:00:00Z');

  const file = (id: string) => join(dataDir, 'store', 'archives', id);
  const addArchive = async (options: { ageMs?: number; withFile?: boolean } = {}) => {
    const [row] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO archives (state, server_id, sha256, size_bytes, purpose, created_at, stored_at)
       VALUES ('stored', $1, repeat('0', 64), 100, 'backup', $2, $2) RETURNING id`,
      [serverId, new Date(now.getTime() - (options.ageMs ?? DAY)).toISOString()],
    );
    if (options.withFile ?? true) writeFileSync(file(row!.id), 'x'.repeat(100));
    return row!.id;
  };
  const addBackup = async (reason: string, ageDays: number) => {
    const archiveId = await addArchive({ ageMs: ageDays * DAY });
    const dumpId = await addArchive({ ageMs: ageDays * DAY });
    const [row] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO backups (site_id, domain, archive_id, database_archive_id, reason, manifest, created_at)
       VALUES ($1, 'a.example', $2, $3, $4, '{}', $5) RETURNING id`,
      [siteId, archiveId, dumpId, reason, new Date(now.getTime() - ageDays * DAY).toISOString()],
    );
    return { id: row!.id, archiveId, dumpId };
  };
  const backupIds = async () =>
    (await sqlRows<{ id: string }>(db, `SELECT id FROM backups ORDER BY created_at`)).map((row) => row.id);
  const stateOf = async (archiveId: string) =>
    (await sqlRows<{ state: string }>(db, `SELECT state FROM archives WHERE id = $1`, [archiveId]))[0]?.state;
  const keepLast = (keepLast: number) =>
    policies.put('global', null, {
      schedule: null,
      windowStart: null,
      windowEnd: null,
      keepLast,
      keepDaily: 0,
      keepWeekly: 0,
      keepMonthly: 0,
      verifySchedule: null,
    });

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    dataDir = mkdtempSync(join(tmpdir(), 'berth-store-'));
    archives = new ArchiveStore(new ArchiveRepository(db), { dataDir }, logger);
    await archives.start();
    policies = new BackupPoliciesRepository(db);
    collector = new StoreCollector({
      store: new StoreRepository(db),
      archives,
      policies,
      config: { storeGcGraceMs: GRACE },
      logger,
    });
    serverId = (await new ServersRepository(db).create({ name: 'web1', slots: 1 })).id;
    const [platform] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO platforms (name, server_id, path) VALUES ('p', $1, '/var/berth/platforms/p') RETURNING id`,
      [serverId],
    );
    const [site] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO sites (domain, platform_id, db_server_id, db_name, db_user, db_password_encrypted, status)
       VALUES ('a.example', $1, $2, 'db', 'u', 'x', 'enabled') RETURNING id`,
      [platform!.id, serverId],
    );
    siteId = site!.id;
  });

  beforeEach(async () => {
    for (const table of ['backups', 'archives', 'backup_policies', 'tasks']) {
      await sqlRows(db, `DELETE FROM ${table} RETURNING 1`);
    }
    rmSync(join(dataDir, 'store', 'archives'), { recursive: true, force: true });
    mkdirSync(join(dataDir, 'store', 'archives'), { recursive: true });
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("removes the automatic backups past retention with their files, never a person's own", async () => {
    const scheduled = [];
    for (const age of [5, 4, 3, 2, 1]) scheduled.push(await addBackup('scheduled', age));
    const personal = await addBackup('manual', 10);
    await keepLast(2);
    const plan = await collector.plan(now);
    expect(plan.expired.map((backup) => backup.backupId).sort()).toEqual(
      scheduled
        .slice(0, 3)
        .map((backup) => backup.id)
        .sort(),
    );
    const report = await collector.collect(plan);
    expect(report).toMatchObject({ backupsRemoved: 3, archivesRemoved: 0, strayFiles: 0, brokenBackups: [] });
    expect(report.bytesFreed).toBe(600);
    expect(await backupIds()).toEqual([personal.id, scheduled[3]!.id, scheduled[4]!.id]);
    for (const gone of scheduled.slice(0, 3)) {
      for (const id of [gone.archiveId, gone.dumpId]) {
        expect(existsSync(file(id))).toBe(false);
        expect(await stateOf(id)).toBe('deleted');
      }
    }
    for (const kept of [personal, scheduled[3]!, scheduled[4]!])
      expect(existsSync(file(kept.archiveId))).toBe(true);
    // Carried out again (a replay after a restart): nothing more goes, nothing fails.
    expect(await collector.collect(plan)).toMatchObject({ backupsRemoved: 3, bytesFreed: 0 });
    expect(await backupIds()).toHaveLength(3);
  });

  it('keeps every backup of a site without a policy, and one an unfinished task names', async () => {
    const old = await addBackup('scheduled', 3);
    await addBackup('scheduled', 1);
    expect((await collector.plan(now)).expired).toEqual([]);
    await keepLast(1);
    await sqlRows(
      db,
      `INSERT INTO tasks (type, state, target_kind, target_id, target_name, params, phases)
       VALUES ('site.restore', 'running', 'site', $1, 'a.example', $2, '[]') RETURNING id`,
      [siteId, JSON.stringify({ backupId: old.id, preArchiveId: '00000000-0000-4000-8000-000000000009' })],
    );
    expect((await collector.plan(now)).expired).toEqual([]);
  });

  it('removes archives nothing names once past the grace, not before, not one a task names', async () => {
    const rollbackPoint = await addArchive({ ageMs: 2 * GRACE });
    const young = await addArchive({ ageMs: GRACE / 2 });
    const named = await addArchive({ ageMs: 2 * GRACE });
    await sqlRows(
      db,
      `INSERT INTO tasks (type, state, target_kind, target_id, target_name, params, phases)
       VALUES ('site.backup', 'queued', 'site', $1, 'a.example', $2, '[]') RETURNING id`,
      [siteId, JSON.stringify({ archiveId: named })],
    );
    const plan = await collector.plan(now);
    expect(plan.unreferenced).toEqual([rollbackPoint]);
    expect(await collector.collect(plan)).toMatchObject({ archivesRemoved: 1, bytesFreed: 100 });
    expect(existsSync(file(rollbackPoint))).toBe(false);
    expect(existsSync(file(young))).toBe(true);
    expect(existsSync(file(named))).toBe(true);
  });

  it('repairs rows and files that disagree: a stray file goes, a backup whose file is lost goes', async () => {
    const stray = join(dataDir, 'store', 'archives', '0b0e6c7a-6a3c-4c43-9f1e-6a0c1b2d3e4f');
    writeFileSync(stray, 'left by a crash');
    const old = new Date(Date.now() - 2 * GRACE);
    utimesSync(stray, old, old);
    const fresh = join(dataDir, 'store', 'archives', '1b0e6c7a-6a3c-4c43-9f1e-6a0c1b2d3e4f');
    writeFileSync(fresh, 'an upload being published');
    const lost = await addBackup('manual', 2);
    rmSync(file(lost.archiveId));
    const plan = await collector.plan(new Date());
    expect(plan.strayFiles).toEqual([stray.split('/').pop()]);
    expect(plan.broken).toEqual([
      {
        backupId: lost.id,
        domain: 'a.example',
        archiveId: lost.archiveId,
        archiveIds: [lost.archiveId, lost.dumpId],
      },
    ]);
    const report = await collector.collect(plan);
    expect(report).toMatchObject({
      strayFiles: 1,
      brokenBackups: [{ backupId: lost.id, domain: 'a.example', archiveId: lost.archiveId }],
    });
    expect(existsSync(stray)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(await backupIds()).toEqual([]);
    expect(existsSync(file(lost.dumpId))).toBe(false);
  });

  it('keeps a backup whose file is lost but copied off-site, and reports it', async () => {
    const copied = await addBackup('manual', 2);
    const [target] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO offsite_targets (name, endpoint, region, bucket, access_key_id, secret_encrypted)
       VALUES ('offsite-eu', 'http://127.0.0.1:9', 'us-east-1', 'b', 'k', 's') RETURNING id`,
    );
    for (const [archiveId, state] of [
      [copied.archiveId, 'copied'],
      [copied.dumpId, 'pending'],
    ] as const) {
      await sqlRows(
        db,
        `INSERT INTO offsite_copies (archive_id, target_id, backup_id, object_key, state, next_attempt_at)
         VALUES ($1::uuid, $2, $3, $1::text, $4, now()) RETURNING id`,
        [archiveId, target!.id, copied.id, state],
      );
    }
    rmSync(file(copied.archiveId));
    const plan = await collector.plan(new Date());
    expect(plan.broken).toEqual([]);
    expect(plan.offsiteOnly).toEqual([
      { backupId: copied.id, domain: 'a.example', archiveId: copied.archiveId },
    ]);
    // The dump's copy is not done: losing that file too makes the backup lost.
    rmSync(file(copied.dumpId));
    expect((await collector.plan(new Date())).broken.map((backup) => backup.archiveId)).toEqual([
      copied.dumpId,
    ]);
    await sqlRows(db, `DELETE FROM offsite_copies RETURNING 1`);
    await sqlRows(db, `DELETE FROM offsite_targets RETURNING 1`);
  });

  it('reports what the store holds per client and per site', async () => {
    await addBackup('scheduled', 1);
    await addBackup('manual', 2);
    await addArchive({ ageMs: 0 });
    const usage = await collector.usage();
    expect(usage).toEqual({
      totalBytes: 500,
      archives: 5,
      backups: { count: 2, bytes: 400 },
      otherBytes: 100,
      byClient: [{ client: null, backups: 2, bytes: 400 }],
      topSites: [{ domain: 'a.example', client: null, backups: 2, bytes: 400 }],
    });
  });
});
