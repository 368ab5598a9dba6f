import type { OpenAPIObject, OperationObject } from '@nestjs/swagger';
import { describe, expect, it } from 'vitest';
import { NO_CONTENT, type RouteAnswer } from './openapi-answers.js';
import {
  componentName,
  componentsOf,
  describeAnswers,
  nullAsType,
  operationsOf,
  type AnswerPlan,
} from './openapi-document.js';

function documentWith(paths: Record<string, Record<string, Partial<OperationObject>>>): OpenAPIObject {
  return {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: Object.fromEntries(
      Object.entries(paths).map(([path, item]) => [
        path,
        Object.fromEntries(
          Object.entries(item).map(([method, operation]) => [method, { responses: {}, ...operation }]),
        ),
      ]),
    ),
  };
}

function plan(
  answers: Record<string, RouteAnswer>,
  statuses: Record<string, number>,
  definitions = ['Site', 'Task', 'Page<Site>'],
): AnswerPlan {
  return {
    answers,
    definitions: new Set(definitions),
    statusOf: (operationId) => (operationId === undefined ? undefined : statuses[operationId]),
  };
}

describe('componentName', () => {
  it("keeps a plain type's name and turns a generic's instance into a valid component key", () => {
    expect(componentName('Site')).toBe('Site');
    expect(componentName('Page<Site>')).toBe('Page_Site');
    expect(componentName('Pick<Site,"id"|"domain">')).toBe('Pick_Site_id_domain');
  });
});

describe('componentsOf', () => {
  it('points every ref at the components, the URI-encoded ones of generics too', () => {
    const components = componentsOf({
      SitePage: { $ref: '#/definitions/Page%3CSite%3E' },
      'Page<Site>': {
        type: 'object',
        properties: { items: { type: 'array', items: { $ref: '#/definitions/Site' } } },
      },
      Site: { type: 'object', properties: { domain: { type: 'string' } } },
    });
    expect(components).toEqual({
      SitePage: { $ref: '#/components/schemas/Page_Site' },
      Page_Site: {
        type: 'object',
        properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Site' } } },
      },
      Site: { type: 'object', properties: { domain: { type: 'string' } } },
    });
  });

  it('refuses two definitions that would share a component key', () => {
    expect(() => componentsOf({ 'Page<Site>': {}, Page_Site: {} })).toThrow(
      /both be the component Page_Site/,
    );
  });
});

describe('nullAsType', () => {
  it("says OpenAPI 3.0's nullable as a null type, at any depth", () => {
    expect(
      nullAsType({
        properties: {
          schedule: { type: 'string', nullable: true, example: '0 2 * * *' },
          hooks: { type: 'array', items: { type: 'string' }, nullable: true },
          either: { type: ['string', 'number'], nullable: true },
          ref: { $ref: '#/components/schemas/X', nullable: true },
          plain: { type: 'string', nullable: false },
        },
      }),
    ).toEqual({
      properties: {
        schedule: { type: ['string', 'null'], example: '0 2 * * *' },
        hooks: { type: ['array', 'null'], items: { type: 'string' } },
        either: { type: ['string', 'number', 'null'] },
        ref: { anyOf: [{ $ref: '#/components/schemas/X' }, { type: 'null' }] },
        plain: { type: 'string' },
      },
    });
  });
});

describe('describeAnswers', () => {
  it('gives each route its status and its shape, keeping what the controller wrote of that status', () => {
    const document = documentWith({
      '/api/sites': {
        get: { operationId: 'SitesController_list' },
        post: {
          operationId: 'SitesController_install',
          responses: { '409': { description: 'taken' }, '201': { description: '{ site, task }' } },
        },
      },
      '/api/sites/{domain}/verify': { post: { operationId: 'SitesController_verify' } },
      '/api/policies/global': { delete: { operationId: 'PoliciesController_remove' } },
      '/metrics': { get: { operationId: 'MetricsController_scrape' } },
      '/api/sites/{domain}/archive': { get: { operationId: 'SitesController_download' } },
    });
    const outcome = describeAnswers(
      document,
      plan(
        {
          'GET /api/sites': 'Page<Site>',
          'POST /api/sites': 'Site',
          'POST /api/sites/{domain}/verify': 'Task',
          'DELETE /api/policies/global': NO_CONTENT,
          'GET /metrics': { contentType: 'text/plain', body: 'text', description: 'the metrics' },
          'GET /api/sites/{domain}/archive': {
            contentType: 'application/octet-stream',
            body: 'bytes',
            description: 'the archive',
          },
          'GET /api/overview': 'Overview',
        },
        {
          SitesController_list: 200,
          SitesController_install: 201,
          SitesController_verify: 202,
          PoliciesController_remove: 204,
          MetricsController_scrape: 200,
          SitesController_download: 200,
        },
      ),
    );

    expect(outcome).toEqual({ problems: [], rowsWithoutRoute: ['GET /api/overview'] });
    const responses = Object.fromEntries(
      operationsOf(document).map(({ key, operation }) => [key, operation.responses]),
    );
    expect(responses['GET /api/sites']).toEqual({
      '200': {
        description: 'OK',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Page_Site' } } },
      },
    });
    expect(Object.keys(responses['POST /api/sites']!)).toEqual(['201', '409']);
    expect(responses['POST /api/sites']!['201']).toEqual({
      description: '{ site, task }',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Site' } } },
    });
    expect(responses['POST /api/sites/{domain}/verify']!['202']).toMatchObject({ description: 'Accepted' });
    expect(responses['DELETE /api/policies/global']).toEqual({ '204': { description: 'No Content' } });
    expect(responses['GET /metrics']).toEqual({
      '200': { description: 'the metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
    });
    expect(responses['GET /api/sites/{domain}/archive']).toEqual({
      '200': { description: 'the archive', content: { 'application/octet-stream': {} } },
    });
  });

  it('names what keeps a route from being described', () => {
    const document = documentWith({
      '/api/new': { get: { operationId: 'NewController_get' } },
      '/api/typo': { get: { operationId: 'TypoController_get' } },
      '/api/gone': { delete: { operationId: 'GoneController_remove' } },
      '/api/said': {
        post: { operationId: 'SaidController_add', responses: { '200': { description: 'ok' } } },
      },
      '/api/empty': { delete: { operationId: 'EmptyController_remove' } },
      '/api/lost': { get: { operationId: 'Custom' } },
    });
    const { problems } = describeAnswers(
      document,
      plan(
        {
          'GET /api/typo': 'Stie',
          'DELETE /api/gone': 'Site',
          'POST /api/said': 'Site',
          'DELETE /api/empty': NO_CONTENT,
          'GET /api/lost': 'Site',
        },
        {
          NewController_get: 200,
          TypoController_get: 200,
          GoneController_remove: 204,
          SaidController_add: 201,
          EmptyController_remove: 200,
        },
      ),
    );
    expect(problems).toEqual([
      'GET /api/new: no row in openapi-answers.ts',
      'GET /api/typo: Stie is not a type of shared/src/api.ts',
      'DELETE /api/gone: answers 204 (no body), yet its row names Site',
      'POST /api/said: answers 201, yet declares 200 (@ApiResponse)',
      'DELETE /api/empty: its row says no content, yet it answers 200',
      'GET /api/lost: no controller method for operation Custom',
    ]);
  });
});
