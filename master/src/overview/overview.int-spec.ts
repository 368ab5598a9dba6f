import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import type { Principal } from '../auth/auth.service.js';
import { ClientsRepository } from '../clients/clients.repository.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import { PlatformsRepository } from '../platforms/platforms.repository.js';
import { ServersRepository } from '../servers/servers.repository.js';
import { SitesRepository } from '../sites/sites.repository.js';
import { OverviewRepository } from './overview.repository.js';
import { OverviewService } from './overview.service.js';

const ADMIN: Principal = { tokenId: 'admin', name: 'admin', role: 'admin', clientId: null };

/** The dashboard's overview for an admin and for a client, on both registries. */
describe.each(TEST_DATABASE_KINDS)('overview on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let overview: OverviewService;
  let acme: Principal;
  const ids: Record<string, string> = {};
  /** Failed tasks of the last day, newest first, and acme's among them. */
  const failedLately: string[] = [];
  const acmeFailedLately: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    const servers = new ServersRepository(db);
    for (const name of ['web1', 'web2', 'db1']) ids[name] = (await servers.create({ name, slots: 1 })).id;
    // web1's agent is connected; web2's was last heard of an hour ago, db1's never.
    await sqlRows(
      db,
      `UPDATE servers SET last_seen_at = now() - interval '1 hour' WHERE name = 'web2' RETURNING id`,
    );
    overview = new OverviewService(new OverviewRepository(db), {
      connectedServerIds: () => Promise.resolve([ids.web1!]),
    });
    const platforms = new PlatformsRepository(db);
    for (const name of ['p1', 'p2'])
      ids[name] = (
        await platforms.create({ name, serverId: ids.web1!, path: `/srv/${name}`, docroot: 'web' })
      ).id;
    const clients = new ClientsRepository(db);
    for (const name of ['acme', 'other']) ids[name] = (await clients.create({ name, email: null })).id;
    acme = { tokenId: 'acme', name: 'client:acme', role: 'client', clientId: ids.acme! };
    const sites = new SitesRepository(db);
    // 30 sites: every third acme's; statuses in turn; six at a time verified never, two days ago or
    // an hour ago in turn.
    const statuses = ['enabled', 'enabled', 'disabled', 'enabled', 'failed', 'installing'] as const;
    for (let n = 0; n < 30; n++) {
      const domain = `s${String(n).padStart(2, '0')}.example`;
      const site = await sites.create({
        domain,
        platformId: n % 2 === 0 ? ids.p1! : ids.p2!,
        clientId: n % 3 === 0 ? ids.acme! : null,
        dbServerId: ids.db1!,
        dbHost: '127.0.0.1',
        dbPort: 3306,
        dbName: `site${n}`,
        dbUser: `u${n}`,
        dbPasswordEncrypted: 'x',
        hashSaltEncrypted: null,
        profile: 'standard',
        status: statuses[n % statuses.length]!,
      });
      const verified = [
        null,
        `now() - interval '2 days' + interval '${n} seconds'`,
        `now() - interval '1 hour'`,
      ][Math.floor(n / 6) % 3];
      await sqlRows(db, `UPDATE sites SET verified_at = ${verified ?? 'NULL'} WHERE id = $1 RETURNING id`, [
        site.id,
      ]);
      ids[domain] = site.id;
    }
    // Tasks: queued and running ones; 14 failed within the last day (acme's every other), and
    // failed ones from before that (not counted).
    const task = async (state: string, clientId: string | null, createdAt: string) =>
      (await sqlOne<{ id: string }>(
        db,
        `INSERT INTO tasks (type, state, target_kind, target_id, target_name, client_id, created_at)
         VALUES ('site.verify', $1, 'site', $2, 's00.example', $3, ${createdAt}) RETURNING id`,
        [state, ids['s00.example'], clientId],
      ))!.id;
    for (let n = 0; n < 3; n++) await task('queued', n === 0 ? ids.acme! : null, 'now()');
    for (let n = 0; n < 2; n++) await task('running', ids.acme!, 'now()');
    for (let n = 0; n < 14; n++) {
      const clientId = n % 2 === 0 ? ids.acme! : null;
      const id = await task('failed', clientId, `now() - interval '${n} hours'`);
      failedLately.push(id);
      if (clientId) acmeFailedLately.push(id);
    }
    for (let n = 0; n < 3; n++)
      await task('failed', ids.acme!, `now() - interval '25 hours' - interval '${n} days'`);
    await task('succeeded', null, 'now()');
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  /** The enabled sites not verified within a day (never first, then the longest ago), as the registry holds them. */
  const unverified = async (clientId?: string) =>
    sqlRows<{ domain: string }>(
      db,
      `SELECT domain FROM sites WHERE status = 'enabled' AND (verified_at IS NULL OR verified_at < now() - interval '1 day')
          AND ($1::uuid IS NULL OR client_id = $1::uuid)
        ORDER BY verified_at ASC NULLS FIRST, domain`,
      [clientId ?? null],
    );

  it('counts everything for an admin, with the first ten of each attention list', async () => {
    const result = await overview.get(ADMIN);
    expect(result.sites).toEqual({
      total: 30,
      byStatus: { enabled: 15, disabled: 5, failed: 5, installing: 5 },
    });
    expect(result.platforms).toBe(2);
    expect(result.servers).toEqual({ total: 3, connected: 1 });
    expect(result.clients).toBe(2);
    expect(result.tasks).toEqual({ queued: 3, running: 2, failedLastDay: 14 });
    expect(result.attention.failedTasks.count).toBe(14);
    expect(result.attention.failedTasks.items.map((task) => task.id)).toEqual(failedLately.slice(0, 10));
    // The task list's view of a task.
    expect(result.attention.failedTasks.items[0]).toMatchObject({
      state: 'failed',
      type: 'site.verify',
      targetName: 's00.example',
      progress: null,
      createdAt: expect.stringMatching(/Z$/) as string,
    });
    expect(result.attention.disconnectedServers).toEqual({
      count: 2,
      items: [
        { name: 'db1', lastSeenAt: null },
        { name: 'web2', lastSeenAt: expect.stringMatching(/Z$/) as string },
      ],
    });
    const expected = await unverified();
    // Enabled: n % 6 in {0, 1, 3}, three of each six; verified an hour ago: the third six.
    expect(expected).toHaveLength(12);
    expect(result.attention.unverifiedSites.count).toBe(12);
    expect(result.attention.unverifiedSites.items.map((site) => site.domain)).toEqual(
      expected.slice(0, 10).map((site) => site.domain),
    );
    expect(result.attention.unverifiedSites.items[0]).toEqual({ domain: 's00.example', verifiedAt: null });
  });

  it('shows more than ten only as a count', async () => {
    const sites = new SitesRepository(db);
    for (let n = 0; n < 12; n++) {
      const site = await sites.create({
        domain: `late${n}.example`,
        platformId: ids.p1!,
        clientId: null,
        dbServerId: ids.db1!,
        dbHost: '127.0.0.1',
        dbPort: 3306,
        dbName: `late${n}`,
        dbUser: `late${n}`,
        dbPasswordEncrypted: 'x',
        hashSaltEncrypted: null,
        profile: 'standard',
        status: 'enabled',
      });
      await sqlRows(db, `UPDATE sites SET verified_at = NULL WHERE id = $1 RETURNING id`, [site.id]);
    }
    try {
      const result = await overview.get(ADMIN);
      expect(result.attention.unverifiedSites.count).toBe(24);
      expect(result.attention.unverifiedSites.items).toHaveLength(10);
      expect(result.attention.unverifiedSites.items.every((site) => site.verifiedAt === null)).toBe(true);
      expect(result.sites.total).toBe(42);
    } finally {
      await sqlRows(db, `DELETE FROM sites WHERE domain LIKE 'late%' RETURNING id`);
    }
  });

  it('shows a client its own sites and tasks, and nothing of the hosting side', async () => {
    const result = await overview.get(acme);
    // acme's: n % 3 === 0, so n % 6 is 0 (enabled) or 3 (enabled): ten sites, all enabled.
    expect(result.sites).toEqual({ total: 10, byStatus: { enabled: 10 } });
    expect(result.platforms).toBeNull();
    expect(result.servers).toBeNull();
    expect(result.clients).toBeNull();
    expect(result.tasks).toEqual({ queued: 1, running: 2, failedLastDay: 7 });
    expect(result.attention.failedTasks).toMatchObject({ count: 7 });
    expect(result.attention.failedTasks.items.map((task) => task.id)).toEqual(acmeFailedLately);
    expect(result.attention.disconnectedServers).toEqual({ count: 0, items: [] });
    const expected = await unverified(ids.acme);
    expect(expected).toHaveLength(8);
    expect(result.attention.unverifiedSites.count).toBe(8);
    expect(result.attention.unverifiedSites.items.map((site) => site.domain)).toEqual(
      expected.map((site) => site.domain),
    );
    // A client token without a client sees nothing.
    expect(await overview.get({ ...acme, clientId: null })).toMatchObject({
      sites: { total: 0, byStatus: {} },
      tasks: { queued: 0, running: 0, failedLastDay: 0 },
      servers: null,
    });
  });
});
