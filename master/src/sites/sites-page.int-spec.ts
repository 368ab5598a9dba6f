import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { ClientsRepository } from '../clients/clients.repository.js';
import { openDatabase } from '../infra/db/data-source.js';
import { PlatformsRepository } from '../platforms/platforms.repository.js';
import { ServersRepository } from '../servers/servers.repository.js';
import { SitesRepository, type SitePageQuery } from './sites.repository.js';

/** The site list by pages and filters, on both databases the registry runs on. */
describe.each(TEST_DATABASE_KINDS)('site list pages on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let sites: SitesRepository;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    sites = new SitesRepository(db);
    const servers = new ServersRepository(db);
    const platforms = new PlatformsRepository(db);
    for (const name of ['web1', 'web2', 'db1']) ids[name] = (await servers.create({ name, slots: 1 })).id;
    for (const [name, server] of [
      ['p1', 'web1'],
      ['p2', 'web2'],
    ] as const) {
      ids[name] = (
        await platforms.create({
          name,
          serverId: ids[server]!,
          path: `/var/berth/platforms/${name}`,
          docroot: 'web',
        })
      ).id;
    }
    ids.acme = (await new ClientsRepository(db).create({ name: 'acme', email: null })).id;
    // 60 sites: on p1 or p2, their database on db1 or on their web server, every third acme's.
    for (let n = 0; n < 60; n++) await add(`s${String(n).padStart(2, '0')}.example`, n);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  async function add(domain: string, n: number) {
    await sites.create({
      domain,
      platformId: n % 2 === 0 ? ids.p1! : ids.p2!,
      clientId: n % 3 === 0 ? ids.acme! : null,
      dbServerId: n % 4 === 0 ? ids.db1! : n % 2 === 0 ? ids.web1! : ids.web2!,
      dbHost: '127.0.0.1',
      dbPort: 3306,
      dbName: `site_${domain.replaceAll('.', '_')}`,
      dbUser: `u${n}`,
      dbPasswordEncrypted: 'x',
      hashSaltEncrypted: null,
      profile: 'standard',
      status: n % 5 === 0 ? 'disabled' : 'enabled',
    });
  }

  /** Every page of a query, following `after` as the API's cursor does; calls `between` after each page. */
  async function walk(
    query: Omit<SitePageQuery, 'after'>,
    between: (page: number) => Promise<void> = async () => {},
  ) {
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 100; page++) {
      const { sites: rows, more } = await sites.page({ ...query, ...(after ? { after } : {}) });
      seen.push(...rows.map((row) => row.domain));
      if (!more) return seen;
      after = rows.at(-1)!.domain;
      await between(page);
    }
    throw new Error('no last page');
  }

  it('pages through every site once, in domain order, while sites are added and removed between pages', async () => {
    const before = (await sites.page({ limit: 1000 })).sites.map((site) => site.domain);
    let added = 0;
    const seen = await walk({ limit: 7 }, async (page) => {
      // A site before the cursor, one after it, and one removed ahead of it.
      await add(`a${page}.example`, 100 + page);
      await add(`zz${page}.example`, 200 + page);
      added += 2;
      if (page === 1) await db.query(`DELETE FROM sites WHERE domain = 's59.example'`);
    });
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort());
    // Every site there before the walk and still there is in it; of those added, the ones after the cursor.
    for (const domain of before.filter((domain) => domain !== 's59.example')) expect(seen).toContain(domain);
    expect(seen).not.toContain('s59.example');
    expect(seen.filter((domain) => domain.startsWith('zz'))).toHaveLength(added / 2);
    expect(seen.filter((domain) => domain.startsWith('a'))).toEqual([]);
  });

  it('filters by status, platform, server (web or database), client and a piece of the domain', async () => {
    const all = (await sites.page({ limit: 1000 })).sites;
    const expectFilter = async (
      query: Omit<SitePageQuery, 'limit' | 'after'>,
      keep: (site: (typeof all)[number]) => boolean,
    ) => {
      const expected = all.filter(keep).map((site) => site.domain);
      expect(expected.length).toBeGreaterThan(0);
      expect(await walk({ ...query, limit: 4 })).toEqual(expected);
    };
    await expectFilter({ status: 'disabled' }, (site) => site.status === 'disabled');
    await expectFilter({ platformId: ids.p2! }, (site) => site.platformId === ids.p2);
    await expectFilter(
      { serverId: ids.web1! },
      (site) => site.platformId === ids.p1 || site.dbServerId === ids.web1,
    );
    await expectFilter({ serverId: ids.db1! }, (site) => site.dbServerId === ids.db1);
    await expectFilter({ clientId: ids.acme! }, (site) => site.clientId === ids.acme);
    await expectFilter({ q: 'S1' }, (site) => site.domain.includes('s1'));
    await expectFilter(
      { q: '2', status: 'enabled', platformId: ids.p1! },
      (site) => site.domain.includes('2') && site.status === 'enabled' && site.platformId === ids.p1,
    );
    // % and _ are the user's text, not wildcards.
    expect((await sites.page({ q: '%', limit: 10 })).sites).toEqual([]);
    expect((await sites.page({ q: 's_0', limit: 10 })).sites).toEqual([]);
  });
});
