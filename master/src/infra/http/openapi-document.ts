import type { OpenAPIObject, OperationObject } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import type { RouteAnswer } from './openapi-answers.js';

/**
 * Plain functions over the OpenAPI document: the JSON Schemas generated from shared/src/api.ts become
 * its components, and each route gets its success answer. No Nest, no files: openapi.ts reads those.
 */

/** A JSON Schema as the generator writes it (draft-07, refs to `#/definitions/X`). */
export type JsonSchema = { [keyword: string]: unknown };

/** generated/api-schemas.json (ops/dev/gen-api-schemas.js). */
export interface AnswerSchemas {
  source: string;
  sourceSha256: string;
  definitions: Record<string, JsonSchema>;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

const COMPONENT_REF = '#/components/schemas/';

/**
 * A definition's name as an OpenAPI component key, which allows [A-Za-z0-9._-] only: the generator
 * names a generic's instance `Page<Task>`, which becomes `Page_Task`.
 */
export function componentName(definition: string): string {
  return definition.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/_+$/, '');
}

/** The `$ref` of a type of shared/src/api.ts in the document. */
export function componentRef(definition: string): string {
  return COMPONENT_REF + componentName(definition);
}

/**
 * The generated definitions as `components.schemas` entries: each `#/definitions/X` ref (URI-encoded
 * by the generator) rewritten to `#/components/schemas/X`. Under OpenAPI 3.1 a Schema Object is JSON
 * Schema, so nothing else changes: the same schemas validate the real answers in the tests.
 */
export function componentsOf(definitions: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const components: Record<string, JsonSchema> = {};
  const from = new Map<string, string>();
  for (const [definition, schema] of Object.entries(definitions)) {
    const name = componentName(definition);
    const clash = from.get(name);
    if (clash !== undefined) {
      throw new Error(`the definitions ${clash} and ${definition} would both be the component ${name}`);
    }
    from.set(name, definition);
    components[name] = rewriteRefs(schema) as JsonSchema;
  }
  return components;
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) =>
      key === '$ref' && typeof inner === 'string' && inner.startsWith('#/definitions/')
        ? [key, componentRef(decodeURIComponent(inner.slice('#/definitions/'.length)))]
        : [key, rewriteRefs(inner)],
    ),
  );
}

/**
 * OpenAPI 3.0's `nullable: true` (what Nest writes for request bodies) as OpenAPI 3.1 says it: null
 * among the schema's types. The document is 3.1 because the generated schemas are JSON Schema (null
 * is a type there, `const` a keyword), which 3.0 cannot carry unchanged.
 */
export function nullAsType<T>(value: T): T {
  if (Array.isArray(value)) return value.map(nullAsType) as T;
  if (value === null || typeof value !== 'object') return value;
  const { nullable, ...rest } = value as Record<string, unknown>;
  const converted = Object.fromEntries(Object.entries(rest).map(([key, inner]) => [key, nullAsType(inner)]));
  if (nullable !== true) return converted as T;
  const type = converted.type;
  if (typeof type === 'string') return { ...converted, type: [type, 'null'] } as T;
  if (Array.isArray(type)) {
    const types = type as unknown[];
    return { ...converted, type: types.includes('null') ? types : [...types, 'null'] } as T;
  }
  return { anyOf: [converted, { type: 'null' }] } as T;
}

export interface AnswerPlan {
  /** The table: route → answer. */
  answers: Readonly<Record<string, RouteAnswer>>;
  /** The component schemas the answers may name (their definition names). */
  definitions: ReadonlySet<string>;
  /** The status a route answers with when it succeeds, from its controller; undefined: unknown. */
  statusOf(operationId: string | undefined): number | undefined;
}

export interface AnswerOutcome {
  /** What keeps a route's success answer from being described (the tests fail on any). */
  problems: string[];
  /** Rows of the table whose route the document does not have. */
  rowsWithoutRoute: string[];
}

/** The route's key in the table: `GET /api/sites/{domain}`. */
export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

/** Every operation of the document with its key (in the document's order). */
export function operationsOf(document: OpenAPIObject): Array<{ key: string; operation: OperationObject }> {
  const operations: Array<{ key: string; operation: OperationObject }> = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) operations.push({ key: routeKey(method, path), operation });
    }
  }
  return operations;
}

/**
 * Gives each route of the document its success response from the table (changing the document in
 * place): the status its controller answers with, and for JSON a `$ref` to the shape. A description
 * the controller wrote for that status is kept.
 */
export function describeAnswers(document: OpenAPIObject, plan: AnswerPlan): AnswerOutcome {
  const problems: string[] = [];
  const routes = new Set<string>();
  for (const { key, operation } of operationsOf(document)) {
    routes.add(key);
    const answer = plan.answers[key];
    if (answer === undefined) {
      problems.push(`${key}: no row in openapi-answers.ts`);
      continue;
    }
    const status = plan.statusOf(operation.operationId);
    if (status === undefined) {
      problems.push(`${key}: no controller method for operation ${operation.operationId ?? '(none)'}`);
      continue;
    }
    const responses = operation.responses;
    const declared = Object.keys(responses).filter((code) => /^2\d\d$/.test(code) && code !== String(status));
    if (declared.length > 0) {
      problems.push(`${key}: answers ${status}, yet declares ${declared.join(', ')} (@ApiResponse)`);
    }
    const existing = responses[status];
    const description =
      (existing && 'description' in existing && existing.description) || STATUS_CODES[status] || 'Success';
    if (typeof answer === 'string') {
      if (!plan.definitions.has(answer)) {
        problems.push(`${key}: ${answer} is not a type of shared/src/api.ts`);
        continue;
      }
      if (status === 204) {
        problems.push(`${key}: answers 204 (no body), yet its row names ${answer}`);
        continue;
      }
      responses[status] = {
        description,
        content: { 'application/json': { schema: { $ref: componentRef(answer) } } },
      };
    } else if ('noContent' in answer) {
      if (status !== 204) problems.push(`${key}: its row says no content, yet it answers ${status}`);
      responses[status] = { description };
    } else {
      responses[status] = {
        description: answer.description,
        content: { [answer.contentType]: answer.body === 'text' ? { schema: { type: 'string' } } : {} },
      };
    }
    operation.responses = sortedByStatus(responses);
  }
  const rowsWithoutRoute = Object.keys(plan.answers).filter((key) => !routes.has(key));
  return { problems, rowsWithoutRoute };
}

function sortedByStatus<T extends object>(responses: T): T {
  return Object.fromEntries(
    Object.entries(responses).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })),
  ) as T;
}
