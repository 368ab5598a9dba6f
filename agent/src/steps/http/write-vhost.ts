import { readFile } from 'node:fs/promises';
import type { StepHandler } from '../step.js';
import { renderVhost, replaceConfig, vhostParams } from './vhost-files.js';

/**
 * Writes a site's vhost for a platform and reloads nginx, never leaving a configuration that fails
 * `nginx -t` in place. nginx includes `*.conf`, so the new file cannot be tested beside the old
 * one under another name: it is written beside (`.conf.new`), the old file copied (`.conf.old`),
 * the new one renamed into place, tested, and reloaded; when the test or the reload fails the old
 * file is renamed back (or the new one removed when there was none), and the running nginx, never
 * reloaded with the bad file, still serves every site as before.
 */
export const httpWriteVhost: StepHandler<'http.write-vhost'> = {
  name: 'http.write-vhost',
  parseParams: vhostParams,
  async run(params, context) {
    const { path, content } = await renderVhost(params, context);
    const changed = (await readFile(path, 'utf8').catch(() => undefined)) !== content;
    await replaceConfig(context, path, content);
    context.note(
      `${changed ? 'wrote' : 'kept'} ${path}${params.proxyTo ? ` (passing requests to ${params.proxyTo})` : ''}; nginx reloaded`,
    );
    return { path, changed, port: context.host.httpPort };
  },
};
