import type * as api from '../../../shared/src/api.js';
import { validateName } from '../../../shared/src/validation.js';
import { isUniqueViolation } from '../infra/db/sql.js';
import type { OffsiteRepository, OffsiteTargetRow, OffsiteTargetUsage } from './offsite.repository.js';
import { OffsiteError, OffsiteErrorCode } from './offsite.errors.js';
import type { BucketLocation } from './s3-bucket.js';

const KNOWN_FIELDS = new Set([
  'name',
  'endpoint',
  'bucket',
  'region',
  'prefix',
  'pathStyle',
  'accessKeyId',
  'secretAccessKey',
]);
/** S3's rule for bucket names (the strict one, which every compatible server accepts). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Key prefixes: path segments of safe characters, ending in "/". */
const PREFIX = /^([A-Za-z0-9._-]+\/)*$/;
const ACCESS_KEY = /^[\x21-\x7e]{1,128}$/;

/** Off-site targets (REST, CLI): added only once the bucket took a test object; listed without secrets. */
export class OffsiteService {
  constructor(
    private readonly repository: Pick<
      OffsiteRepository,
      'createTarget' | 'findTarget' | 'listTargets' | 'usage' | 'removeTarget'
    >,
    private readonly secrets: { encrypt(plaintext: string): string },
    /** Puts, reads and deletes a small object with these settings; throws what the bucket said. */
    private readonly probe: (location: BucketLocation) => Promise<void>,
    private readonly scopeNames: (scopeKey: string) => Promise<string>,
  ) {}

  async list(): Promise<api.OffsiteTarget[]> {
    const [targets, usage] = await Promise.all([this.repository.listTargets(), this.repository.usage()]);
    return Promise.all(targets.map((target) => this.view(target, usage.get(target.id))));
  }

  async add(input: unknown): Promise<api.OffsiteTarget> {
    const fields = checkInput(input);
    if (await this.repository.findTarget(fields.name)) throw nameTaken(fields.name);
    try {
      await this.probe(fields);
    } catch (error) {
      throw new OffsiteError(
        OffsiteErrorCode.BucketRefused,
        `bucket ${fields.bucket} at ${fields.endpoint} did not take a test object, so the target was not added: ` +
          (error instanceof Error ? error.message : String(error)),
      );
    }
    const { secretAccessKey, ...rest } = fields;
    try {
      const target = await this.repository.createTarget({
        ...rest,
        secretEncrypted: this.secrets.encrypt(secretAccessKey),
      });
      return this.view(target, undefined);
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(fields.name);
      throw error;
    }
  }

  /** Removes a target from the registry (its objects stay in the bucket); refused while a policy names it. */
  async remove(name: string): Promise<void> {
    const target = await this.repository.findTarget(name);
    if (!target) throw notFound(name);
    if ((await this.repository.removeTarget(target.id)) === 'named') {
      const usage = (await this.repository.usage()).get(target.id);
      const names = await Promise.all((usage?.policies ?? []).map(this.scopeNames));
      throw new OffsiteError(
        OffsiteErrorCode.InUse,
        `off-site target ${name} is named by the backup policy of ${names.join(', ')}: ` +
          "set those policies' --offsite to another target or none first",
      );
    }
  }

  /** A target by name for a policy; refused with the names that exist. */
  async idOf(name: string): Promise<string> {
    const target = await this.repository.findTarget(name);
    if (!target) throw notFound(name);
    return target.id;
  }

  private async view(
    target: OffsiteTargetRow,
    usage: OffsiteTargetUsage | undefined,
  ): Promise<api.OffsiteTarget> {
    return {
      id: target.id,
      name: target.name,
      endpoint: target.endpoint,
      region: target.region,
      bucket: target.bucket,
      prefix: target.prefix,
      pathStyle: target.pathStyle,
      accessKeyId: target.accessKeyId,
      createdAt: new Date(target.createdAt).toISOString(),
      copies: {
        copied: usage?.copied ?? 0,
        pending: usage?.pending ?? 0,
        failed: usage?.failed ?? 0,
        bytes: usage?.bytes ?? 0,
      },
      policies: await Promise.all((usage?.policies ?? []).map(this.scopeNames)),
    };
  }
}

type TargetFields = BucketLocation & { name: string };

/** Every field checked; a problem is a 400 with what to write. Nothing here reaches a shell or a path. */
function checkInput(input: unknown): TargetFields {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid(
      'the body must be a JSON object: { name, endpoint, bucket, region?, prefix?, pathStyle?, accessKeyId, secretAccessKey }',
    );
  }
  const body = input as Record<string, unknown>;
  const unknown = Object.keys(body).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) throw invalid(`unknown field ${unknown.join(', ')}`);
  const name = validateName('name', body.name);
  if (!name.ok) throw invalid(name.failure.message);
  const endpoint = checkEndpoint(body.endpoint);
  if (typeof body.bucket !== 'string' || !BUCKET.test(body.bucket) || body.bucket.includes('..')) {
    throw invalid(
      `bucket "${String(body.bucket)}" is not an S3 bucket name: 3-63 lowercase letters, digits, "." or "-"`,
    );
  }
  const region = body.region ?? 'us-east-1';
  if (typeof region !== 'string' || !REGION.test(region)) {
    throw invalid(`region ${JSON.stringify(region)} is not a region name such as us-east-1`);
  }
  const prefix = body.prefix ?? '';
  if (
    typeof prefix !== 'string' ||
    prefix.length > 200 ||
    !PREFIX.test(prefix) ||
    /(^|\/)\.\.?\//.test(prefix)
  ) {
    throw invalid(
      `prefix ${JSON.stringify(prefix)} must be path segments of letters, digits, ".", "_" or "-", each ending in "/" (e.g. "berth/"), or empty`,
    );
  }
  if (body.pathStyle !== undefined && typeof body.pathStyle !== 'boolean') {
    throw invalid('pathStyle must be true or false');
  }
  if (typeof body.accessKeyId !== 'string' || !ACCESS_KEY.test(body.accessKeyId)) {
    throw invalid('accessKeyId is required: the access key id, without spaces');
  }
  if (
    typeof body.secretAccessKey !== 'string' ||
    body.secretAccessKey.length === 0 ||
    body.secretAccessKey.length > 256
  ) {
    throw invalid('secretAccessKey is required (at most 256 characters)');
  }
  return {
    name: name.value,
    endpoint,
    bucket: body.bucket,
    region,
    prefix,
    pathStyle: body.pathStyle ?? true,
    accessKeyId: body.accessKeyId,
    secretAccessKey: body.secretAccessKey,
  };
}

function checkEndpoint(input: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof input === 'string' ? new URL(input) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    throw invalid(
      `endpoint "${String(input)}" must be an http:// or https:// URL of the S3 API without credentials, e.g. https://s3.eu-central-1.amazonaws.com`,
    );
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw invalid(
      `endpoint "${String(input)}" must be the server's address only: the bucket is its own field`,
    );
  }
  return url.origin;
}

function invalid(message: string): OffsiteError {
  return new OffsiteError(OffsiteErrorCode.InvalidInput, message);
}

function notFound(name: string): OffsiteError {
  return new OffsiteError(
    OffsiteErrorCode.NotFound,
    `no off-site target "${name}"; \`berth store offsite list\` shows them`,
  );
}

function nameTaken(name: string): OffsiteError {
  return new OffsiteError(OffsiteErrorCode.NameTaken, `an off-site target named ${name} exists already`);
}
