import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Project } from '../../../shared/src/api.js';
import { expectWalked, refusalOf, walkPages } from '../../../test/support/pages.js';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import type { Principal } from '../auth/auth.service.js';
import { ClientsRepository } from '../clients/clients.repository.js';
import { openDatabase } from '../infra/db/data-source.js';
import { PlatformsRepository } from '../platforms/platforms.repository.js';
import { ServersRepository } from '../servers/servers.repository.js';
import { SitesRepository } from '../sites/sites.repository.js';
import { TaskQueue } from '../tasks/task-queue.js';
import { TasksRepository } from '../tasks/tasks.repository.js';
import { ProjectsController } from './projects.controller.js';
import { ProjectsErrorCode } from './projects.errors.js';
import { ProjectsRepository } from './projects.repository.js';
import { ProjectsService, type ProjectListInput } from './projects.service.js';

/**
 * The project list by pages, a piece of the name and a client, through ProjectsService (and its
 * controller for the answer without parameters), on both registries: each project with its
 * environments, read in a fixed number of queries per page.
 */
describe.each(TEST_DATABASE_KINDS)('project list pages on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let service: ProjectsService;
  let controller: ProjectsController;
  let projects: ProjectsRepository;
  let sites: SitesRepository;
  let tasks: TasksRepository;
  const ids: Record<string, string> = {};
  const admin: Principal = { tokenId: 'admin-token', name: 'admin', role: 'admin', clientId: null };
  let acme: Principal;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    projects = new ProjectsRepository(db);
    sites = new SitesRepository(db);
    tasks = new TasksRepository(db);
    const clients = new ClientsRepository(db);
    const platforms = new PlatformsRepository(db);
    ids.web1 = (await new ServersRepository(db).create({ name: 'web1', slots: 1 })).id;
    for (const name of ['p1', 'p2'])
      ids[name] = (
        await platforms.create({
          name,
          serverId: ids.web1,
          path: `/var/berth/platforms/${name}`,
          docroot: 'web',
        })
      ).id;
    for (const name of ['acme', 'shop']) ids[name] = (await clients.create({ name, email: null })).id;
    acme = { tokenId: 'acme-token', name: 'client:acme', role: 'client', clientId: ids.acme! };
    const unused = () => {
      throw new Error('not used by the project list');
    };
    service = new ProjectsService(
      projects,
      { get: unused, deploy: unused, deployHooksOf: unused },
      sites,
      platforms,
      clients,
      new TaskQueue(tasks, () => undefined),
      { reserve: unused },
    );
    controller = new ProjectsController(service);
    // 24 projects: every third acme's, every third shop's, the rest an admin's; each with up to
    // three environments (dev, test, live) on sites of its owner.
    for (let n = 0; n < 24; n++)
      await addProject(`p${String(n).padStart(2, '0')}_${n % 2 ? 'blog' : 'shop'}`, n);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  function ownerOf(n: number): 'acme' | 'shop' | undefined {
    return n % 3 === 0 ? 'acme' : n % 3 === 1 ? 'shop' : undefined;
  }

  async function addProject(name: string, n: number): Promise<string> {
    const owner = ownerOf(n);
    const project = await service.add(admin, owner ? { name, client: owner } : { name });
    for (const env of ['dev', 'test', 'live'].slice(0, n % 4)) {
      const site = await sites.create({
        domain: `${env}.${name.replaceAll('_', '-')}.example`,
        platformId: n % 2 === 0 ? ids.p1! : ids.p2!,
        clientId: owner ? ids[owner]! : null,
        dbServerId: ids.web1!,
        dbHost: '127.0.0.1',
        dbPort: 3306,
        dbName: `site_${env}_${name}`,
        dbUser: `u${n}${env}`,
        dbPasswordEncrypted: 'x',
        hashSaltEncrypted: null,
        profile: 'standard',
        status: n % 5 === 0 ? 'disabled' : 'enabled',
      });
      await projects.addEnvironment({ projectId: project.id, name: env, siteId: site.id });
    }
    return project.id;
  }

  /** A sync of live into test (a task in the registry): the environment's last sync. */
  async function syncInto(project: string, env: string): Promise<string> {
    const target = (await sites.findByDomainOrId(`${env}.${project.replaceAll('_', '-')}.example`))!;
    const task = await tasks.insertTask({
      type: 'site.sync',
      targetId: target.id,
      targetName: target.domain,
      lockKey: null,
      params: {
        source: { siteId: target.id, domain: `live.${project.replaceAll('_', '-')}.example` },
        db: true,
        files: true,
        sanitize: 'sql:sanitize',
        targetArchiveId: 'a1',
        sourceArchiveId: 'a2',
      },
    });
    return task.id;
  }

  const walk = (
    principal: Principal,
    input: ProjectListInput,
    between?: (page: number, last: Project) => Promise<void>,
  ) => walkPages((cursor) => service.page(principal, { ...input, ...(cursor ? { cursor } : {}) }), between);
  const request = (principal: Principal) => ({ principal }) as AuthenticatedRequest;
  const names = (list: readonly Project[]) => list.map((project) => project.name);

  it('pages through every project once, in name order, while projects are added between pages', async () => {
    const before = await service.list(admin);
    const added: Record<'behind' | 'ahead', string[]> = { behind: [], ahead: [] };
    const seen = await walk(admin, { limit: '5' }, async (page) => {
      // One before the cursor (never shown by this walk), one after it (shown on a later page).
      added.behind.push(await addProject(`a${page}`, 100 + page));
      added.ahead.push(await addProject(`z${page}`, 200 + page));
    });
    const after = await service.list(admin);
    expectWalked(
      seen.map((project) => project.id),
      after.map((project) => project.id),
      [...before.map((project) => project.id), ...added.ahead],
      added.behind,
    );
    expect(names(after)).toEqual(names(after).sort());
    expect(added.ahead.length).toBeGreaterThan(2);
  });

  it('answers every project (next: null) without a parameter, and a page with one', async () => {
    const whole = await controller.list(request(admin), {});
    expect(whole.next).toBeNull();
    expect(whole.items).toEqual(await service.list(admin));
    expect(await controller.list(request(admin), { q: '' })).toEqual(whole);
    const page = await controller.list(request(admin), { limit: '3' });
    expect(page.items).toEqual(whole.items.slice(0, 3));
    expect(page.next).toEqual(expect.any(String));
    expect(await walk(admin, { limit: '7' })).toEqual(whole.items);
  });

  it('gives each project its environments in order: site, platform, state, code and the last sync', async () => {
    const first = await syncInto('p03_blog', 'test');
    const latest = await syncInto('p03_blog', 'test');
    expect(first).not.toBe(latest);
    const [blog] = (await service.page(admin, { q: 'p03_' })).items;
    expect(blog).toMatchObject({
      name: 'p03_blog',
      client: 'acme',
      sanitize: 'sql:sanitize',
      environments: [
        {
          name: 'dev',
          position: 1,
          site: 'dev.p03-blog.example',
          platform: 'p2',
          status: 'enabled',
          lastSync: null,
        },
        {
          name: 'test',
          position: 2,
          site: 'test.p03-blog.example',
          platform: 'p2',
          code: null,
          lastSync: { taskId: latest, from: 'live.p03-blog.example', state: 'queued' },
        },
        { name: 'live', position: 3, site: 'live.p03-blog.example', lastSync: null },
      ],
    });
    // A page shows a project as its own page does.
    for (const project of (await service.page(admin, { limit: '24' })).items)
      expect(project).toEqual(await service.show(admin, project.name));
    const [bare] = (await service.page(admin, { q: 'p04_' })).items;
    expect(bare).toMatchObject({ name: 'p04_shop', client: 'shop', environments: [] });
  });

  it('reads a page in the same few queries whatever its number of projects and environments', async () => {
    const statements = vi.spyOn(db.logger, 'logQuery');
    try {
      const count = async (input: ProjectListInput) => {
        statements.mockClear();
        const page = await service.page(admin, input);
        return {
          projects: page.items.length,
          environments: page.items.flatMap((project) => project.environments).length,
          queries: statements.mock.calls.length,
        };
      };
      const one = await count({ q: 'p03_blog' });
      const many = await count({ limit: '40' });
      expect(one).toMatchObject({ projects: 1, environments: 3 });
      expect(many.projects).toBeGreaterThanOrEqual(24);
      expect(many.environments).toBeGreaterThan(30);
      expect(many.queries).toBe(one.queries);
      // The projects; their environments; owners; sites; the sites' platforms and last syncs.
      expect(many.queries).toBe(6);
    } finally {
      statements.mockRestore();
    }
  });

  it('filters by a piece of the name (taken literally) and by a client, by name or id', async () => {
    const all = await service.list(admin);
    const blogs = names(all).filter((name) => name.includes('blog'));
    expect(blogs.length).toBeGreaterThan(5);
    expect(names(await walk(admin, { q: 'BLOG', limit: '3' }))).toEqual(blogs);
    expect(names(await walk(admin, { q: '1_', limit: '2' }))).toEqual(
      names(all).filter((name) => name.includes('1_')),
    );
    expect((await service.page(admin, { q: 'p_0' })).items).toEqual([]);

    const acmes = all.filter((project) => project.client === 'acme');
    expect(acmes.length).toBeGreaterThan(3);
    expect(await walk(admin, { client: 'acme', limit: '2' })).toEqual(acmes);
    expect(await walk(admin, { client: ids.acme!, limit: '100' })).toEqual(acmes);
    expect(names(await walk(admin, { client: 'shop', q: 'blog' }))).toEqual(
      names(all.filter((project) => project.client === 'shop' && project.name.includes('blog'))),
    );
  });

  it("shows a client's token only its own projects, whatever client it names", async () => {
    const own = (await service.list(admin)).filter((project) => project.client === 'acme');
    expect(await service.list(acme)).toEqual(own);
    expect((await controller.list(request(acme), {})).items).toEqual(own);
    expect(await walk(acme, { limit: '2' })).toEqual(own);
    expect(await walk(acme, { client: 'shop' })).toEqual(own);
    expect(names(await walk(acme, { q: 'blog' }))).toEqual(
      names(own).filter((name) => name.includes('blog')),
    );
  });

  it('refuses bad input with a 400 that names the parameter', async () => {
    const refusal = (input: ProjectListInput) => refusalOf(service.page(admin, input));
    const invalid = (message: RegExp) => ({
      code: ProjectsErrorCode.InvalidInput,
      status: 400,
      message: expect.stringMatching(message) as string,
    });
    for (const limit of ['0', '501', 'ten', '1.5'])
      expect(await refusal({ limit })).toEqual(invalid(/^limit must be a whole number from 1 to 500/));
    const clientsCursor = Buffer.from(JSON.stringify(['clients', 'p00_shop'])).toString('base64url');
    expect(await refusal({ cursor: clientsCursor })).toEqual(invalid(/^cursor /));
    expect(await refusal({ cursor: 'not a cursor' })).toEqual(invalid(/^cursor /));
    expect(await refusal({ q: 'x'.repeat(64) })).toEqual(invalid(/^q is at most 63/));
    expect(await refusal({ client: 'nobody' })).toEqual(invalid(/^client "nobody" is no client/));
    expect(await refusalOf(controller.list(request(admin), { limit: '0' }))).toEqual(invalid(/^limit /));
  });
});
