import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { SecretBox } from '../infra/crypto/secret-box.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlRows } from '../infra/db/sql.js';
import { BackupPoliciesRepository } from '../schedules/backup-policies.repository.js';
import { ServersRepository } from '../servers/servers.repository.js';
import { OffsiteRepository, type ClaimedCopy } from './offsite.repository.js';
import { OffsiteService } from './offsite.service.js';
import { OffsiteStore, type OffsiteBucket } from './offsite-store.js';
import { S3Bucket, type BucketLocation } from './s3-bucket.js';
import { S3_TEST_CREDENTIALS, startS3Server, type S3TestServer } from './testing/s3-server.js';

const logger = pino({ level: 'silent' });
const BUCKET = 'berth-offsite';

/**
 * Off-site copies against a real S3-compatible server (s3rver, a child process) and a real store
 * directory, on both registries: a target is added only once its bucket took a test object; each
 * backup's archives are copied to its policy's target and read back with their sha256; a copy
 * that does not read back whole is retried, then given up on and told; an archive that leaves
 * the store leaves the bucket; a file the store lost is put back from its copy, checked.
 */
describe.each(TEST_DATABASE_KINDS)('off-site copies on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let dataDir: string;
  let s3: S3TestServer;
  let archives: ArchiveStore;
  let repository: OffsiteRepository;
  let policies: BackupPoliciesRepository;
  let service: OffsiteService;
  let box: SecretBox;
  let serverId: string;
  let siteId: string;
  const uploads: string[] = [];
  const gaveUp: Array<{ copy: ClaimedCopy; error: string }> = [];

  const location = (overrides: Partial<BucketLocation> = {}): BucketLocation => ({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    bucket: BUCKET,
    prefix: 'berth/',
    pathStyle: true,
    ...S3_TEST_CREDENTIALS,
    ...overrides,
  });
  /** A worker whose buckets are real, counting uploads; `readBack` can change what a read returns. */
  const worker = (
    readBack?: (digest: { sha256: string; bytes: number }) => { sha256: string; bytes: number },
  ) =>
    new OffsiteStore({
      repository,
      archives,
      decrypt: (sealed) => box.decrypt(sealed),
      gaveUp: (copy, error) => {
        gaveUp.push({ copy, error });
        return Promise.resolve();
      },
      bucket: (where): OffsiteBucket => {
        const real = new S3Bucket(where);
        return {
          upload: async (key, file, sha256, signal) => {
            uploads.push(key);
            await real.upload(key, file, sha256, signal);
          },
          digest: async (key) => (readBack ?? ((digest) => digest))(await real.digest(key)),
          download: (key, file) => real.download(key, file),
          remove: (key) => real.remove(key),
          close: () => real.close(),
        };
      },
      options: { pollMs: 60_000, backoffMs: [0, 0] },
      logger,
    });
  const storedArchive = async (bytes = randomBytes(50_000)) => {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const [row] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO archives (state, server_id, sha256, size_bytes, purpose, stored_at)
       VALUES ('stored', $1, $2, $3, 'backup', now()) RETURNING id`,
      [serverId, sha256, bytes.length],
    );
    writeFileSync(archives.path(row!.id), bytes);
    return { id: row!.id, sha256, bytes };
  };
  const backup = async () => {
    const files = await storedArchive();
    const dump = await storedArchive();
    const [row] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO backups (site_id, domain, archive_id, database_archive_id, manifest)
       VALUES ($1, 'a.example', $2, $3, '{}') RETURNING id`,
      [siteId, files.id, dump.id],
    );
    return { id: row!.id, files, dump };
  };
  const copies = () =>
    sqlRows<{ archiveId: string; state: string; sha256: string | null; attempts: number; objectKey: string }>(
      db,
      `SELECT archive_id AS "archiveId", state, sha256, attempts, object_key AS "objectKey" FROM offsite_copies
        ORDER BY created_at, archive_id`,
    );
  const addTarget = (name = 'offsite-eu') =>
    service.add({ name, ...location(), secretAccessKey: S3_TEST_CREDENTIALS.secretAccessKey });
  const offsitePolicy = async (scope: 'global' | 'site', target: string | null) => {
    const fields = {
      schedule: null,
      windowStart: null,
      windowEnd: null,
      keepLast: 7,
      keepDaily: 0,
      keepWeekly: 0,
      keepMonthly: 0,
      verifySchedule: null,
      offsiteTargetId: target ? (await repository.findTarget(target))!.id : null,
    };
    await policies.put(scope, scope === 'site' ? siteId : null, fields);
  };

  beforeAll(async () => {
    s3 = await startS3Server([BUCKET]);
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    dataDir = mkdtempSync(join(tmpdir(), 'berth-offsite-'));
    box = SecretBox.open({ dataDir });
    archives = new ArchiveStore(new ArchiveRepository(db), { dataDir }, logger);
    await archives.start();
    repository = new OffsiteRepository(db);
    policies = new BackupPoliciesRepository(db);
    service = new OffsiteService(
      repository,
      box,
      async (where) => {
        const bucket = new S3Bucket(where);
        try {
          await bucket.probe();
        } finally {
          bucket.close();
        }
      },
      (scopeKey) => Promise.resolve(scopeKey),
    );
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
    for (const table of ['offsite_copies', 'backup_policies', 'offsite_targets', 'backups', 'archives']) {
      await sqlRows(db, `DELETE FROM ${table} RETURNING 1`);
    }
    uploads.length = 0;
    gaveUp.length = 0;
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
    await s3?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('adds a target only once its bucket took a test object, and never shows its secret', async () => {
    const refused = async (input: Record<string, unknown>) =>
      service.add({ name: 'bad', ...location(), ...input }).then(
        () => undefined,
        (error: Error & { code?: string }) => `${error.code}: ${error.message}`,
      );
    // s3rver checks the access key id (not the signature's secret): an unknown one is refused.
    expect(await refused({ accessKeyId: 'NOBODY', secretAccessKey: 'S3RVER' })).toMatch(
      /^OFFSITE_BUCKET_REFUSED: bucket berth-offsite at http:\/\/127\.0\.0\.1:\d+ did not take a test object.*InvalidAccessKeyId/,
    );
    expect(await refused({ bucket: 'no-such-bucket', secretAccessKey: 'S3RVER' })).toContain('NoSuchBucket');
    expect(await refused({ endpoint: 'ftp://127.0.0.1', secretAccessKey: 'S3RVER' })).toContain(
      'must be an http:// or https:// URL',
    );
    expect(await refused({ prefix: '../x/', secretAccessKey: 'S3RVER' })).toContain('prefix');
    expect(await refused({ bucket: 'Bad_Bucket', secretAccessKey: 'S3RVER' })).toContain(
      'not an S3 bucket name',
    );
    expect(await service.list()).toEqual([]);

    const added = await addTarget();
    expect(added).toMatchObject({
      name: 'offsite-eu',
      bucket: BUCKET,
      prefix: 'berth/',
      accessKeyId: 'S3RVER',
    });
    const [listed] = await service.list();
    expect(Object.keys(listed!)).not.toContain('secretAccessKey');
    expect(Object.keys(listed!)).not.toContain('secretEncrypted');
    const [row] = await sqlRows<{ secret: string }>(
      db,
      `SELECT secret_encrypted AS secret FROM offsite_targets`,
    );
    expect(row!.secret).not.toContain('S3RVER');
    expect(box.decrypt(row!.secret)).toBe('S3RVER');
    expect(await refused({ name: 'offsite-eu', secretAccessKey: 'S3RVER' })).toBe(
      'OFFSITE_TARGET_NAME_TAKEN: an off-site target named offsite-eu exists already',
    );
  });

  it("copies each backup's archives to its policy's target, reads them back, and the most specific policy decides", async () => {
    await addTarget();
    await offsitePolicy('global', 'offsite-eu');
    const first = await backup();
    expect(await repository.enqueueBackup(first.id)).toBe(2);
    expect(await repository.enqueueBackup(first.id)).toBe(0);
    await worker().tick();
    const rows = await copies();
    expect(rows.map((row) => row.state)).toEqual(['copied', 'copied']);
    for (const part of [first.files, first.dump]) {
      const row = rows.find((copy) => copy.archiveId === part.id)!;
      expect(row.objectKey).toBe(`berth/a.example/${first.id}/${part.id}`);
      expect(row.sha256).toBe(part.sha256);
      expect(readFileSync(s3.objectFile(BUCKET, row.objectKey)).equals(part.bytes)).toBe(true);
    }
    // A site's own policy without a target: its backups stay on the master.
    await offsitePolicy('site', null);
    expect(await repository.enqueueBackup((await backup()).id)).toBe(0);
  });

  it('retries a copy that does not read back whole, then gives it up and tells', async () => {
    await addTarget();
    await offsitePolicy('global', 'offsite-eu');
    const made = await backup();
    await repository.enqueueBackup(made.id);
    const lying = worker((digest) => ({ ...digest, sha256: 'f'.repeat(64) }));
    for (let pass = 0; pass < 3; pass++) await lying.tick();
    const rows = await copies();
    expect(rows.map((row) => [row.state, row.attempts])).toEqual([
      ['failed', 3],
      ['failed', 3],
    ]);
    expect(gaveUp).toHaveLength(2);
    expect(gaveUp[0]!.error).toContain(`with sha256 ${'f'.repeat(64)}`);
    expect(gaveUp[0]!.copy).toMatchObject({ domain: 'a.example', target: { name: 'offsite-eu' } });
  });

  it('removes the copies of archives that left the store, from the bucket and the registry', async () => {
    await addTarget();
    await offsitePolicy('global', 'offsite-eu');
    const made = await backup();
    await repository.enqueueBackup(made.id);
    await worker().tick();
    const keyOf = new Map((await copies()).map((row) => [row.archiveId, row.objectKey]));
    expect([...keyOf.values()].every((key) => existsSync(s3.objectFile(BUCKET, key)))).toBe(true);
    await archives.remove(made.files.id);
    await worker().tick();
    expect((await copies()).map((row) => row.archiveId)).toEqual([made.dump.id]);
    expect(existsSync(s3.objectFile(BUCKET, keyOf.get(made.files.id)!))).toBe(false);
    expect(existsSync(s3.objectFile(BUCKET, keyOf.get(made.dump.id)!))).toBe(true);
  });

  it('puts a file the store lost back from its copy, and refuses a copy that is not whole', async () => {
    await addTarget();
    await offsitePolicy('global', 'offsite-eu');
    const made = await backup();
    await repository.enqueueBackup(made.id);
    const store = worker();
    await store.tick();

    rmSync(archives.path(made.files.id));
    expect(await store.putBack(made.files.id)).toEqual({ from: 'offsite-eu' });
    expect(readFileSync(archives.path(made.files.id)).equals(made.files.bytes)).toBe(true);
    expect((await archives.check(made.files.id)).state).toBe('ok');

    // The copy in the bucket damaged: nothing is published, the store keeps what it has.
    const key = (await copies()).find((row) => row.archiveId === made.dump.id)!.objectKey;
    writeFileSync(s3.objectFile(BUCKET, key), Buffer.from('not the dump'));
    rmSync(archives.path(made.dump.id));
    const back = await store.putBack(made.dump.id);
    expect(back).toEqual({ failed: expect.stringContaining('sha256 mismatch') as string });
    expect(existsSync(archives.path(made.dump.id))).toBe(false);
    expect(await store.putBack((await storedArchive()).id)).toEqual({ failed: 'it has no off-site copy' });
  });

  it('uploads each copy once when two masters work at the same time', async () => {
    await addTarget();
    await offsitePolicy('global', 'offsite-eu');
    for (let n = 0; n < 3; n++) await repository.enqueueBackup((await backup()).id);
    await Promise.all([worker().tick(), worker().tick()]);
    expect(uploads).toHaveLength(6);
    expect(new Set(uploads).size).toBe(6);
    expect((await copies()).every((row) => row.state === 'copied')).toBe(true);
  });

  it('refuses to remove a target a policy names, and removes one none does', async () => {
    await addTarget();
    await offsitePolicy('global', 'offsite-eu');
    await expect(service.remove('offsite-eu')).rejects.toThrow(/named by the backup policy of global/);
    await offsitePolicy('global', null);
    await service.remove('offsite-eu');
    expect(await service.list()).toEqual([]);
    await expect(service.remove('offsite-eu')).rejects.toThrow(/no off-site target "offsite-eu"/);
  });
});
