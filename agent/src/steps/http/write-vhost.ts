import { readFile } from 'node:fs/promises';
import { HostLayout } from '../../adapters/layout.js';
import type { StepHandler } from '../step.js';
import { linkAliases, unlinkOtherAliases } from '../site/link.js';
import { renderVhost, replaceConfig, vhostParams } from './vhost-files.js';

/**
 * Writes a site's vhost for a platform and reloads nginx, never leaving a configuration that fails
 * `nginx -t` in place. nginx includes `*.conf`, so the new file cannot be tested beside the old
 * one under another name: it is written beside (`.conf.new`), the old file copied (`.conf.old`),
 * the new one renamed into place, tested, and reloaded; when the test or the reload fails the old
 * file is renamed back (or the new one removed when there was none), and the running nginx, never
 * reloaded with the bad file, still serves every site as before. The names the site serves beside
 * its domain are linked in the platform first (Drupal finds the site by them), and the links of
 * names it no longer serves go once the new vhost serves.
 */
export const httpWriteVhost: StepHandler<'http.write-vhost'> = {
  name: 'http.write-vhost',
  parseParams: vhostParams,
  async run(params, context) {
    const { path, content, https } = await renderVhost(params, context);
    const layout = new HostLayout(context.host.root);
    const note = (text: string) => context.note(text);
    const serves = !params.disabled && !params.proxyTo;
    if (serves) await linkAliases(layout, params.platform, params.domain, params.aliases ?? [], note);
    const changed = (await readFile(path, 'utf8').catch(() => undefined)) !== content;
    await replaceConfig(context, path, content);
    if (serves) await unlinkOtherAliases(layout, params.platform, params.domain, params.aliases ?? [], note);
    context.note(
      `${changed ? 'wrote' : 'kept'} ${path}${params.proxyTo ? ` (passing requests to ${params.proxyTo})` : ''}; nginx reloaded`,
    );
    return { path, changed, port: context.host.httpPort, https };
  },
};
