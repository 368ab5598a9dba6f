import type { Command } from 'commander';
import { PHP_POOL_SETTING_NAMES } from '../../../shared/src/php-pool.js';
import type { ApiClient } from '../api-client.js';
import type { SiteEdgeView, Task } from '../api-types.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { readSecretFile } from '../secret-file.js';
import { formatRelative } from '../output/format.js';
import { renderFields, renderTable } from '../output/table.js';
import { JSON_HELP, VERBOSE_HELP, WAIT_HELP, type TaskStartOptions } from '../task-wait.js';

/**
 * `berth site alias`, `berth site https`, `berth site php`: a site's web edge. Each change is a task
 * on every server of the site; what they set is kept by every later vhost (migrate, rename, verify).
 */
/** What `berth site`'s own commands share with these. */
export interface SiteCommandHelpers {
  /** Starts a task and follows it as every task command does (runTaskCommand). */
  runTask: (
    command: Command,
    options: TaskStartOptions,
    start: (client: ApiClient) => Promise<Task>,
    afterSuccess?: (task: Task) => void,
  ) => Promise<void>;
  /** A DNS name given on the command line, or a usage error naming the argument. */
  hostname: (field: string, value: string) => string;
}

export function registerSiteEdgeCommands(site: Command, ctx: CliContext, helpers: SiteCommandHelpers): void {
  const { runTask, hostname } = helpers;

  const alias = site
    .command('alias')
    .description(
      "A site's other names (www. and others): each served by the site or answered with a 301 to its domain; " +
        'in its vhost, its trusted host patterns and its certificate. (Drush alias files are another thing: ' +
        'berth site aliases.)',
    );
  alias
    .command('add')
    .description('Add another name to a site (starts a task)')
    .argument('<domain>', 'the site')
    .argument('<alias>', 'the other name, a lowercase DNS name')
    .option('--redirect', 'answer it with a permanent redirect (301) to the site instead of serving it')
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (
        domain: string,
        name: string,
        options: TaskStartOptions & { redirect?: boolean },
        command: Command,
      ) => {
        hostname('domain', domain);
        hostname('alias', name);
        await runTask(
          command,
          options,
          (client) => client.addSiteAlias(domain, name, options.redirect === true),
          () =>
            ctx.out(options.redirect ? `${name} redirects to ${domain}` : `${domain} answers to ${name} too`),
        );
      },
    );
  alias
    .command('remove')
    .description('Remove another name of a site (starts a task)')
    .argument('<domain>', 'the site')
    .argument('<alias>', 'the name to remove')
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(async (domain: string, name: string, options: TaskStartOptions, command: Command) => {
      hostname('domain', domain);
      hostname('alias', name);
      await runTask(
        command,
        options,
        (client) => client.removeSiteAlias(domain, name),
        () => ctx.out(`${name} is no longer a name of ${domain}`),
      );
    });
  alias
    .command('list')
    .description("List a site's other names")
    .argument('<domain>', 'the site')
    .option('--json', 'print { aliases, redirects } as JSON')
    .action(async (domain: string, options: { json?: boolean }, command: Command) => {
      hostname('domain', domain);
      const edge = await (await ctx.client(command)).getSiteEdge(domain);
      if (options.json) return ctx.printData({ aliases: edge.aliases, redirects: edge.redirects });
      const rows = [
        ...edge.aliases.map((name) => [name, 'served']),
        ...edge.redirects.map((name) => [name, `301 to ${domain}`]),
      ];
      if (rows.length === 0) return ctx.out(`${domain} has no other names`);
      ctx.out(renderTable([{ header: 'NAME' }, { header: 'ANSWERED' }], rows));
    });

  site
    .command('https')
    .description(
      "HTTPS for a site: --letsencrypt gets a certificate for every name of it from Let's Encrypt (each " +
        'server makes its own key; renewed 30 days before it ends), --cert/--key installs your own (it must ' +
        'name every name of the site; its key is kept sealed in the registry for servers the site moves to), ' +
        '--off goes back to plain HTTP, --renew ' +
        'issues it again now; without one of them, show its HTTPS and certificates (starts a task)',
    )
    .argument('<domain>', 'the site')
    .option('--letsencrypt', "HTTPS with a Let's Encrypt certificate (the master's ACME account)")
    .option('--cert <file>', 'HTTPS with your own certificate: its PEM chain, the site’s certificate first')
    .option(
      '--key <file>',
      "with --cert: its private key's PEM file (no passphrase; sent to the site's servers only)",
    )
    .option('--off', 'plain HTTP only; the certificates are removed from its servers')
    .option('--renew', 'issue its certificates again now')
    .option('--redirect', 'with --letsencrypt: plain HTTP answered with a 301 to https://')
    .option('--hsts', 'with --letsencrypt --redirect: Strict-Transport-Security for a year')
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (
        domain: string,
        options: TaskStartOptions & {
          letsencrypt?: boolean;
          cert?: string;
          key?: string;
          off?: boolean;
          renew?: boolean;
          redirect?: boolean;
          hsts?: boolean;
        },
        command: Command,
      ) => {
        hostname('domain', domain);
        const chosen = (['letsencrypt', 'cert', 'off', 'renew'] as const).filter((key) => options[key]);
        if (chosen.length > 1) throw usageError('give one of --letsencrypt, --cert, --off and --renew');
        if ((options.cert === undefined) !== (options.key === undefined))
          throw usageError('--cert and --key go together');
        if ((options.redirect || options.hsts) && !options.letsencrypt && !options.cert)
          throw usageError('--redirect and --hsts go with --letsencrypt or --cert');
        if (options.hsts && !options.redirect) throw usageError('--hsts needs --redirect');
        if (chosen.length === 0) {
          const edge = await (await ctx.client(command)).getSiteEdge(domain);
          if (options.json) return ctx.printData({ https: edge.https, certificates: edge.certificates });
          ctx.out(httpsText(edge, ctx.now()));
          return;
        }
        const uploaded = options.cert
          ? {
              certificate: await readSecretFile(options.cert, 'certificate', true),
              key: await readSecretFile(options.key!, 'private key', true),
            }
          : undefined;
        await runTask(
          command,
          options,
          (client) =>
            options.renew
              ? client.renewSiteCertificate(domain)
              : client.setSiteHttps(
                  domain,
                  options.off
                    ? { mode: 'off' }
                    : {
                        mode: uploaded ? 'uploaded' : 'letsencrypt',
                        redirect: options.redirect === true,
                        hsts: options.hsts === true,
                        ...uploaded,
                      },
                ),
          () =>
            ctx.out(
              options.off ? `${domain} is served over plain HTTP only` : `https://${domain}/ is served`,
            ),
        );
      },
    );

  site
    .command('php')
    .description(
      `A site's PHP settings in its own PHP-FPM pool (starts a task; without --set or --unset, show them). ` +
        `Allowed: ${PHP_POOL_SETTING_NAMES.join(', ')}`,
    )
    .argument('<domain>', 'the site')
    .option('--set <key=value...>', 'set a setting, e.g. --set memory_limit=256M upload_max_filesize=64M')
    .option('--unset <key...>', 'take the default back for a setting')
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (
        domain: string,
        options: TaskStartOptions & { set?: string[]; unset?: string[] },
        command: Command,
      ) => {
        hostname('domain', domain);
        const settings: Record<string, string | null> = {};
        for (const pair of options.set ?? []) {
          const at = pair.indexOf('=');
          if (at < 1) throw usageError(`--set takes KEY=VALUE, not "${pair}"`);
          settings[pair.slice(0, at)] = pair.slice(at + 1);
        }
        for (const key of options.unset ?? []) settings[key] = null;
        if (Object.keys(settings).length === 0) {
          const edge = await (await ctx.client(command)).getSiteEdge(domain);
          if (options.json) return ctx.printData(edge.pool);
          if (!edge.pool)
            return ctx.out(`${domain} runs in its server's shared PHP pool: verify it to give it its own`);
          ctx.out(`${domain} runs PHP as ${edge.pool.user} (uid ${edge.pool.uid})`);
          ctx.out(
            renderTable(
              [{ header: 'SETTING' }, { header: 'VALUE' }, { header: 'SET' }],
              Object.entries(edge.pool.effective).map(([key, value]) => [
                key,
                value,
                key in edge.pool!.settings ? 'yes' : 'default',
              ]),
            ),
          );
          return;
        }
        await runTask(command, options, (client) => client.setSitePhp(domain, settings));
      },
    );
}

/** A site's HTTPS and its certificates, for `site https` and `site show`. */
export function httpsText(edge: SiteEdgeView, now: number): string {
  if (!edge.https) return 'HTTPS: off';
  const flags = [edge.https.redirect ? 'HTTP redirected' : null, edge.https.hsts ? 'HSTS' : null].filter(
    Boolean,
  );
  const lines = [`HTTPS: ${edge.https.mode}${flags.length > 0 ? ` (${flags.join(', ')})` : ''}`];
  if (edge.certificates.length === 0) lines.push('no certificate yet');
  else
    lines.push(
      renderFields(
        edge.certificates.map((certificate) => [
          certificate.server,
          `${certificate.names.join(', ')}; ends ${certificate.notAfter} (${formatRelative(certificate.notAfter, now)}); ${certificate.issuer}`,
        ]),
      ),
    );
  return lines.join('\n');
}

/** The edge's lines of `berth site show`. */
export function edgeFields(edge: SiteEdgeView): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  if (edge.aliases.length > 0) fields.push(['aliases', edge.aliases.join(', ')]);
  if (edge.redirects.length > 0) fields.push(['redirects', edge.redirects.join(', ')]);
  fields.push(['https', edge.https ? edge.https.mode : 'off']);
  for (const certificate of edge.certificates)
    fields.push([
      `certificate`,
      `${certificate.server}: ${certificate.names.join(', ')} until ${certificate.notAfter}`,
    ]);
  fields.push(['php', edge.pool ? `own pool, user ${edge.pool.user}` : "the server's shared pool"]);
  return fields;
}
