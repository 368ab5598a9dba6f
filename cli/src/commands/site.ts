import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { validateHostname, validateName, validateSiteDomain } from '../../../shared/src/validation.js';
import type { ApiClient } from '../api-client.js';
import type { Backup, BackupPage, Site, SiteCron, SiteDeployHooks, SiteQuery, Task } from '../api-types.js';
import { YES_HELP, type CliContext } from '../context.js';
import {
  aliasNameForDomain,
  buildAliasEnvironment,
  checkAliasName,
  defaultAliasDirectory,
  renderAliasFile,
  writeAliasFile,
} from '../drush-alias.js';
import { usageError } from '../errors.js';
import { edgeFields, registerSiteEdgeCommands } from './site-edge.js';
import { writeEveryAlias } from './site-aliases.js';
import { readSecretFile } from '../secret-file.js';
import { formatBytes, formatDuration, formatHooks, formatRelative } from '../output/format.js';
import { downloadBackup } from '../backup-download.js';
import { renderFields, renderTable } from '../output/table.js';
import { JSON_HELP, runTaskCommand, VERBOSE_HELP, WAIT_HELP, type TaskStartOptions } from '../task-wait.js';
import { wholeNumber } from '../parsers.js';
import {
  addPageOptions,
  hintNextPage,
  type ListNoun,
  listRows,
  type PageOptions,
  readPages,
} from '../paging.js';
import { declareListFields } from '../output/output-options.js';
import { listFields } from '../output/structured.js';
import { SITE_STATUSES } from '../../../shared/src/site-status.js';
import { describeDeployHooks } from '../../../shared/src/deploy-hooks.js';
import { MIGRATE_STRATEGIES } from '../../../shared/src/tasks.js';

type WaitOptions = TaskStartOptions;

const SITES: ListNoun = { one: 'site', many: 'sites' };
const BACKUPS: ListNoun = { one: 'backup', many: 'backups' };

/** A site in a list: without what only GET /api/sites/{domain} has. */
const SITE_FIELDS = listFields<Omit<Site, 'cron' | 'deployHooks' | 'edge'>>(
  {
    id: true,
    domain: true,
    status: true,
    platform: true,
    client: true,
    dbServer: true,
    profile: true,
    url: true,
    verifiedAt: true,
    createdAt: true,
    actions: true,
    code: true,
  },
  ['domain', 'status', 'platform', 'client', 'verifiedAt'],
);

const BACKUP_FIELDS = listFields<Backup>(
  {
    id: true,
    archiveId: true,
    databaseArchiveId: true,
    bytes: true,
    domain: true,
    reason: true,
    createdAt: true,
    manifest: true,
    verifiedAt: true,
    verifyFailedAt: true,
    offsite: true,
  },
  ['id', 'reason', 'createdAt', 'bytes', 'verifiedAt', 'verifyFailedAt', 'offsite'],
);

interface SiteListOptions extends PageOptions {
  status?: string;
  platform?: string;
  server?: string;
  client?: string;
  search?: string;
  json?: boolean;
}

export function registerSiteCommands(program: Command, ctx: CliContext): void {
  const site = program.command('site').description('Sites: a domain with its directory, database and vhost');

  const runTask = async (
    command: Command,
    options: WaitOptions,
    start: (client: ApiClient) => Promise<Task>,
    afterSuccess?: (task: Task) => void,
  ) => runTaskCommand(ctx, await ctx.client(command), options, start, afterSuccess);

  const hostname = (field: string, value: string) => {
    const checked = validateHostname(field, value);
    if (!checked.ok) throw usageError(checked.failure.message);
    return checked.value;
  };
  const domainArgument = (domain: string) => hostname('domain', domain);
  /** --deploy-key-file's key, read from its file (never the command line); only with --repo. */
  const repositoryKey = async (options: { repo?: string; deployKeyFile?: string }) => {
    if (options.deployKeyFile === undefined) return undefined;
    if (options.repo === undefined) throw usageError('--deploy-key-file needs --repo');
    return readSecretFile(options.deployKeyFile, 'deploy key', true);
  };

  /** A Drush alias file for a site: its platform's docroot and drush, its URI, its web server. */
  const writeSiteAlias = async (
    client: ApiClient,
    domain: string,
    options: {
      name: string;
      environment: string;
      dir?: string;
      local?: boolean;
      host?: string;
      user?: string;
      force?: boolean;
    },
  ) => {
    const found = await client.getSite(domain);
    const platform = await client.getPlatform(found.platform);
    // The registered server name is a DNS name the operator chose (the agent's host name by default).
    const host = options.local ? undefined : (options.host ?? platform.serverName);
    const alias = buildAliasEnvironment({
      url: found.url,
      platformPath: platform.path,
      docroot: platform.docroot,
      host,
      user: options.local ? undefined : options.user,
    });
    const text = renderAliasFile(options.name, options.environment, alias, found.domain);
    const directory = resolve(options.dir ?? defaultAliasDirectory(ctx.env.HOME));
    const path = await writeAliasFile(directory, options.name, text, { force: options.force === true });
    return { path, directory, alias };
  };
  const aliasHint = (name: string, directory: string) => {
    ctx.err(`Use it with: drush @${name} status   (Drush reads ${directory} if it is in its alias-path;`);
    ctx.err('see berth site aliases --help)');
  };

  /** A domain a new site (an install, a clone, a rename) is to get: the master's own rule. */
  const newDomainArgument = (domain: string) => {
    const checked = validateSiteDomain('domain', domain);
    if (!checked.ok) throw usageError(checked.failure.message);
    return checked.value;
  };

  site
    .command('install')
    .description(
      'Install a site on a platform: database, settings, drush site:install, vhost (starts a task)',
    )
    .argument('<domain>', 'the domain, a lowercase DNS name')
    .requiredOption('--platform <name>', 'a verified platform')
    .option('--profile <name>', 'install profile (default: standard)')
    .option('--db-server <name>', "database server (default: the platform's server)")
    .option('--client <name>', 'the client that owns the site')
    .option(
      '--repo <url>',
      "the site's own repository (modules/, themes/, config/sync), checked out into its directory; never settings.php, files/ or private/",
    )
    .option('--ref <ref>', 'with --repo: the branch, tag or commit (default: main)')
    .option(
      '--deploy-key-file <file>',
      'with --repo: an SSH private key (no passphrase) the repository is read with; stored encrypted, never shown',
    )
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (
        domain: string,
        options: WaitOptions & {
          deployKeyFile?: string;
          platform: string;
          profile?: string;
          dbServer?: string;
          client?: string;
          repo?: string;
          ref?: string;
        },
        command: Command,
      ) => {
        newDomainArgument(domain);
        if (options.ref !== undefined && options.repo === undefined) throw usageError('--ref needs --repo');
        const deployKey = await repositoryKey(options);
        if (options.profile !== undefined) {
          const checked = validateName('profile', options.profile);
          if (!checked.ok) throw usageError(checked.failure.message);
        }
        await runTask(
          command,
          options,
          async (client) =>
            (
              await client.installSite({
                domain,
                platform: options.platform,
                profile: options.profile,
                dbServer: options.dbServer,
                client: options.client,
                ...(options.repo !== undefined ? { repository: options.repo, ref: options.ref } : {}),
                ...(deployKey !== undefined ? { deployKey } : {}),
              })
            ).task,
          () =>
            ctx.out(`${domain} is installed: http://${domain}/  (log in: berth site login-reset ${domain})`),
        );
      },
    );

  site
    .command('new')
    .description(
      'A new site the short way (drush ns): the newest verified platform of its Drupal major version, its own ' +
        'repository (the one given, or one made on its web server with modules/ and themes/), installed; then a ' +
        'Drush alias file for it (starts a task)',
    )
    .argument('<domain>', 'the domain, a lowercase DNS name')
    .option(
      '--core <major>',
      'the Drupal major version (default: the newest verified platform of any)',
      wholeNumber,
    )
    .option(
      '--repo <url>',
      "the site's own repository (default: one made at <root>/repositories/<domain>.git)",
    )
    .option('--ref <ref>', 'with --repo: the branch, tag or commit (default: main)')
    .option('--deploy-key-file <file>', 'with --repo: an SSH private key it is read with; stored encrypted')
    .option('--client <name>', 'the client that owns the site')
    .option('--db-server <name>', "database server (default: the platform's server)")
    .option('--alias-dir <dir>', 'where to write its Drush alias file (default: ~/.drush/sites)')
    .option('--no-alias', 'write no Drush alias file')
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (
        domain: string,
        options: WaitOptions & {
          core?: number;
          repo?: string;
          ref?: string;
          client?: string;
          dbServer?: string;
          aliasDir?: string;
          alias: boolean;
          deployKeyFile?: string;
        },
        command: Command,
      ) => {
        newDomainArgument(domain);
        if (options.ref !== undefined && options.repo === undefined) throw usageError('--ref needs --repo');
        const deployKey = await repositoryKey(options);
        const client = await ctx.client(command);
        let platform = '';
        await runTask(
          command,
          options,
          async (api) => {
            const created = await api.newSite({
              domain,
              ...(options.core !== undefined ? { core: options.core } : {}),
              ...(options.repo !== undefined ? { repository: options.repo, ref: options.ref } : {}),
              ...(deployKey !== undefined ? { deployKey } : {}),
              ...(options.client !== undefined ? { client: options.client } : {}),
              ...(options.dbServer !== undefined ? { dbServer: options.dbServer } : {}),
            });
            platform = created.platform;
            return created.task;
          },
          () => ctx.out(`${domain} is installed on ${platform}: http://${domain}/`),
        );
        if (ctx.exitCode !== 0 || !options.wait || !options.alias) return;
        const name = aliasNameForDomain(domain);
        const written = await writeSiteAlias(client, domain, {
          name,
          environment: 'live',
          ...(options.aliasDir !== undefined ? { dir: options.aliasDir } : {}),
        });
        if (!options.json) {
          ctx.out(`Drush alias: ${written.path}`);
          aliasHint(name, written.directory);
        }
      },
    );

  const list = site
    .command('list')
    .description(
      'List sites in domain order, a page at a time (--limit, default 100; --all for every page), filtered by ' +
        'status, platform, server, client or a piece of the domain',
    );
  addPageOptions(list, SITES)
    .option('--status <status>', `only sites in this state (${SITE_STATUSES.join(', ')})`)
    .option('--platform <name>', 'only sites on this platform')
    .option('--server <name>', 'only sites on this server (its web server or its database server)')
    .option('--client <name>', "only this client's sites")
    .option('--search <text>', 'only sites whose domain contains this')
    .option('--json', 'print the sites as JSON')
    .action(async (options: SiteListOptions, command: Command) => {
      const filters: SiteQuery = {
        ...(options.status ? { status: options.status } : {}),
        ...(options.platform ? { platform: options.platform } : {}),
        ...(options.server ? { server: options.server } : {}),
        ...(options.client ? { client: options.client } : {}),
        ...(options.search ? { q: options.search } : {}),
      };
      const client = await ctx.client(command);
      const sites = await listRows(
        ctx,
        options,
        SITES,
        filters,
        { none: 'No sites yet. Install one with: berth site install DOMAIN --platform PLATFORM' },
        (page) => client.pageSites({ ...page, ...filters }),
      );
      if (!sites) return;
      const now = ctx.now();
      ctx.out(
        renderTable(
          [
            { header: 'DOMAIN' },
            { header: 'STATUS' },
            { header: 'PLATFORM' },
            { header: 'CLIENT' },
            { header: 'VERIFIED' },
          ],
          sites.map((item) => [
            item.domain,
            item.status,
            item.platform,
            item.client ?? '-',
            formatRelative(item.verifiedAt, now),
          ]),
        ),
      );
    });
  declareListFields(list, SITE_FIELDS);

  site
    .command('show')
    .description('Show a site with its packages and schema versions')
    .argument('<domain>', 'the domain')
    .option('--json', 'print the site as JSON')
    .action(async (domain: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const found = await client.getSite(domain);
      if (options.json) return ctx.printData(found);
      ctx.out(
        renderFields([
          ['domain', found.domain],
          ['status', found.status],
          ['platform', found.platform],
          ['client', found.client ?? '-'],
          ['database on', found.dbServer],
          ['profile', found.profile],
          ['verified', formatRelative(found.verifiedAt, ctx.now())],
          ...(found.cron ? ([['cron', cronText(found.cron, ctx.now())]] as Array<[string, string]>) : []),
          ...(found.code
            ? ([
                [
                  'code',
                  `${found.code.repository} at ${found.code.ref ?? '-'} (${found.code.commit?.slice(0, 12) ?? 'not checked out'})`,
                ],
              ] as Array<[string, string]>)
            : []),
          ...(found.deployHooks
            ? ([['deploy hooks', siteHooksText(found.deployHooks)]] as Array<[string, string]>)
            : []),
          ...(found.edge ? edgeFields(found.edge) : []),
        ]),
      );
      if (found.packages.length > 0) {
        ctx.out();
        ctx.out(
          renderTable(
            [
              { header: 'PACKAGE' },
              { header: 'TYPE' },
              { header: 'VERSION' },
              { header: 'SCHEMA', align: 'right' },
            ],
            found.packages.map((item) => [
              item.name,
              item.type,
              item.version ?? '-',
              String(item.schemaVersion),
            ]),
          ),
        );
      }
    });

  registerSiteEdgeCommands(site, ctx, { runTask, hostname });

  site
    .command('deploy')
    .description(
      "Deploy a ref of a site's own repository (installed with --repo) with a migrate's safety: a backup, " +
        'the code, updates and deploy hooks rehearsed on a copy, then writes held, a rollback point and a short ' +
        'window; a failure there puts the code and the database back (starts a task)',
    )
    .argument('<domain>', 'the domain')
    .requiredOption('--ref <ref>', 'the branch, tag or commit to deploy')
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(async (domain: string, options: WaitOptions & { ref: string }, command: Command) => {
      domainArgument(domain);
      await runTask(
        command,
        options,
        (client) => client.siteAction(domain, 'deploy', { body: { ref: options.ref } }),
        (task) => {
          const result = task.result as { commit: string; previous: string; unchanged: boolean } | null;
          if (!result) return;
          ctx.out(
            result.unchanged
              ? `${domain} is at ${options.ref} (${result.commit.slice(0, 12)}) already: nothing deployed`
              : `${domain} runs ${options.ref} (${result.commit.slice(0, 12)}); it ran ${result.previous.slice(0, 12)}`,
          );
        },
      );
    });

  site
    .command('hooks')
    .description(
      "Set a site's own deploy hooks: run in order after the database updates when its code changes " +
        `(a migrate to another platform, a platform update). Hooks: ${describeDeployHooks()}`,
    )
    .argument('<domain>', 'the domain')
    .argument('[hooks...]', 'the hooks in order (none: the updates only)')
    .option('--platform-hooks', "no list of its own: its platform's hooks apply")
    .option('--json', 'print { own, effective } as JSON')
    .action(
      async (
        domain: string,
        hooks: string[],
        options: { platformHooks?: boolean; json?: boolean },
        command: Command,
      ) => {
        domainArgument(domain);
        if (options.platformHooks && hooks.length > 0) {
          throw usageError('give hooks or --platform-hooks, not both');
        }
        const set = await (
          await ctx.client(command)
        ).setSiteHooks(domain, options.platformHooks ? null : hooks);
        if (options.json) return ctx.printData(set);
        ctx.out(`${domain}: ${siteHooksText(set)}`);
      },
    );

  site
    .command('cron')
    .description(
      "Run a site's Drupal cron now (starts a task), or with --every set how often it runs on its own",
    )
    .argument('<domain>', 'the domain')
    .option(
      '--every <minutes>',
      'run it every N minutes while the site is enabled (0: only when asked for)',
      wholeNumber,
    )
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task (or, with --every, the cron settings) as JSON')
    .action(async (domain: string, options: WaitOptions & { every?: number }, command: Command) => {
      domainArgument(domain);
      if (options.every === undefined) {
        await runTask(command, options, (client) => client.siteAction(domain, 'cron'));
        return;
      }
      const cron = await (await ctx.client(command)).setSiteCron(domain, options.every);
      if (options.json) return ctx.printData(cron);
      ctx.out(`${domain}: cron ${cronText(cron, ctx.now())}`);
    });

  const simple: Array<[string, string, string, ((task: Task) => void) | undefined]> = [
    [
      'verify',
      'verify',
      'Verify a site: drush status, an HTTP probe, packages and schema versions',
      undefined,
    ],
    [
      'backup',
      'backups',
      'Back up a site (files and a consistent database dump) into the master store',
      (task) => ctx.out(`backup ${String((task.result as { backupId?: string } | null)?.backupId ?? '')}`),
    ],
    ['disable', 'disable', 'Disable a site: its vhost serves a "site disabled" page', undefined],
    ['enable', 'enable', 'Enable a disabled site', undefined],
    [
      'login-reset',
      'login-reset',
      'Print a one-time login link for the site',
      (task) => ctx.out(String((task.result as { url?: string } | null)?.url ?? '')),
    ],
    [
      'release-old',
      'release-old',
      'Release a site that moved to another web server from the old one: its proxying vhost, link, copy and ' +
        'database account there go (the master does it by itself after BERTH_RELEASE_OLD_AFTER_MS, default 24 h)',
      (task) => {
        const released = (task.result as { released?: string | null } | null)?.released;
        ctx.out(released ? `released from ${released}` : 'nothing to release: no copy on another server');
      },
    ],
  ];
  for (const [name, action, description, after] of simple) {
    site
      .command(name)
      .description(`${description} (starts a task)`)
      .argument('<domain>', 'the domain')
      .option('--no-wait', WAIT_HELP)
      .option('--verbose', VERBOSE_HELP)
      .option('--json', JSON_HELP)
      .action(async (domain: string, options: WaitOptions, command: Command) => {
        await runTask(command, options, (client) => client.siteAction(domain, action), after);
      });
  }

  const backups = site
    .command('backups')
    .description(
      "List a site's backups, newest first, a page at a time (--limit, default 100; --all for every page)",
    )
    .argument('<domain>', 'the domain (also of a deleted site: its last backup is kept)');
  addPageOptions(backups, BACKUPS)
    .option('--json', 'print the backups as JSON')
    .action(async (domain: string, options: PageOptions & { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const { items, next, first } = await readPages(options, (page) => client.pageBackups(domain, page));
      // Older masters send no total.
      const total = first.total as BackupPage['total'] | undefined;
      hintNextPage(ctx, BACKUPS, next, total ? ` (${total.count} in all, ${formatBytes(total.bytes)})` : '');
      if (options.json) return ctx.printData(items);
      if (items.length === 0) {
        ctx.out(`No backups of ${domain}.`);
        return;
      }
      ctx.out(
        renderTable(
          [
            { header: 'ID' },
            { header: 'REASON' },
            { header: 'TAKEN' },
            { header: 'BYTES', align: 'right' },
            { header: 'RESTORE TEST' },
            { header: 'OFF-SITE' },
          ],
          items.map((item) => [
            item.id,
            item.reason,
            formatRelative(item.createdAt, ctx.now()),
            String(item.bytes),
            restoreTest(item, ctx.now()),
            item.offsite.map((copy) => `${copy.target}: ${copy.state}`).join(', ') || '-',
          ]),
        ),
      );
    });
  declareListFields(backups, BACKUP_FIELDS);

  site
    .command('restore')
    .description(
      'Restore a backup into the site; the current state is set aside first and archived as a pre-restore backup once the site is back (starts a task)',
    )
    .argument('<domain>', 'the domain')
    .requiredOption('--backup <id>', 'the backup to restore (berth site backups DOMAIN)')
    .option('-y, --yes', YES_HELP)
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (domain: string, options: WaitOptions & { backup: string; yes?: boolean }, command: Command) => {
        await ctx.confirm(
          `Restore backup ${options.backup} into ${domain} (its current state is kept as a pre-restore backup)`,
          options,
        );
        await runTask(command, options, (client) =>
          client.siteAction(domain, 'restore', { body: { backupId: options.backup } }),
        );
      },
    );

  site
    .command('migrate')
    .description(
      'Move a site to another platform (on its web server or another), its database to another db server, or ' +
        'both: backup, a rehearsal on a throwaway copy, read-only, a rollback point, then an offline window only ' +
        'as long as the database updates; or --strategy blue-green: no offline window at all; rolled back on failure (starts a task)',
    )
    .argument('<domain>', 'the domain')
    .option('--platform <name>', 'the target platform (on another web server: the site moves there)')
    .option(
      '--db-server <name>',
      'move the database to this db server: copied with writes held, switched in the window, the old one dropped after',
    )
    .option(
      '--without-head <names>',
      'a site on a cluster: go on without these heads (comma-separated), whose agents are down; they are marked stale until `berth cluster sync`',
    )
    .addOption(
      new Option(
        '--strategy <how>',
        'in-place (default): the updates in a short offline window; blue-green: no offline window, the database copied on its server, updated as a hidden site and switched to in one reload (needs read-only mode; same web and db servers)',
      ).choices(MIGRATE_STRATEGIES),
    )
    .option('--check', "only compare the site's packages with the target (Aegir's rules) and print the table")
    .option('--force', 'go ahead despite warnings (packages missing on the target); errors always refuse')
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (
        domain: string,
        options: WaitOptions & {
          platform?: string;
          dbServer?: string;
          withoutHead?: string;
          strategy?: string;
          check?: boolean;
          force?: boolean;
        },
        command: Command,
      ) => {
        if (options.platform === undefined && options.dbServer === undefined) {
          throw usageError('say where to: --platform, --db-server, or both');
        }
        if (options.check) {
          if (options.platform === undefined)
            throw usageError('--check compares with a platform: give --platform');
          const client = await ctx.client(command);
          const check = await client.migrateCheck(domain, options.platform);
          // Errors mean the migrate would be refused: exit 1, with --json as without.
          ctx.exitCode = check.errors > 0 ? 1 : 0;
          if (options.json) return ctx.printData(check);
          ctx.out(
            renderTable(
              [
                { header: 'PACKAGE' },
                { header: 'FROM' },
                { header: 'TO' },
                { header: 'SCHEMA' },
                { header: 'POST-UPDATES', align: 'right' },
                { header: 'STATUS' },
              ],
              check.rows.map((row) => [
                row.name,
                row.siteVersion ?? '-',
                row.targetVersion ?? '-',
                `${row.siteSchema} -> ${row.targetSchema ?? '-'}`,
                row.pendingPostUpdates > 0 ? String(row.pendingPostUpdates) : '-',
                row.severity === 'ok' ? row.status : `${row.status} (${row.severity})`,
              ]),
            ),
          );
          // What refuses or risks the move, said in full.
          for (const row of check.rows.filter((item) => item.severity !== 'ok')) {
            ctx.out(`${row.severity}: ${row.name}: ${row.message}`);
          }
          ctx.out(`${check.errors} errors, ${check.warnings} warnings, ${check.upgrades} upgrades`);
          return;
        }
        await runTask(
          command,
          options,
          (client) =>
            client.siteAction(domain, 'migrate', {
              body: {
                ...(options.platform === undefined ? {} : { platform: options.platform }),
                ...(options.dbServer === undefined ? {} : { dbServer: options.dbServer }),
                ...(options.strategy === undefined ? {} : { strategy: options.strategy }),
                ...(options.withoutHead === undefined
                  ? {}
                  : { withoutHeads: options.withoutHead.split(',').map((name) => name.trim()) }),
                force: options.force === true,
              },
            }),
          (task) => {
            for (const phase of task.phases ?? []) {
              const ms =
                phase.endedAt && phase.startedAt
                  ? Date.parse(phase.endedAt) - Date.parse(phase.startedAt)
                  : NaN;
              ctx.out(`${phase.name.padEnd(18)} ${Number.isNaN(ms) ? '-' : `${(ms / 1000).toFixed(2)} s`}`);
            }
          },
        );
      },
    );

  site
    .command('clone')
    .description(
      'Clone a site: a backup of it deployed as a new site with its own database and user, on the same ' +
        'platform or another (the database updates run on the clone); the original is only read (starts a task)',
    )
    .argument('<domain>', 'the site to clone')
    .argument('<new-domain>', "the clone's domain, a lowercase DNS name")
    .option('--platform <name>', 'a verified platform for the clone (default: the same platform)')
    .option('--client <name>', "the client that owns the clone (default: the original's)")
    .option('--force', 'onto another platform: go ahead despite warnings (packages missing on it)')
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (
        domain: string,
        newDomain: string,
        options: WaitOptions & { platform?: string; client?: string; force?: boolean },
        command: Command,
      ) => {
        newDomainArgument(newDomain);
        await runTask(
          command,
          options,
          async (client) =>
            (
              await client.cloneSite(domain, {
                domain: newDomain,
                platform: options.platform,
                client: options.client,
                force: options.force === true,
              })
            ).task,
          () => ctx.out(`${newDomain} is a clone of ${domain}: http://${newDomain}/`),
        );
      },
    );

  site
    .command('rename')
    .description(
      'Rename a site: the same site and database under a new domain on its platform, after a short ' +
        'maintenance window; the old name then no longer serves it, or redirects with --redirect (starts a task)',
    )
    .argument('<domain>', 'the site to rename')
    .argument('<new-domain>', 'its new domain, a lowercase DNS name')
    .option('--redirect', 'keep the old name as a permanent (301) redirect to the new one')
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (
        domain: string,
        newDomain: string,
        options: WaitOptions & { redirect?: boolean },
        command: Command,
      ) => {
        newDomainArgument(newDomain);
        await runTask(
          command,
          options,
          (client) =>
            client.siteAction(domain, 'rename', {
              body: { domain: newDomain, redirect: options.redirect === true },
            }),
          () =>
            ctx.out(
              `${domain} is now ${newDomain}: http://${newDomain}/` +
                (options.redirect ? ` (http://${domain}/ redirects there)` : ''),
            ),
        );
      },
    );

  site
    .command('aliases')
    .description(
      "Write Drush site alias files (<name>.site.yml) for the operator's own drush, for one site or with --all " +
        "for every site (or a client's): the platform's docroot, the site's URI, the web server to ssh to and " +
        "the platform's drush. (A site's other domain names are another thing: berth site alias.)",
    )
    .argument('[domain]', 'the site (or --all)')
    .option(
      '--all',
      "every site, or with --client a client's, read 500 a page: a file per site (or --one-file); an existing " +
        "file is merged: only Berth's environment in it is replaced, its other environments and keys stay",
    )
    .option('--client <name>', "with --all: only this client's sites")
    .option(
      '--one-file <name>',
      'with --all: one file <name>.site.yml with an environment per site, named as its own file would be ' +
        '(drush @<name>.<site>)',
    )
    .option('--dir <dir>', 'where to write the files (default: ~/.drush/sites)')
    .option(
      '--name <name>',
      'one site: the alias name, used as @name (default: the domain with "-" for dots)',
    )
    .option('--environment <name>', 'the environment key in the file, used as @name.environment', 'live')
    .option('--user <user>', 'the ssh user on the web server (default: none, so ssh uses ~/.ssh/config)')
    .option('--host <host>', "one site: the web server's address for ssh (default: its server name in Berth)")
    .option('--local', 'the sites run on this machine: no host or user, drush runs the platform locally')
    .option('--force', 'one site: replace its file if it exists')
    .option(
      '--json',
      'print { path, name, alias, environment } as JSON (with --all, a list with each domain)',
    )
    .addHelpText(
      'after',
      [
        '',
        'Drush 9 and later reads alias files outside a project only from the directories listed in',
        'drush.paths.alias-path; add the directory once to ~/.drush/drush.yml:',
        '',
        '  drush:',
        '    paths:',
        '      alias-path:',
        "        - '${env.HOME}/.drush/sites'",
        '',
        'or pass it each time: drush --alias-path=DIR @name status. Then: drush @name status,',
        'drush @name uli, drush @name updatedb:status. A remote alias needs ssh access to the web server',
        "(as --user, or the user in your ~/.ssh/config) and runs the platform's own vendor/bin/drush there.",
        '',
        'With --all, a file that is there already must be YAML with a map at its top level: when one is not',
        '(or is a symlink), nothing at all is written and the command says which.',
      ].join('\n'),
    )
    .action(
      async (
        domain: string | undefined,
        options: {
          all?: boolean;
          client?: string;
          oneFile?: string;
          dir?: string;
          name?: string;
          environment: string;
          user?: string;
          host?: string;
          local?: boolean;
          force?: boolean;
          json?: boolean;
        },
        command: Command,
      ) => {
        const environmentName = checkAliasName('--environment', options.environment);
        if (options.local && (options.host !== undefined || options.user !== undefined)) {
          throw usageError('--local writes an alias without host and user; leave out --host and --user');
        }
        if (options.user !== undefined && !/^[a-z_][a-z0-9_.-]{0,31}$/.test(options.user)) {
          throw usageError(`--user "${options.user}" is not a valid user name`);
        }
        if (options.all) {
          if (domain !== undefined) throw usageError('name a site or give --all, not both');
          const oneSiteOnly = (['name', 'host', 'force'] as const).filter(
            (key) => options[key] !== undefined,
          );
          if (oneSiteOnly.length > 0) {
            throw usageError(
              `--${oneSiteOnly[0]} is for one site; --all names each file after its site and merges what is there`,
            );
          }
          if (options.oneFile !== undefined) {
            checkAliasName('--one-file', options.oneFile);
            if (command.getOptionValueSource('environment') === 'cli') {
              throw usageError(
                '--one-file makes each site an environment of its own: leave out --environment',
              );
            }
          }
          const result = await writeEveryAlias(ctx, await ctx.client(command), {
            ...options,
            environment: environmentName,
          });
          if (options.json) return ctx.printData(result.written);
          for (const path of new Set(result.written.map((item) => item.path))) ctx.out(path);
          if (result.deletedSkipped > 0) ctx.err(`${result.deletedSkipped} deleted sites get no alias.`);
          ctx.err(
            `${result.written.length} sites in ${result.files} alias files in ${result.directory} ` +
              `(${result.files - result.updated} new, ${result.updated} merged: their other environments kept).`,
          );
          const first = result.written[0];
          if (first)
            aliasHint(options.oneFile ? `${first.name}.${first.environment}` : first.name, result.directory);
          return;
        }
        if (domain === undefined) throw usageError('name a site, or give --all for every site');
        for (const withAll of ['client', 'oneFile'] as const) {
          if (options[withAll] !== undefined) {
            throw usageError(`--${withAll === 'oneFile' ? 'one-file' : withAll} goes with --all`);
          }
        }
        domainArgument(domain);
        const name = checkAliasName('--name', options.name ?? aliasNameForDomain(domain));
        if (options.host !== undefined) {
          const checked = validateHostname('--host', options.host);
          if (!checked.ok) throw usageError(checked.failure.message);
        }
        const written = await writeSiteAlias(await ctx.client(command), domain, {
          ...options,
          name,
          environment: environmentName,
        });
        if (options.json)
          return ctx.printData({
            path: written.path,
            name,
            environment: environmentName,
            alias: written.alias,
          });
        ctx.out(written.path);
        aliasHint(name, written.directory);
      },
    );

  site
    .command('backup-download')
    .description(
      "Download one of a site's backups from the master's store: its files (a .tar.gz) or, with --database, its " +
        'database dump (a gzipped SQL file); kept only when its sha256 is the one the store recorded',
    )
    .argument('<domain>', 'the domain')
    .requiredOption('--backup <id>', 'the backup (berth site backups DOMAIN)')
    .option('--database', 'the database dump instead of the files')
    .option('-o, --output <file>', "where to save it (default: the master's name for it, in this directory)")
    .option('--json', 'print { file, bytes, sha256 } as JSON')
    .action(
      async (
        domain: string,
        options: { backup: string; database?: boolean; output?: string; json?: boolean },
        command: Command,
      ) => {
        const saved = await downloadBackup(await ctx.client(command), {
          domain,
          backupId: options.backup,
          part: options.database ? 'database' : 'files',
          output: options.output,
        });
        if (options.json) return ctx.printData(saved);
        ctx.out(`Saved ${saved.file}: ${formatBytes(saved.bytes)}, sha256 ${saved.sha256} (checked)`);
      },
    );

  site
    .command('backup-delete')
    .description("Delete one of a site's backups from the master's store (starts a task)")
    .argument('<domain>', 'the domain')
    .requiredOption('--backup <id>', 'the backup to delete (berth site backups DOMAIN)')
    .option('-y, --yes', YES_HELP)
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (domain: string, options: WaitOptions & { backup: string; yes?: boolean }, command: Command) => {
        await ctx.confirm(`Delete backup ${options.backup} of ${domain} from the store, for good`, options);
        await runTask(command, options, (client) =>
          client.siteAction(domain, `backups/${encodeURIComponent(options.backup)}/delete`),
        );
      },
    );

  site
    .command('delete')
    .description(
      'Delete a site: a last backup, then its vhost, link, directory, database and user (starts a task). ' +
        'The site must be disabled first, unless --force',
    )
    .argument('<domain>', 'the domain')
    .option('--force', 'delete an enabled site too')
    .option('-y, --yes', YES_HELP)
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (domain: string, options: WaitOptions & { force?: boolean; yes?: boolean }, command: Command) => {
        await ctx.confirm(
          `Delete ${domain}: its vhost, directory, database and user (a last backup is kept)`,
          options,
        );
        await runTask(command, options, (client) =>
          client.siteAction(domain, 'delete', { force: options.force }),
        );
      },
    );
}

/** A backup's last restore test: "passed 2d ago", "FAILED 1h ago", or "-" when never tested. */
export function restoreTest(backup: Pick<Backup, 'verifiedAt' | 'verifyFailedAt'>, now: number): string {
  const passed = backup.verifiedAt ? Date.parse(backup.verifiedAt) : -Infinity;
  const failed = backup.verifyFailedAt ? Date.parse(backup.verifyFailedAt) : -Infinity;
  if (passed === -Infinity && failed === -Infinity) return '-';
  return failed > passed
    ? `FAILED ${formatRelative(backup.verifyFailedAt, now)}`
    : `passed ${formatRelative(backup.verifiedAt, now)}`;
}

/** "every 60 min (at 17 s past each period), last run 2 min ago: succeeded in 1.2 s". */
function cronText(cron: SiteCron, now: number): string {
  if (cron.everyMinutes === 0) return 'only when asked for (berth site cron DOMAIN)';
  const every = `every ${cron.everyMinutes} min (at ${cron.offsetSeconds} s into each period)`;
  const last = cron.lastRun;
  if (!last) return `${every}, not run yet`;
  const took = last.durationMs === null ? '' : ` in ${formatDuration(last.durationMs)}`;
  const failures = cron.failuresInARow > 0 ? `, ${cron.failuresInARow} failed in a row` : '';
  return `${every}, last run ${formatRelative(last.at, now)}: ${last.state}${took}${failures}`;
}

function siteHooksText(hooks: SiteDeployHooks): string {
  return `${formatHooks(hooks.effective)}${hooks.own === null ? " (its platform's)" : ''}`;
}
