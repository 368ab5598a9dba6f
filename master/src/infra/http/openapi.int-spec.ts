import type { OpenAPIObject, ResponseObject } from '@nestjs/swagger';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../../shared/src/package-root.js';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { loadMasterConfig } from '../config/master-config.js';
import { assembleMaster, type RunningMaster } from '../../master.js';
import { ROUTE_ANSWERS } from './openapi-answers.js';
import { componentName, operationsOf } from './openapi-document.js';
import { answerSchemasFile, loadAnswerSchemas } from './openapi.js';

/**
 * The OpenAPI document of a real master (embedded database, no agent): every route's success answer
 * is described, and the answers the master really gives match their schemas.
 */

/** The id ajv knows the document's components by: the refs within them resolve against it. */
const SCHEMA_BASE = 'https://berth.invalid/openapi.json';

/** What the master logged at warn and above. */
interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A logger that keeps what it is told at warn and above. */
function capture(lines: LogLine[]): Logger {
  return pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
}

describe('the OpenAPI document of a running master', () => {
  let database: TestDatabase;
  let master: RunningMaster;
  let document: OpenAPIObject;
  let adminToken: string;
  const warnings: LogLine[] = [];
  const ajv = new Ajv2020({ strict: false, allErrors: true });

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    const config = loadMasterConfig(
      { dataDir: database.dataDir, host: '127.0.0.1', port: 0, grpcHost: '127.0.0.1', grpcPort: 0 },
      { BERTH_MASTER_ID: 'openapi-test', BERTH_STORE_GC_SCHEDULE: 'off', BERTH_SITE_CRON: 'off' },
    );
    master = await assembleMaster(config, capture(warnings));
    adminToken = master.adminToken!;
    const answer = await fetch(`${master.httpUrl}/api/docs/openapi.json`);
    expect(answer.status).toBe(200);
    document = (await answer.json()) as OpenAPIObject;
    ajv.addSchema({ $id: SCHEMA_BASE, components: document.components });
  });

  afterAll(async () => {
    await master?.stop();
    await database?.drop();
  });

  describe('describes every success answer', () => {
    it('from schemas generated from shared/src/api.ts as it is now', () => {
      const file = answerSchemasFile();
      const schemas = loadAnswerSchemas(file, pino({ level: 'silent' }));
      expect(schemas, `no ${file}: run npm run gen:api-schemas (npm run build runs it)`).toBeDefined();
      const source = readFileSync(join(packageRoot(), schemas!.source));
      expect(
        schemas!.sourceSha256,
        `${file} was generated from another ${schemas!.source}: run npm run gen:api-schemas`,
      ).toBe(createHash('sha256').update(source).digest('hex'));
    });

    it('without a warning from the master that built it', () => {
      expect(warnings.filter((line) => /OpenAPI/.test(line.msg))).toEqual([]);
      expect(document.openapi).toBe('3.1.0');
    });

    it('for every route: one success status, with a shape of shared/src/api.ts, another content type, or no body', () => {
      const schemas = document.components?.schemas ?? {};
      const undescribed: string[] = [];
      for (const { key, operation } of operationsOf(document)) {
        const successes = Object.entries(operation.responses).filter(([code]) => /^2\d\d$/.test(code));
        if (successes.length !== 1) {
          undescribed.push(`${key}: ${successes.length} success statuses`);
          continue;
        }
        const [status, response] = successes[0] as [string, ResponseObject];
        const content = Object.entries(response.content ?? {});
        if (status === '204') {
          if (content.length > 0) undescribed.push(`${key}: a 204 with a body`);
          continue;
        }
        if (content.length === 0) {
          undescribed.push(`${key}: ${status} without content`);
          continue;
        }
        for (const [mediaType, media] of content) {
          if (mediaType !== 'application/json') continue;
          const ref = (media.schema as { $ref?: string } | undefined)?.$ref ?? '';
          const name = ref.replace('#/components/schemas/', '');
          if (!ref.startsWith('#/components/schemas/') || !(name in schemas)) {
            undescribed.push(`${key}: ${status} application/json without a schema of shared/src/api.ts`);
          }
        }
      }
      expect(undescribed).toEqual([]);
    });

    it('from a table whose rows are all routes, each naming a generated type', () => {
      const served = new Set(operationsOf(document).map(({ key }) => key));
      const definitions =
        loadAnswerSchemas(answerSchemasFile(), pino({ level: 'silent' }))?.definitions ?? {};
      const rows = Object.entries(ROUTE_ANSWERS);
      expect(rows.filter(([key]) => !served.has(key)).map(([key]) => key)).toEqual([]);
      expect(
        rows
          .filter(([, answer]) => typeof answer === 'string' && !(answer in definitions))
          .map(([key]) => key),
      ).toEqual([]);
      for (const name of Object.keys(definitions)) {
        expect(document.components?.schemas).toHaveProperty([componentName(name)]);
      }
    });
  });

  it('serves Swagger UI at /api/docs', async () => {
    const page = await fetch(`${master.httpUrl}/api/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/swagger-ui/i);
  });

  it('says that it describes no success answer when the generated schemas are missing', () => {
    const lines: LogLine[] = [];
    expect(
      loadAnswerSchemas(join(database.dataDir, 'no-such-api-schemas.json'), capture(lines)),
    ).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toMatch(/npm run gen:api-schemas/);
  });

  describe('matches the answers of the master', () => {
    /** What earlier calls made, for the later ones' paths. */
    const made: { clientToken?: string; clientTokenId?: string; taskId?: string; targetId?: string } = {};

    interface Call {
      /** The route's row in the table: 'METHOD /path'. */
      route: string;
      /** The path asked for (the route's own when it has no parameters). */
      path?: () => string;
      body?: unknown;
      /** The admin's unless given; null: none. */
      token?: () => string | null;
      /** What the answer gives the calls after it. */
      keep?: (body: unknown) => void;
      label?: string;
    }

    const calls: Call[] = [
      { route: 'GET /api/health', token: () => null },
      { route: 'GET /api/auth/me' },
      { route: 'GET /api/masters' },
      { route: 'POST /api/clients', body: { name: 'acme', email: 'ops@acme.example' } },
      {
        route: 'POST /api/clients/{client}/tokens',
        path: () => '/api/clients/acme/tokens',
        keep: (body) => (made.clientToken = (body as { token: string }).token),
      },
      {
        route: 'GET /api/auth/me',
        token: () => made.clientToken!,
        label: 'GET /api/auth/me (a client token)',
      },
      { route: 'GET /api/clients' },
      { route: 'POST /api/servers', body: { name: 'web1', slots: 2 } },
      {
        route: 'POST /api/servers/{server}/enrollment-tokens',
        path: () => '/api/servers/web1/enrollment-tokens',
      },
      { route: 'GET /api/servers' },
      { route: 'GET /api/servers/{server}', path: () => '/api/servers/web1' },
      {
        route: 'POST /api/servers/{server}/verify',
        path: () => '/api/servers/web1/verify',
        keep: (body) => (made.taskId = (body as { id: string }).id),
      },
      { route: 'GET /api/tasks' },
      { route: 'GET /api/tasks/{id}', path: () => `/api/tasks/${made.taskId}` },
      { route: 'GET /api/tasks/{id}/log', path: () => `/api/tasks/${made.taskId}/log` },
      { route: 'POST /api/tasks/{id}/cancel', path: () => `/api/tasks/${made.taskId}/cancel` },
      // The task is cancelled: its event stream replays it and ends.
      { route: 'GET /api/tasks/{id}/events', path: () => `/api/tasks/${made.taskId}/events` },
      {
        route: 'POST /api/tasks/{id}/retry',
        path: () => `/api/tasks/${made.taskId}/retry`,
        keep: (body) => (made.taskId = (body as { id: string }).id),
      },
      { route: 'POST /api/tasks/{id}/cancel', path: () => `/api/tasks/${made.taskId}/cancel` },
      { route: 'POST /api/platforms', body: { name: 'd10', server: 'web1' } },
      { route: 'GET /api/platforms' },
      { route: 'GET /api/sites' },
      { route: 'GET /api/clusters' },
      { route: 'GET /api/store' },
      { route: 'GET /api/store/offsite' },
      { route: 'GET /api/overview' },
      {
        route: 'GET /api/overview',
        token: () => made.clientToken!,
        label: 'GET /api/overview (a client token)',
      },
      {
        route: 'GET /api/tokens',
        keep: (body) =>
          (made.clientTokenId = (body as { items: Array<{ id: string; name: string }> }).items.find(
            (token) => token.name === 'client:acme',
          )?.id),
      },
      { route: 'POST /api/tokens/{id}/revoke', path: () => `/api/tokens/${made.clientTokenId}/revoke` },
      {
        route: 'PUT /api/backup-policies/global',
        body: { schedule: '0 2 * * *', window: '01:00-05:00', keepLast: 7, keepDaily: 7 },
      },
      {
        route: 'PUT /api/backup-policies/clients/{client}',
        path: () => '/api/backup-policies/clients/acme',
        body: { schedule: null, keepLast: 3 },
      },
      { route: 'GET /api/backup-policies' },
      { route: 'GET /api/backup-policies/global' },
      { route: 'GET /api/backup-policies/clients/{client}', path: () => '/api/backup-policies/clients/acme' },
      {
        route: 'DELETE /api/backup-policies/clients/{client}',
        path: () => '/api/backup-policies/clients/acme',
      },
      {
        route: 'POST /api/notifications/targets',
        body: { kind: 'webhook', url: 'https://hooks.example/berth', events: ['task.failed'] },
        keep: (body) => (made.targetId = (body as { id: string }).id),
      },
      { route: 'GET /api/notifications/targets' },
      { route: 'GET /api/notifications/deliveries' },
      {
        route: 'DELETE /api/notifications/targets/{id}',
        path: () => `/api/notifications/targets/${made.targetId}`,
      },
      { route: 'POST /api/projects', body: { name: 'shop', client: 'acme' } },
      { route: 'GET /api/projects' },
      {
        route: 'GET /api/projects',
        path: () => '/api/projects?limit=1&q=sh&client=acme',
        label: 'GET /api/projects (a page)',
      },
      { route: 'GET /api/projects/{project}', path: () => '/api/projects/shop' },
      {
        route: 'PUT /api/projects/{project}/sanitize',
        path: () => '/api/projects/shop/sanitize',
        body: { sanitize: 'sql:sanitize' },
      },
      { route: 'POST /api/projects/{project}/delete', path: () => '/api/projects/shop/delete' },
      { route: 'DELETE /api/backup-policies/global' },
      { route: 'POST /api/store/gc' },
      { route: 'GET /api/audit' },
      { route: 'GET /metrics' },
    ];

    for (const call of calls) {
      it(call.label ?? call.route, async () => {
        const [method, template] = call.route.split(' ') as [string, string];
        const operation = document.paths[template]?.[method.toLowerCase() as 'get'];
        expect(operation, `${call.route} is not in the document`).toBeDefined();
        const [status, response] = Object.entries(operation!.responses).find(([code]) =>
          /^2\d\d$/.test(code),
        ) as [string, ResponseObject];
        const token = call.token ? call.token() : adminToken;
        const answer = await fetch(`${master.httpUrl}${call.path ? call.path() : template}`, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        });
        const text = await answer.text();
        expect(answer.status, text).toBe(Number(status));
        if (status === '204') {
          expect(text).toBe('');
          return;
        }
        const [mediaType, media] = Object.entries(response.content ?? {})[0]!;
        const essence = (type: string | null) => type?.split(';')[0]?.trim().toLowerCase();
        expect(essence(answer.headers.get('content-type'))).toBe(essence(mediaType));
        if (mediaType !== 'application/json') return;
        const ref = (media.schema as { $ref: string }).$ref;
        const validate = ajv.getSchema(SCHEMA_BASE + ref);
        expect(validate, `no schema at ${ref}`).toBeDefined();
        const body: unknown = JSON.parse(text);
        const valid = validate!(body);
        expect(valid ? [] : validate!.errors, `${call.route} answered ${text}`).toEqual([]);
        call.keep?.(body);
      });
    }
  });
});
