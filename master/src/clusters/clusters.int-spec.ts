import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { openDatabase } from '../infra/db/data-source.js';
import { sqlRows } from '../infra/db/sql.js';
import { ServersError } from '../servers/servers.errors.js';
import { ServersRepository } from '../servers/servers.repository.js';
import { TaskQueue } from '../tasks/task-queue.js';
import { TasksRepository } from '../tasks/tasks.repository.js';
import { ClustersErrorCode } from './clusters.errors.js';
import { ClustersRepository } from './clusters.repository.js';
import { ClustersService } from './clusters.service.js';

const ADMIN = { tokenId: 'test', name: 'admin', role: 'admin' as const, clientId: null };

/** The cluster registry on both registries: heads, refusals, and nothing written when refused. */
describe.each(TEST_DATABASE_KINDS)('clusters on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let clusters: ClustersService;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    const servers = new ServersRepository(db);
    for (const [name, roles] of [
      ['web1', ['http']],
      ['web2', ['http']],
      ['web3', ['http', 'db']],
      ['db1', ['db']],
    ] as const) {
      const server = await servers.create({ name, slots: 1 });
      await sqlRows(db, `UPDATE servers SET roles = $1::jsonb, address = $2 WHERE id = $3 RETURNING id`, [
        JSON.stringify(roles),
        `10.0.0.${name.slice(-1)}`,
        server.id,
      ]);
    }
    clusters = new ClustersService(
      new ClustersRepository(db),
      {
        get: async (name) => {
          const server = await servers.findByNameOrId(name);
          if (!server) throw ServersError.notFound(name);
          return server;
        },
        list: async () =>
          (await servers.list()).map((server) => ({ id: server.id, connected: server.name === 'web1' })),
      },
      new TaskQueue(new TasksRepository(db), () => undefined),
    );
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
    );
  const clusterOf = async (name: string) =>
    (
      await sqlRows<{ cluster: string | null }>(
        db,
        `SELECT c.name AS cluster FROM servers s LEFT JOIN clusters c ON c.id = s.cluster_id WHERE s.name = $1`,
        [name],
      )
    )[0]!.cluster;

  it('adds a cluster with its heads, and shows which agents are connected', async () => {
    const { cluster: front, task } = await clusters.add(ADMIN, { name: 'front', servers: ['web1', 'web2'] });
    // Its verify is queued: do the heads share one site directory?
    expect(task).toMatchObject({ type: 'cluster.verify', state: 'queued', targetName: 'front' });
    expect(front).toMatchObject({
      name: 'front',
      heads: [
        { name: 'web1', address: '10.0.0.1', connected: true, roles: ['http'] },
        { name: 'web2', address: '10.0.0.2', connected: false, roles: ['http'] },
      ],
      platforms: [],
      sites: 0,
      sitesSharedAt: null,
    });
    expect((await clusters.list()).map((cluster) => cluster.name)).toEqual(['front']);
    expect(await clusters.show('front')).toEqual(front);
  });

  it('refuses bad input, a server without http, a head of another cluster, a taken name: writing nothing', async () => {
    expect(await refusal(clusters.add(ADMIN, { name: 'Bad Name', servers: ['web3'] }))).toMatchObject({
      code: ClustersErrorCode.InvalidInput,
    });
    expect(await refusal(clusters.add(ADMIN, { name: 'back', servers: [] }))).toMatchObject({
      code: ClustersErrorCode.InvalidInput,
      message: expect.stringContaining('servers is required') as string,
    });
    expect(await refusal(clusters.add(ADMIN, { name: 'back', servers: ['web3', 'web3'] }))).toMatchObject({
      message: 'servers names a server twice',
    });
    expect(await refusal(clusters.add(ADMIN, { name: 'back', servers: ['web3', 'db1'] }))).toMatchObject({
      code: ClustersErrorCode.InvalidInput,
      message: 'db1 offers no web server (db): a head serves sites',
    });
    expect(await refusal(clusters.add(ADMIN, { name: 'back', servers: ['web3', 'web1'] }))).toMatchObject({
      code: ClustersErrorCode.Refused,
      message: 'web1 is a head of another cluster already',
    });
    expect(await refusal(clusters.add(ADMIN, { name: 'front', servers: ['web3'] }))).toMatchObject({
      code: ClustersErrorCode.NameTaken,
    });
    expect(await refusal(clusters.add(ADMIN, { name: 'back', servers: ['nope'] }))).toMatchObject({
      message: expect.stringContaining('nope') as string,
    });
    expect(await clusterOf('web3')).toBeNull();
    expect((await clusters.list()).map((cluster) => cluster.name)).toEqual(['front']);
  });

  it('adds and removes heads; the last head of a cluster whose platforms have sites stays', async () => {
    expect((await clusters.addServer('front', 'web3')).heads.map((head) => head.name)).toEqual([
      'web1',
      'web2',
      'web3',
    ]);
    expect(await refusal(clusters.removeServer('front', 'db1'))).toMatchObject({
      code: ClustersErrorCode.InvalidInput,
      message: 'db1 is not a head of front',
    });
    await clusters.removeServer('front', 'web3');
    await clusters.removeServer('front', 'web2');
    expect(await clusterOf('web2')).toBeNull();

    // A platform on the cluster with a site on it: no new head (its code is not deployed to new
    // heads yet), and its last head cannot go.
    const [front] = await sqlRows<{ id: string }>(db, `SELECT id FROM clusters WHERE name = 'front'`);
    const [web1] = await sqlRows<{ id: string }>(db, `SELECT id FROM servers WHERE name = 'web1'`);
    const [platform] = await sqlRows<{ id: string }>(
      db,
      `INSERT INTO platforms (name, server_id, cluster_id, path) VALUES ('d102', $1, $2, '/var/berth/platforms/d102') RETURNING id`,
      [web1!.id, front!.id],
    );
    await sqlRows(
      db,
      `INSERT INTO sites (domain, platform_id, db_server_id, db_name, db_user, db_password_encrypted, status)
       VALUES ('a.example', $1, $2, 'a_example', 'a_example', 'not a secret', 'enabled') RETURNING id`,
      [platform!.id, web1!.id],
    );
    expect(await clusters.show('front')).toMatchObject({ platforms: ['d102'], sites: 1 });
    // A head that joins a cluster with platforms joins stale (cluster sync deploys them to it).
    const joined = await clusters.addServer('front', 'web2');
    expect(joined.heads.find((head) => head.name === 'web2')?.staleSince).toEqual(expect.any(String));
    expect(joined.heads.find((head) => head.name === 'web1')?.staleSince).toBeNull();
    // Leaving clears it: a server outside a cluster is not stale.
    await clusters.removeServer('front', 'web2');
    expect(await sqlRows(db, `SELECT stale_since FROM servers WHERE name = 'web2'`)).toEqual([
      { stale_since: null },
    ]);
    expect(await refusal(clusters.removeServer('front', 'web1'))).toMatchObject({
      code: ClustersErrorCode.Refused,
      message: expect.stringContaining('web1 is the last head of front') as string,
    });
    expect(await clusterOf('web1')).toBe('front');
  });
});
