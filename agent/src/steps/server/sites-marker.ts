import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../../../../shared/src/validation.js';
import { HostLayout } from '../../adapters/layout.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';

const MARKER_NAME = /^\.berth-marker-[0-9a-f]{16}$/;
const TOKEN = /^[0-9a-f]{32}$/;

/**
 * A marker file in this server's sites directory, to tell whether several servers see the same one
 * (a cluster's shared site directory): written by one head, read by the others, removed after.
 * The name starts with a dot, which no site's domain does.
 */
export const sitesMarker: StepHandler<'sites.marker'> = {
  name: 'sites.marker',
  parseParams: (input) =>
    parseWith(input, ['action', 'name'], ['token'], (params) => {
      const action = params.action;
      if (action !== 'write' && action !== 'read' && action !== 'remove') {
        throw fieldError('action', 'action must be write, read or remove');
      }
      if (typeof params.name !== 'string' || !MARKER_NAME.test(params.name)) {
        throw fieldError('name', 'name must be .berth-marker- and 16 hex digits');
      }
      const token = params.token;
      if (action === 'write' && (typeof token !== 'string' || !TOKEN.test(token))) {
        throw fieldError('token', 'write needs token: 32 hex digits');
      }
      if (action !== 'write' && token !== undefined) throw fieldError('token', 'only write takes a token');
      return { action, name: params.name, ...(action === 'write' ? { token: token as string } : {}) };
    }),
  async run(params, context) {
    const dir = new HostLayout(context.host.root).sitesDir;
    const path = join(dir, params.name);
    if (params.action === 'write') {
      await mkdir(dir, { recursive: true, mode: 0o711 });
      // Whole or not at all: the others read it only once it is renamed into place.
      const partial = join(dir, `${params.name}.${randomBytes(4).toString('hex')}.part`);
      await writeFile(partial, `${params.token}\n`, { mode: 0o600, flag: 'wx' });
      await rename(partial, path);
      context.note(`wrote ${path}`);
      return { dir, token: params.token ?? null };
    }
    if (params.action === 'remove') {
      await rm(path, { force: true });
      return { dir, token: null };
    }
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    context.note(text === null ? `no ${path}` : `read ${path}`);
    return { dir, token: text === null ? null : text.trim() };
  },
};

function fieldError(field: string, message: string): ValidationError {
  return new ValidationError({ field, message });
}
