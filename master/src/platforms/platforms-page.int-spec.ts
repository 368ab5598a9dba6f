import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusalOf, walkPages } from '../../../test/support/pages.js';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { ClustersRepository } from '../clusters/clusters.repository.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlRows } from '../infra/db/sql.js';
import { ServersRepository } from '../servers/servers.repository.js';
import { PlatformsErrorCode } from './platforms.errors.js';
import { PlatformsRepository } from './platforms.repository.js';
import { PlatformsService, type PlatformListInput } from './platforms.service.js';

/** The platform list by pages and filters, through PlatformsService, on both registries. */
describe.each(TEST_DATABASE_KINDS)('platform list pages on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let repository: PlatformsRepository;
  let platforms: PlatformsService;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    const servers = new ServersRepository(db);
    const clusters = new ClustersRepository(db);
    repository = new PlatformsRepository(db);
    for (const name of ['web1', 'web2', 'head1', 'head2'])
      ids[name] = (await servers.create({ name, slots: 1 })).id;
    ids.front = (await clusters.create('front', [ids.head1!, ids.head2!]))!.id;
    platforms = new PlatformsService(repository, {} as never, servers, {} as never, clusters, {} as never);
    // 30 platforms on web1 or web2, every third verified; five on the cluster (recorded on head1).
    for (let n = 0; n < 30; n++)
      await add(`d10-${String(n).padStart(2, '0')}`, n % 2 === 0 ? 'web1' : 'web2', n);
    for (let n = 0; n < 5; n++) await add(`front_${n}`, 'head1', n, ids.front);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  async function add(name: string, server: string, n: number, clusterId: string | null = null) {
    const platform = await repository.create({
      name,
      serverId: ids[server]!,
      clusterId,
      path: `/var/berth/platforms/${name}`,
      docroot: 'web',
    });
    if (n % 3 === 0) await repository.recordVerified(platform.id, '10.3.1');
    return platform;
  }

  const walk = (input: PlatformListInput, between?: (page: number) => Promise<void>) =>
    walkPages((cursor) => platforms.page({ ...input, ...(cursor ? { cursor } : {}) }), between);

  it('pages through every platform once, in name order, while platforms are added and removed between pages', async () => {
    const before = (await platforms.list()).map((platform) => platform.name);
    let added = 0;
    const seen = (
      await walk({ limit: '4' }, async (page) => {
        // One before the cursor (not seen), one after it (seen), and one removed ahead of it.
        await add(`a${page}`, 'web1', 1);
        await add(`zz${page}`, 'web2', 1);
        added += 1;
        if (page === 1) await sqlRows(db, `DELETE FROM platforms WHERE name = 'front_4' RETURNING id`);
      })
    ).map((platform) => platform.name);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual([
      ...before.filter((name) => name !== 'front_4'),
      ...seen.filter((name) => name.startsWith('zz')),
    ]);
    expect(seen.filter((name) => name.startsWith('zz'))).toHaveLength(added);
    expect(seen.filter((name) => /^a\d/.test(name))).toEqual([]);
  });

  it('shows server and cluster names, as the whole list does', async () => {
    const page = await platforms.page({ q: 'front_0' });
    const whole = (await platforms.list()).find((platform) => platform.name === 'front_0');
    expect(page).toEqual({ items: [whole], next: null });
    expect(page.items[0]).toMatchObject({ serverName: 'head1', cluster: 'front' });
  });

  it('filters by server (its own platforms and its cluster’s), status and a piece of the name', async () => {
    const all = await platforms.list();
    const expectFilter = async (
      input: PlatformListInput,
      keep: (platform: (typeof all)[number]) => boolean,
    ) => {
      const expected = all.filter(keep).map((platform) => platform.name);
      expect(expected.length).toBeGreaterThan(0);
      expect((await walk({ ...input, limit: '3' })).map((platform) => platform.name)).toEqual(expected);
    };
    await expectFilter({ server: 'web2' }, (platform) => platform.serverName === 'web2');
    await expectFilter({ server: ids.web1! }, (platform) => platform.serverName === 'web1');
    await expectFilter({ server: 'head2' }, (platform) => platform.cluster === 'front');
    await expectFilter({ status: 'verified' }, (platform) => platform.status === 'verified');
    await expectFilter(
      { status: 'new', server: 'web1' },
      (platform) => platform.status === 'new' && platform.serverName === 'web1',
    );
    await expectFilter({ q: 'D10-1' }, (platform) => platform.name.includes('d10-1'));
    await expectFilter({ q: 'front_' }, (platform) => platform.name.startsWith('front_'));
    // % and _ are the user's text, not wildcards: 'd10_' names none (the names have a hyphen there).
    expect((await platforms.page({ q: 'd10_' })).items).toEqual([]);
    expect((await platforms.page({ q: '%' })).items).toEqual([]);
  });

  it('refuses bad input with a 400 that names the parameter', async () => {
    const refusal = (input: PlatformListInput) => refusalOf(platforms.page(input));
    const invalid = (message: RegExp) => ({
      code: PlatformsErrorCode.InvalidInput,
      status: 400,
      message: expect.stringMatching(message) as string,
    });
    for (const limit of ['0', '501', 'ten']) expect(await refusal({ limit })).toEqual(invalid(/^limit /));
    const serversCursor = Buffer.from(JSON.stringify(['servers', 'web1'])).toString('base64url');
    for (const cursor of ['forged', serversCursor])
      expect(await refusal({ cursor })).toEqual(invalid(/^cursor /));
    expect(await refusal({ status: 'shiny' })).toEqual(invalid(/^status must be one of new, building/));
    expect(await refusal({ server: 'nowhere' })).toEqual(invalid(/^server: no server named "nowhere"/));
    expect(await refusal({ q: 'x'.repeat(64) })).toEqual(invalid(/^q is at most 63/));
  });
});
