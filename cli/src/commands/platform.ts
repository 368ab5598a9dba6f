import type { Command } from 'commander';
import { validatePlatformName } from '../../../shared/src/validation.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { formatRelative } from '../output/format.js';
import { renderMigrateSummary } from '../output/migrate-summary.js';
import { renderFields, renderTable } from '../output/table.js';
import { positiveInteger } from '../parsers.js';
import { finishTaskCommand, runTaskCommand, VERBOSE_HELP } from '../task-wait.js';

export function registerPlatformCommands(program: Command, ctx: CliContext): void {
  const platform = program
    .command('platform')
    .description('Platforms: Drupal codebases on a web server, with their packages and schema versions');

  platform
    .command('add')
    .description('Register a platform and verify it (a static scan of its packages; starts a task)')
    .argument(
      '<name>',
      'platform name: lowercase letters, digits, "-" or "_"; the codebase is <agent root>/platforms/<name>',
    )
    .option('--server <name>', 'the web server that holds the codebase')
    .option(
      '--cluster <name>',
      'instead of --server: the cluster whose every head holds it at the same path (refused unless they hash the same)',
    )
    .option(
      '--path <path>',
      'absolute path of the codebase on the server, for the record (<root>/platforms/<name>)',
    )
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(
      async (
        name: string,
        options: { server?: string; cluster?: string; path?: string; wait: boolean; json?: boolean },
        command: Command,
      ) => {
        const checked = validatePlatformName('platform name', name);
        if (!checked.ok) throw usageError(checked.failure.message);
        if ((options.server === undefined) === (options.cluster === undefined)) {
          throw usageError('say where the codebase is: --server or --cluster (one of them)');
        }
        const client = await ctx.client(command);
        const created = await client.createPlatform({
          name,
          ...(options.server === undefined ? {} : { server: options.server }),
          ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
          path: options.path,
        });
        ctx.exitCode = await finishTaskCommand(ctx, client, created.task, options);
      },
    );

  platform
    .command('migrate-sites')
    .description(
      'Platform upgrade: move every site of a platform to another, each with its own rehearsal and short ' +
        'offline window; a site that fails stays where it was (starts a task)',
    )
    .argument('<from>', 'the platform the sites are on')
    .requiredOption('--to <name>', 'the platform to move them to')
    .option('--concurrency <n>', 'how many site migrates run at once (default: 2)', positiveInteger)
    .option('--force', 'go ahead for sites whose compatibility check has warnings')
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(
      async (
        from: string,
        options: { to: string; concurrency?: number; force?: boolean; wait: boolean; json?: boolean },
        command: Command,
      ) => {
        await runTaskCommand(
          ctx,
          await ctx.client(command),
          options,
          (client) =>
            client.migrateSites(from, {
              to: options.to,
              concurrency: options.concurrency,
              force: options.force === true,
            }),
          (task) => ctx.out(renderMigrateSummary(task)),
        );
      },
    );

  platform
    .command('verify')
    .description('Rescan a platform into packages and schema versions (starts a task)')
    .argument('<name>', 'platform name or id')
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(async (name: string, options: { wait: boolean; json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      ctx.exitCode = await finishTaskCommand(ctx, client, await client.verifyPlatform(name), options);
    });

  platform
    .command('lock')
    .description(
      'Lock a platform: it takes no new sites (installs are refused); the sites on it stay and keep working',
    )
    .argument('<name>', 'platform name or id')
    .option('--json', 'print the platform as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const locked = await client.lockPlatform(name);
      if (options.json) return ctx.json(locked);
      ctx.out(
        `Platform ${locked.name} is locked: it takes no new sites. Undo with: berth platform unlock ${locked.name}`,
      );
    });

  platform
    .command('unlock')
    .description('Unlock a platform: it takes new sites again')
    .argument('<name>', 'platform name or id')
    .option('--json', 'print the platform as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const unlocked = await client.unlockPlatform(name);
      if (options.json) return ctx.json(unlocked);
      ctx.out(`Platform ${unlocked.name} is unlocked: it takes new sites.`);
    });

  platform
    .command('delete')
    .description(
      'Remove a platform from the registry, with its recorded packages. Refused while sites are on it ' +
        '(migrate or delete them first). The codebase on the server is not touched: remove it there yourself',
    )
    .argument('<name>', 'platform name or id')
    .option('--json', 'print { deleted: the platform as it was, message } as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const result = await client.deletePlatform(name);
      if (options.json) return ctx.json(result);
      ctx.out(`Platform ${result.deleted.name} deleted from the registry.`);
      ctx.out(
        `Its codebase is still at ${result.deleted.path} on ${result.deleted.serverName}: remove it there if you no longer need it.`,
      );
    });

  platform
    .command('list')
    .description('List platforms')
    .option('--json', 'print the platforms as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const platforms = await client.listPlatforms();
      if (options.json) return ctx.json(platforms);
      if (platforms.length === 0) {
        ctx.out('No platforms yet. Add one with: berth platform add NAME --server SERVER');
        return;
      }
      const now = ctx.now();
      ctx.out(
        renderTable(
          [
            { header: 'NAME' },
            { header: 'SERVER' },
            { header: 'CORE' },
            { header: 'STATUS' },
            { header: 'VERIFIED' },
          ],
          platforms.map((item) => [
            item.name,
            item.serverName,
            item.coreVersion ?? '-',
            item.locked ? `${item.status} (locked)` : item.status,
            formatRelative(item.verifiedAt, now),
          ]),
        ),
      );
    });

  platform
    .command('show')
    .description('Show a platform with its packages and schema versions')
    .argument('<name>', 'platform name or id')
    .option('--json', 'print the platform as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const found = await client.getPlatform(name);
      if (options.json) return ctx.json(found);
      ctx.out(
        renderFields([
          ['name', found.name],
          ['server', found.serverName],
          ['path', found.path],
          ['core', found.coreVersion ?? '-'],
          ['status', found.locked ? `${found.status} (locked)` : found.status],
          ['verified', formatRelative(found.verifiedAt, ctx.now())],
        ]),
      );
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
    });
}
