import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backup } from '../../../shared/src/api.js';
import { refusalOf, walkPages } from '../../../test/support/pages.js';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import type { Principal } from '../auth/auth.service.js';
import { BackupsRepository } from '../backups/backups.repository.js';
import { ClientsRepository } from '../clients/clients.repository.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import { OffsiteRepository } from '../offsite/offsite.repository.js';
import { SitesErrorCode } from './sites.errors.js';
import { SitesRepository } from './sites.repository.js';
import { SitesService, type BackupListInput } from './sites.service.js';

const ADMIN: Principal = { tokenId: 'admin', name: 'admin', role: 'admin', clientId: null };
const T0 = '2020-03-01T10:00:00.000000Z';

/** A site's backups by pages, with the total of all of them, through SitesService, on both registries. */
describe.each(TEST_DATABASE_KINDS)("a site's backups by pages on %s", (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let sites: SitesService;
  let acme: Principal;
  let other: Principal;
  let siteId: string;
  /** What the site's backups take, as they were inserted. */
  let expectedBytes = 0;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    const clients = new ClientsRepository(db);
    const acmeId = (await clients.create({ name: 'acme', email: null })).id;
    acme = { tokenId: 'acme', name: 'client:acme', role: 'client', clientId: acmeId };
    other = {
      tokenId: 'other',
      name: 'client:other',
      role: 'client',
      clientId: (await clients.create({ name: 'other', email: null })).id,
    };
    const sitesRepository = new SitesRepository(db);
    siteId = (
      await sitesRepository.create({
        domain: 'shop.example',
        platformId: '70707070-0000-4000-8000-000000000001',
        clientId: acmeId,
        dbServerId: '70707070-0000-4000-8000-000000000002',
        dbHost: '127.0.0.1',
        dbPort: 3306,
        dbName: 'shop',
        dbUser: 'shop',
        dbPasswordEncrypted: 'x',
        hashSaltEncrypted: null,
        profile: 'standard',
        status: 'enabled',
      })
    ).id;
    sites = new SitesService(
      sitesRepository,
      {} as never,
      {} as never,
      {} as never,
      {} as never,
      new BackupsRepository(db),
      {} as never,
      {} as never,
      {} as never,
      { releaseOldAfterMs: 0 },
      {} as never,
      {} as never,
      new OffsiteRepository(db),
    );
    // 40 of the site's backups, three at a time in one microsecond; a few under its name before a
    // rename; one of a deleted site that had its domain; one of another site (not the site's).
    for (let n = 0; n < 40; n++) {
      const at = `'${T0}'::timestamptz + interval '${Math.floor(n / 3)} microseconds'`;
      const database = n % 2 === 0;
      await insert({
        siteId,
        domain: n < 5 ? 'old-shop.example' : 'shop.example',
        files: 1000 + n,
        dump: 10,
        database,
        at,
      });
      expectedBytes += 1000 + n + (database ? 10 : 0);
    }
    await insert({
      siteId: '0dead000-0000-4000-8000-000000000000',
      domain: 'shop.example',
      files: 7,
      dump: null,
      database: false,
      at: `'${T0}'::timestamptz - interval '1 year'`,
    });
    expectedBytes += 7;
    await insert({
      siteId: '07e40000-0000-4000-8000-000000000000',
      domain: 'blog.example',
      files: 99,
      dump: 1,
      database: true,
      at: `'${T0}'`,
    });
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  /** A backup; a dump's bytes count only when it has a database archive (older backups held it inside). */
  async function insert(backup: {
    siteId: string;
    domain: string;
    files: number;
    dump: number | null;
    database: boolean;
    /** SQL for created_at. */
    at: string;
    id?: string;
  }): Promise<string> {
    const manifest = {
      archive: { bytes: backup.files, sha256: 'x' },
      database: backup.dump === null ? null : { bytes: backup.dump },
    };
    const row = await sqlOne<{ id: string }>(
      db,
      `INSERT INTO backups (id, site_id, domain, archive_id, database_archive_id, reason, manifest, created_at)
       VALUES (COALESCE($1::uuid, gen_random_uuid()), $2, $3, gen_random_uuid(),
               CASE WHEN $4 THEN gen_random_uuid() END, 'manual', $5, ${backup.at})
       RETURNING id`,
      [backup.id ?? null, backup.siteId, backup.domain, backup.database, JSON.stringify(manifest)],
    );
    return row!.id;
  }

  /** The site's backups newest first by (created_at, id), as the database orders them. */
  const order = async () =>
    new Map(
      (
        await sqlRows<{ id: string }>(
          db,
          `SELECT id FROM backups WHERE site_id = $1 OR domain = 'shop.example' ORDER BY created_at DESC, id DESC`,
          [siteId],
        )
      ).map((row, index) => [row.id, index]),
    );

  const walk = (
    principal: Principal,
    input: BackupListInput,
    between?: (page: number, last: Backup) => Promise<void>,
  ) =>
    walkPages(async (cursor) => {
      const page = await sites.listBackups(principal, 'shop.example', {
        ...input,
        ...(cursor ? { cursor } : {}),
      });
      return page;
    }, between);

  it('lists every backup newest first without a limit, with the count and bytes of all', async () => {
    const whole = await sites.listBackups(ADMIN, 'shop.example');
    expect(whole.next).toBeNull();
    expect(whole.items).toHaveLength(41);
    expect(whole.items.map((backup) => backup.domain)).not.toContain('blog.example');
    const positions = whole.items.map((backup) => backup.id);
    expect(positions).toEqual([...(await order()).keys()]);
    expect(whole.total).toEqual({ count: 41, bytes: expectedBytes });
    // The total is what the backups' own sizes add up to.
    expect(whole.items.reduce((sum, backup) => sum + backup.bytes, 0)).toBe(expectedBytes);
    // A client sees its site's; another client does not see it at all.
    expect((await sites.listBackups(acme, 'shop.example', { limit: '2' })).total).toEqual(whole.total);
    expect(await refusalOf(sites.listBackups(other, 'shop.example'))).toMatchObject({ status: 404 });
    // An admin reads a deleted site's by its domain: only that domain's.
    expect((await sites.listBackups(ADMIN, 'blog.example')).total).toEqual({ count: 1, bytes: 100 });
  });

  it('pages newest first without skipping or repeating one, also within one microsecond, while backups are taken', async () => {
    const before = [...(await order()).keys()];
    const expectedToo: string[] = [];
    const notExpected: string[] = [];
    const pages: number[] = [];
    const seen = await walk(acme, { limit: '4' }, async (page, last) => {
      const hex = page.toString(16).padStart(2, '0');
      const base = { siteId, domain: 'shop.example', files: 1, dump: null, database: false };
      notExpected.push(await insert({ ...base, at: 'now()' }));
      expectedToo.push(await insert({ ...base, at: `'${T0}'::timestamptz - interval '${page + 1} days'` }));
      const at = `(SELECT created_at FROM backups WHERE id = '${last.id}')`;
      notExpected.push(await insert({ ...base, at, id: `ffffffff-ffff-4fff-bfff-ffffffffff${hex}` }));
      expectedToo.push(await insert({ ...base, at, id: `00000000-0000-4000-8000-0000000000${hex}` }));
      pages.push(page);
    });
    const ids = seen.map((backup) => backup.id);
    expect(pages.length).toBeGreaterThan(5);
    expect(new Set(ids).size).toBe(ids.length);
    const positions = await order();
    const seenAt = ids.map((id) => positions.get(id)!);
    expect(seenAt).toEqual([...seenAt].sort((a, b) => a - b));
    expect(ids).toEqual(expect.arrayContaining([...before, ...expectedToo]));
    for (const id of notExpected) expect(ids).not.toContain(id);
    expect(ids).toHaveLength(before.length + expectedToo.length);
    // Every page tells the total of all the site's backups.
    const first = await sites.listBackups(acme, 'shop.example', { limit: '3' });
    expect(first.items).toHaveLength(3);
    expect(first.total.count).toBe(positions.size);
  });

  it('refuses bad input with a 400 that names the parameter', async () => {
    const refusal = (input: BackupListInput) => refusalOf(sites.listBackups(ADMIN, 'shop.example', input));
    const invalid = (message: RegExp) => ({
      code: SitesErrorCode.InvalidInput,
      status: 400,
      message: expect.stringMatching(message) as string,
    });
    expect(await refusal({ limit: '0' })).toEqual(invalid(/^limit /));
    expect(await refusal({ limit: '501' })).toEqual(invalid(/^limit /));
    const sitesCursor = Buffer.from(JSON.stringify(['sites', 'shop.example'])).toString('base64url');
    for (const cursor of ['forged', sitesCursor])
      expect(await refusal({ cursor })).toEqual(invalid(/^cursor /));
  });
});
