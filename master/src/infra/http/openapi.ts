import { HttpStatus, RequestMethod, type INestApplication } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { berthVersion, packageRoot } from '../../../../shared/src/package-root.js';
import { ROUTE_ANSWERS } from './openapi-answers.js';
import {
  componentsOf,
  describeAnswers,
  nullAsType,
  type AnswerOutcome,
  type AnswerSchemas,
} from './openapi-document.js';

/** Where `npm run build` (ops/dev/gen-api-schemas.js) writes the answers' JSON Schemas. */
export function answerSchemasFile(): string {
  return join(packageRoot(), 'generated', 'api-schemas.json');
}

/** The generated schemas; undefined (and a warning) when the file is not there or not readable. */
export function loadAnswerSchemas(file: string, logger: Logger): AnswerSchemas | undefined {
  try {
    const schemas = JSON.parse(readFileSync(file, 'utf8')) as Partial<AnswerSchemas>;
    if (typeof schemas.definitions !== 'object' || schemas.definitions === null) {
      throw new Error('it has no definitions');
    }
    return schemas as AnswerSchemas;
  } catch (error) {
    logger.warn(
      { file, err: error },
      'the OpenAPI document describes no success answers: their schemas are missing or unreadable ' +
        '(npm run build, or npm run gen:api-schemas, writes them)',
    );
    return undefined;
  }
}

/**
 * The OpenAPI document of the REST API (/api/docs): what Nest reads from the controllers (request
 * bodies, parameters, error answers), with each route's success answer from openapi-answers.ts and
 * the shapes of shared/src/api.ts as its components. Without the generated schemas the master still
 * starts, with a document that describes no success answer.
 */
export function buildApiDocument(
  app: INestApplication,
  logger: Logger,
  schemasFile = answerSchemasFile(),
): OpenAPIObject {
  const document = nullAsType(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setOpenAPIVersion('3.1.0')
        .setTitle('Berth')
        .setDescription('The Berth master: servers, platforms, sites and the tasks that change them.')
        .setVersion(berthVersion())
        .addBearerAuth()
        .build(),
    ),
  );
  const schemas = loadAnswerSchemas(schemasFile, logger);
  if (!schemas) return document;
  try {
    const { problems, rowsWithoutRoute } = withAnswers(document, schemas, successStatuses(app));
    if (problems.length > 0 || rowsWithoutRoute.length > 0) {
      logger.warn(
        { problems, rowsWithoutRoute },
        'the OpenAPI document leaves success answers undescribed, or openapi-answers.ts names routes it does not have',
      );
    }
  } catch (error) {
    logger.warn({ err: error }, 'the OpenAPI document describes no success answers');
  }
  return document;
}

/**
 * Puts the schemas into the document's components and the answers into its routes (in place). A
 * generated name that a request body's schema already has is a problem, never an overwrite.
 */
function withAnswers(
  document: OpenAPIObject,
  schemas: AnswerSchemas,
  statuses: ReadonlyMap<string, number>,
): AnswerOutcome {
  // Throws on two definitions that would share a name, before the document changes.
  const generated = componentsOf(schemas.definitions);
  const existing = ((document.components ??= {}).schemas ??= {});
  const problems: string[] = [];
  for (const [name, schema] of Object.entries(generated)) {
    if (name in existing) {
      problems.push(`${name}: both a request body of a controller and a type of shared/src/api.ts`);
      continue;
    }
    existing[name] = schema;
  }
  const outcome = describeAnswers(document, {
    answers: ROUTE_ANSWERS,
    definitions: new Set(Object.keys(schemas.definitions)),
    statusOf: (operationId) => (operationId === undefined ? undefined : statuses.get(operationId)),
  });
  return { ...outcome, problems: [...problems, ...outcome.problems] };
}

/**
 * The status each controller method answers with when it succeeds, by the operationId Nest's
 * document gives it (`SitesController_show`): its @HttpCode, else Nest's default, the same rule
 * the document's own default response follows.
 */
function successStatuses(app: INestApplication): Map<string, number> {
  const statuses = new Map<string, number>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      if (typeof metatype !== 'function') continue;
      const prototype = metatype.prototype as object;
      for (const key of Object.getOwnPropertyNames(prototype)) {
        const handler: unknown = Object.getOwnPropertyDescriptor(prototype, key)?.value;
        if (key === 'constructor' || typeof handler !== 'function') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        const code = Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined;
        statuses.set(
          `${metatype.name}_${key}`,
          code ?? (method === RequestMethod.POST ? HttpStatus.CREATED : HttpStatus.OK),
        );
      }
    }
  }
  return statuses;
}
