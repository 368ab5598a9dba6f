import 'reflect-metadata';
import { Body, Controller, type DynamicModule, Get, HttpCode, Module, Param, Post } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { pino, type Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditEvent, Page } from '../../../shared/src/api.js';
import {
  createTestDatabase,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../../../test/support/test-database.js';
import { ApiTokensRepository } from '../auth/api-tokens.repository.js';
import { AdminOnly, AuthGuard } from '../auth/auth.guard.js';
import { AuthService } from '../auth/auth.service.js';
import { TokensController } from '../auth/tokens.controller.js';
import { ClientsError } from '../clients/clients.errors.js';
import { ClientsRepository } from '../clients/clients.repository.js';
import { openDatabase } from '../infra/db/data-source.js';
import { AppExceptionFilter } from '../infra/http/exception.filter.js';
import { AuditTrail, type AuditSink } from './audit-trail.js';
import { AuditController } from './audit.controller.js';
import { AuditRepository, type NewAuditEvent } from './audit.repository.js';
import { AuditService } from './audit.service.js';

const TASK_ID = '0b6f2a53-6a0c-4a55-9a0e-6f1c2d3e4f50';
const INSTALL_ID = '0b6f2a53-6a0c-4a55-9a0e-6f1c2d3e4f51';
const silent = pino({ level: 'silent' });

/** Routes shaped like the master's: a task, an install's { site, task }, a token, a refusal. */
@Controller('api/things')
class ThingsController {
  @Post(':name/run')
  @HttpCode(202)
  run() {
    return { id: TASK_ID, type: 'site.backup', state: 'queued' };
  }

  @Post()
  add(@Body() body: { domain: string }) {
    return { site: { domain: body.domain }, task: { id: INSTALL_ID, type: 'site.install' } };
  }

  @Post(':name/tokens')
  @AdminOnly()
  issue() {
    return { name: 'client:acme', token: 'bt_secret_in_the_answer' };
  }

  @Post(':name/missing')
  missing(@Param('name') name: string) {
    throw ClientsError.notFound(name);
  }

  @Get(':name')
  show(@Param('name') name: string) {
    return { name };
  }
}

@Module({})
class TestApi {
  static with(auth: AuthService, audit: AuditService): DynamicModule {
    return {
      module: TestApi,
      controllers: [ThingsController, AuditController, TokensController],
      providers: [
        { provide: AuthService, useValue: auth },
        { provide: AuditService, useValue: audit },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useValue: new AppExceptionFilter(silent) },
      ],
    };
  }
}

/** The audit log on both registries: the repository's queries, and the trail in front of a Nest API. */
describe.each(TEST_DATABASE_KINDS)('the audit log on %s', (kind) => {
  let database: TestDatabase;
  let db: DataSource;
  let repository: AuditRepository;
  let auth: AuthService;
  let adminToken: string;
  let clientToken: string;
  const apps: NestExpressApplication[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openDatabase({ url: database.url, dataDir: database.dataDir });
    repository = new AuditRepository(db);
    auth = new AuthService(new ApiTokensRepository(db));
    adminToken = await auth.issue('admin', 'admin', null);
    const acme = await new ClientsRepository(db).create({ name: 'acme', email: null });
    clientToken = await auth.issue('client:acme', 'client', acme.id);
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await db?.destroy();
    await database?.drop();
  });

  /** The API with the trail in front, as master.ts wires it. */
  async function serve(
    sink: AuditSink,
    logger: Logger = silent,
  ): Promise<{ url: string; trail: AuditTrail }> {
    const trail = new AuditTrail(sink, logger);
    const app = await NestFactory.create<NestExpressApplication>(
      TestApi.with(auth, new AuditService(repository)),
      { logger: false, bodyParser: true },
    );
    app.use(trail.middleware());
    app.useBodyParser('json', { limit: '1mb' });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    return { url: `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`, trail };
  }

  const event = (overrides: Partial<NewAuditEvent>): NewAuditEvent => ({
    at: new Date('2020-01-01T00:00:00Z'),
    tokenId: null,
    tokenName: 'admin',
    role: 'admin',
    clientId: null,
    method: 'POST',
    route: '/api/sites/:domain/backup',
    path: '/api/sites/a.example/backup',
    target: {},
    summary: null,
    address: '10.0.0.1',
    status: 202,
    errorCode: null,
    taskId: null,
    durationMs: 3,
    ...overrides,
  });

  it('lists events newest first, by time, target (route parameter, summary value or item, task) and limit', async () => {
    await repository.insert(
      event({ at: new Date('2020-01-01T10:00:00Z'), target: { domain: 'a.example' }, taskId: TASK_ID }),
    );
    await repository.insert(
      event({
        at: new Date('2020-01-02T10:00:00Z'),
        route: '/api/clusters',
        path: '/api/clusters',
        summary: { name: 'front', servers: ['web1', 'web2'] },
      }),
    );
    await repository.insert(
      event({ at: new Date('2020-01-02T10:00:00Z'), target: { domain: 'b.example' }, status: 404 }),
    );
    const { events: all, next } = await repository.list({ limit: 10 });
    expect(next).toBeNull();
    expect(all.map((row) => [row.at.toISOString(), row.target, row.summary])).toEqual([
      // The same time: the one written last first.
      ['2020-01-02T10:00:00.000Z', { domain: 'b.example' }, null],
      ['2020-01-02T10:00:00.000Z', {}, { name: 'front', servers: ['web1', 'web2'] }],
      ['2020-01-01T10:00:00.000Z', { domain: 'a.example' }, null],
    ]);
    expect(all[2]).toMatchObject({ taskId: TASK_ID, status: 202, durationMs: 3, address: '10.0.0.1' });
    expect(typeof all[0]!.id).toBe('string');
    const targets = async (target: string) =>
      (await repository.list({ target, limit: 10 })).events.map((row) => row.path);
    expect(await targets('a.example')).toEqual(['/api/sites/a.example/backup']);
    expect(await targets(TASK_ID)).toEqual(['/api/sites/a.example/backup']);
    expect(await targets('web2')).toEqual(['/api/clusters']);
    expect(await targets('front')).toEqual(['/api/clusters']);
    expect(await targets('web')).toEqual([]);
    expect(await targets('domain')).toEqual([]);
    expect(
      (await repository.list({ since: new Date('2020-01-02T00:00:00Z'), limit: 10 })).events,
    ).toHaveLength(2);
    expect(await repository.list({ limit: 1 })).toMatchObject({
      events: [{ target: { domain: 'b.example' } }],
      next: { at: '2020-01-02T10:00:00.000000Z', id: all[0]!.id },
    });
  });

  describe('the trail in front of the API', () => {
    let url: string;
    const since = new Date();

    beforeAll(async () => {
      ({ url } = await serve(repository));
    });

    const post = (path: string, options: { token?: string; body?: string } = {}) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: options.body,
      });

    /** The event of a path, once written (after the answer was sent). */
    async function eventOf(path: string): Promise<AuditEvent> {
      const service = new AuditService(repository);
      return vi.waitFor(async () => {
        const found = (await service.list({ since: since.toISOString() })).items.filter(
          (item) => item.path === path,
        );
        expect(found).toHaveLength(1);
        return found[0]!;
      });
    }

    it('records who, what, target, when, from where and the task a change created', async () => {
      const response = await post('/api/things/a.example/run?force=true&token=bt_in_query', {
        token: adminToken,
      });
      expect(response.status).toBe(202);
      const recorded = await eventOf('/api/things/a.example/run');
      expect(recorded).toMatchObject({
        tokenName: 'admin',
        role: 'admin',
        clientId: null,
        method: 'POST',
        route: '/api/things/:name/run',
        target: { name: 'a.example' },
        summary: { force: 'true' },
        address: '127.0.0.1',
        status: 202,
        errorCode: null,
        taskId: TASK_ID,
      });
      expect(recorded.tokenId).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.parse(recorded.at)).toBeGreaterThanOrEqual(since.getTime() - 1000);
    });

    it('keeps an allow-listed summary of the body, never the body or a secret answer', async () => {
      expect(
        (
          await post('/api/things', {
            token: adminToken,
            body: JSON.stringify({ domain: 'new.example', platform: 'd10', dbPassword: 'hunter2' }),
          })
        ).status,
      ).toBe(201);
      const install = await eventOf('/api/things');
      expect(install).toMatchObject({ target: {}, summary: { domain: 'new.example', platform: 'd10' } });
      expect(install.taskId).toBe(INSTALL_ID);
      expect(JSON.stringify(install)).not.toContain('hunter2');

      const issued = await post('/api/things/acme/tokens', { token: adminToken });
      expect(await issued.json()).toMatchObject({ token: 'bt_secret_in_the_answer' });
      const issue = await eventOf('/api/things/acme/tokens');
      expect(issue).toMatchObject({ status: 201, taskId: null });
      expect(JSON.stringify(await repository.list({ limit: 500 }))).not.toMatch(
        /bt_secret|bt_in_query|hunter2/,
      );
    });

    it('records refusals: no token, a bad token, not an admin, an error, no such route, bad JSON', async () => {
      expect((await post('/api/things/x1/run')).status).toBe(401);
      expect(await eventOf('/api/things/x1/run')).toMatchObject({
        tokenId: null,
        tokenName: null,
        role: null,
        route: '/api/things/:name/run',
        target: { name: 'x1' },
        status: 401,
        errorCode: 'AUTH_MISSING_TOKEN',
        address: '127.0.0.1',
      });
      expect((await post('/api/things/x2/run', { token: 'bt_wrong' })).status).toBe(401);
      expect(await eventOf('/api/things/x2/run')).toMatchObject({
        tokenName: null,
        errorCode: 'AUTH_INVALID_TOKEN',
      });
      expect((await post('/api/things/x3/tokens', { token: clientToken })).status).toBe(403);
      expect(await eventOf('/api/things/x3/tokens')).toMatchObject({
        tokenName: 'client:acme',
        role: 'client',
        status: 403,
        errorCode: 'AUTH_FORBIDDEN',
      });
      expect((await post('/api/things/x4/missing', { token: adminToken })).status).toBe(404);
      expect(await eventOf('/api/things/x4/missing')).toMatchObject({
        status: 404,
        errorCode: 'CLIENT_NOT_FOUND',
        target: { name: 'x4' },
      });
      expect((await post('/api/nothing/here', { token: adminToken })).status).toBe(404);
      expect(await eventOf('/api/nothing/here')).toMatchObject({ route: null, target: {}, status: 404 });
      expect((await post('/api/things', { token: adminToken, body: '{"domain":' })).status).toBe(400);
      // A body the JSON parser refuses never reaches a route: no pattern, and nothing of the body.
      await vi.waitFor(async () =>
        expect(
          (await new AuditService(repository).list({ since: since.toISOString() })).items.filter(
            (item) => item.path === '/api/things' && item.status === 400,
          ),
        ).toMatchObject([{ route: null, summary: null }]),
      );
    });

    it('does not record reads', async () => {
      expect(
        (
          await fetch(`${url}/api/things/read.example`, {
            headers: { authorization: `Bearer ${adminToken}` },
          })
        ).status,
      ).toBe(200);
      await post('/api/things/after-read/run', { token: adminToken });
      await eventOf('/api/things/after-read/run');
      expect((await repository.list({ target: 'read.example', limit: 10 })).events).toEqual([]);
    });

    it('GET /api/audit: admin only, filtered by target, time and limit, bad queries refused', async () => {
      const get = (query: string, token = adminToken) =>
        fetch(`${url}/api/audit${query}`, { headers: { authorization: `Bearer ${token}` } });
      expect((await get('', clientToken)).status).toBe(403);
      const byTarget = (await (await get('?target=a.example')).json()) as { items: AuditEvent[] };
      expect(byTarget.items.map((item) => item.path)).toEqual([
        '/api/things/a.example/run',
        '/api/sites/a.example/backup',
      ]);
      const recent = (await (await get(`?since=${since.toISOString()}&limit=2`)).json()) as Page<AuditEvent>;
      expect(recent.items).toHaveLength(2);
      expect(Date.parse(recent.items[0]!.at)).toBeGreaterThanOrEqual(Date.parse(recent.items[1]!.at));
      expect(recent.next).toEqual(expect.any(String));
      const older = (await (
        await get(`?since=${since.toISOString()}&limit=2&cursor=${recent.next}`)
      ).json()) as Page<AuditEvent>;
      expect(older.items).toHaveLength(2);
      expect(Number(older.items[0]!.id)).toBeLessThan(Number(recent.items[1]!.id));
      // Without a limit, a page of up to 100: here every event, the last page.
      expect(((await (await get('')).json()) as Page<AuditEvent>).next).toBeNull();
      expect(await (await get('?since=yesterday')).json()).toMatchObject({
        statusCode: 400,
        code: 'AUDIT_INVALID_QUERY',
      });
      for (const query of ['?limit=0', '?limit=501', '?limit=1000'])
        expect(await (await get(query)).json()).toMatchObject({
          statusCode: 400,
          code: 'AUDIT_INVALID_QUERY',
          message: expect.stringMatching(/^limit /) as string,
        });
      expect(await (await get('?cursor=forged')).json()).toMatchObject({
        statusCode: 400,
        message: expect.stringMatching(/^cursor /) as string,
      });
    });

    it('lists tokens without their hash, and refuses a revoked one at once', async () => {
      const list = async () =>
        (
          (await (
            await fetch(`${url}/api/tokens`, { headers: { authorization: `Bearer ${adminToken}` } })
          ).json()) as { items: Array<Record<string, unknown>> }
        ).items;
      const tokens = await list();
      expect(tokens.map((token) => [token.name, token.role, token.client, token.revokedAt])).toEqual(
        expect.arrayContaining([
          ['admin', 'admin', null, null],
          ['client:acme', 'client', 'acme', null],
        ]),
      );
      expect(Object.keys(tokens[0]!).sort()).toEqual(
        ['client', 'createdAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role'].sort(),
      );
      const clientId = tokens.find((token) => token.name === 'client:acme')!.id as string;
      const getTokens = async (query: string) =>
        (await fetch(`${url}/api/tokens${query}`, {
          headers: { authorization: `Bearer ${adminToken}` },
        }).then((answer) => answer.json())) as Record<string, unknown>;
      expect(await getTokens('?client=acme&limit=1')).toMatchObject({
        items: [{ id: clientId, client: 'acme' }],
        next: null,
      });
      expect(await getTokens('?limit=1')).toMatchObject({ next: expect.any(String) as string });
      expect(await getTokens('?limit=0')).toMatchObject({ statusCode: 400, code: 'AUTH_INVALID_QUERY' });
      // The client token works, then is revoked, then refused on its very next request.
      const me = () => post('/api/things/by-client/run', { token: clientToken });
      expect((await me()).status).toBe(202);
      const revoke = (id: string) => post(`/api/tokens/${id}/revoke`, { token: adminToken });
      const revoked = await revoke(clientId);
      expect(revoked.status).toBe(200);
      expect(await revoked.json()).toMatchObject({ id: clientId, revokedAt: expect.any(String) as string });
      expect((await me()).status).toBe(401);
      expect((await revoke(TASK_ID)).status).toBe(404);
      expect(await (await revoke('not-a-uuid')).json()).toMatchObject({ code: 'AUTH_TOKEN_NOT_FOUND' });
      expect(await eventOf(`/api/tokens/${clientId}/revoke`)).toMatchObject({
        route: '/api/tokens/:id/revoke',
        target: { id: clientId },
        status: 200,
      });
    });
  });

  it('answers before the event is written, and a failed write is logged, not a failed request', async () => {
    let release: () => void = () => undefined;
    const written: NewAuditEvent[] = [];
    const slow = await serve({
      insert: (row) => {
        written.push(row);
        return new Promise((resolve) => (release = resolve));
      },
    });
    const started = Date.now();
    expect(
      (
        await fetch(`${slow.url}/api/things/slow/run`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}` },
        })
      ).status,
    ).toBe(202);
    expect(Date.now() - started).toBeLessThan(2_000);
    await vi.waitFor(() => expect(written).toHaveLength(1));
    let flushed = false;
    const flushing = slow.trail.flush().then(() => (flushed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(flushed).toBe(false);
    release();
    await flushing;

    const errors: unknown[] = [];
    const logger = { error: (...args: unknown[]) => errors.push(args) } as unknown as Logger;
    const failing = await serve({ insert: () => Promise.reject(new Error('registry down')) }, logger);
    expect(
      (
        await fetch(`${failing.url}/api/things/down/run`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}` },
        })
      ).status,
    ).toBe(202);
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    await failing.trail.flush();
    expect(JSON.stringify(errors[0])).toContain('/api/things/down/run');
  });
});
