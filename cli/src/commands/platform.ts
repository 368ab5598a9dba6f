import type { Command } from 'commander';
import { describeSource } from '../../../shared/src/platform-source.js';
import type { PlatformDiff, TaskResult } from '../../../shared/src/tasks.js';
import type { ApiClient } from '../api-client.js';
import type { PageQuery, Platform, PlatformListQuery, Task } from '../api-types.js';
import { validatePlatformName } from '../../../shared/src/validation.js';
import { YES_HELP, type CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { formatHooks, formatRelative } from '../output/format.js';
import { renderMigrateSummary } from '../output/migrate-summary.js';
import { renderFields, renderTable } from '../output/table.js';
import { positiveInteger } from '../parsers.js';
import { addPageOptions, type ListNoun, listRows, type PageOptions } from '../paging.js';
import { declareListFields } from '../output/output-options.js';
import { listFields } from '../output/structured.js';
import { readSecretFile } from '../secret-file.js';
import { runTaskCommand, VERBOSE_HELP } from '../task-wait.js';
import { describeDeployHooks } from '../../../shared/src/deploy-hooks.js';

const PLATFORMS: ListNoun = { one: 'platform', many: 'platforms' };

const PLATFORM_FIELDS = listFields<Platform>(
  {
    id: true,
    name: true,
    serverId: true,
    serverName: true,
    cluster: true,
    path: true,
    docroot: true,
    coreVersion: true,
    status: true,
    locked: true,
    verifiedAt: true,
    createdAt: true,
    source: true,
    commit: true,
    deployKey: true,
    deployHooks: true,
  },
  ['name', 'serverName', 'coreVersion', 'status', 'locked', 'verifiedAt'],
);

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
        await runTaskCommand(ctx, await ctx.client(command), options, async (client) => {
          const created = await client.createPlatform({
            name,
            ...(options.server === undefined ? {} : { server: options.server }),
            ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
            path: options.path,
          });
          return created.task;
        });
      },
    );

  platform
    .command('build')
    .description(
      'Build a platform from a git repository or a Composer project: cloned at a branch, tag or commit ' +
        '(the commit recorded), composer install --no-dev when it has a composer.json, then verified; on a ' +
        'cluster built on its first head and copied to the others; or copy a built platform to another server ' +
        '(--from-platform). A failed build leaves nothing (starts a task)',
    )
    .argument(
      '<name>',
      'platform name: lowercase letters, digits, "-" or "_"; built at <agent root>/platforms/<name>',
    )
    .option('--git <url>', 'the repository: https://, ssh://, user@host:path or a path on the server')
    .option('--ref <ref>', "with --git: the branch, tag or commit (default: the repository's default branch)")
    .option(
      '--composer-project <package:version>',
      'instead of --git: composer create-project, e.g. drupal/recommended-project:^10.3',
    )
    .option(
      '--composer-repository <url>',
      'with --composer-project: a Composer repository instead of Packagist',
    )
    .option(
      '--from-platform <name>',
      'instead of --git or --composer-project: a platform Berth built, copied to --server under the new name',
    )
    .option('--server <name>', 'the web server that builds and holds it')
    .option(
      '--cluster <name>',
      'instead of --server: the cluster (built on its first head, copied to every other)',
    )
    .option(
      '--deploy-key-file <file>',
      'an SSH private key (no passphrase) the repository is read with; stored encrypted, never shown',
    )
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(
      async (
        name: string,
        options: {
          git?: string;
          ref?: string;
          composerProject?: string;
          composerRepository?: string;
          fromPlatform?: string;
          server?: string;
          cluster?: string;
          deployKeyFile?: string;
          wait: boolean;
          json?: boolean;
        },
        command: Command,
      ) => {
        const checked = validatePlatformName('platform name', name);
        if (!checked.ok) throw usageError(checked.failure.message);
        const sources = [options.git, options.composerProject, options.fromPlatform].filter(
          (given) => given !== undefined,
        );
        if (sources.length !== 1) {
          throw usageError(
            'say what to build from: --git URL, --composer-project PACKAGE:VERSION or --from-platform NAME (one of them)',
          );
        }
        if ((options.server === undefined) === (options.cluster === undefined)) {
          throw usageError('say where to build it: --server or --cluster (one of them)');
        }
        if (options.ref !== undefined && options.git === undefined) throw usageError('--ref goes with --git');
        const deployKey =
          options.deployKeyFile === undefined
            ? undefined
            : await readSecretFile(options.deployKeyFile, 'deploy key', true);
        const start = async (client: ApiClient) => {
          const created = await client.buildPlatform({
            name,
            ...(options.server === undefined ? {} : { server: options.server }),
            ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
            ...(options.git === undefined
              ? {}
              : { git: { url: options.git, ...(options.ref === undefined ? {} : { ref: options.ref }) } }),
            ...(options.composerProject === undefined ? {} : { composerProject: options.composerProject }),
            ...(options.composerRepository === undefined
              ? {}
              : { composerRepository: options.composerRepository }),
            ...(deployKey === undefined ? {} : { deployKey }),
            ...(options.fromPlatform === undefined ? {} : { fromPlatform: options.fromPlatform }),
          });
          return created.task;
        };
        await runTaskCommand(ctx, await ctx.client(command), options, start, (task) =>
          ctx.out(builtText(task)),
        );
      },
    );

  platform
    .command('pull')
    .description(
      "Move a git platform's checkout to another ref in place and verify it again. Only for a platform " +
        'without sites: code never changes under a live site; for one with sites, `berth platform update` ' +
        'builds the new code as a new platform and moves them (starts a task)',
    )
    .argument('<name>', 'platform name or id')
    .option('--ref <ref>', 'the branch, tag or commit (default: the one it was built from)')
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(
      async (name: string, options: { ref?: string; wait: boolean; json?: boolean }, command: Command) => {
        await runTaskCommand(
          ctx,
          await ctx.client(command),
          options,
          (client) =>
            client.platformTask(name, 'pull', options.ref === undefined ? {} : { ref: options.ref }),
          (task) => ctx.out(builtText(task)),
        );
      },
    );

  platform
    .command('update')
    .description(
      'The leap-frog: build the same source at another ref as a new platform, move every site to it with ' +
        'its own rehearsal and short offline window, then lock the old platform (starts a task)',
    )
    .argument('<name>', 'the platform the sites are on (built by berth platform build)')
    .requiredOption('--ref <ref>', 'the branch, tag or commit to build (a Composer project: the version)')
    .option('--as <new>', "the new platform's name (default: <name>-<ref>)")
    .option('--retire', 'remove the old platform (registry and codebase) once every site moved')
    .option('--concurrency <n>', 'how many site migrates run at once (default: 2)', positiveInteger)
    .option('--force', 'go ahead for sites whose compatibility check has warnings')
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(
      async (
        name: string,
        options: {
          ref: string;
          as?: string;
          retire?: boolean;
          concurrency?: number;
          force?: boolean;
          wait: boolean;
          json?: boolean;
        },
        command: Command,
      ) => {
        const start = async (client: ApiClient) => {
          const created = await client.updatePlatform(name, {
            ref: options.ref,
            ...(options.as === undefined ? {} : { as: options.as }),
            ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
            force: options.force === true,
            retire: options.retire === true,
          });
          ctx.err(`Building ${created.platform.name}, then moving the sites of ${name} to it.`);
          return created.task;
        };
        await runTaskCommand(ctx, await ctx.client(command), options, start, (task) => {
          const result = task.result as TaskResult<'platform.update'> | null;
          if (!result) return;
          ctx.out(
            `built ${result.built.platform} at ${result.built.commit ?? '-'} (core ${result.built.coreVersion ?? '-'})`,
          );
          if (result.upgrade) ctx.out(renderMigrateSummary(task, result.upgrade));
          ctx.out(`${name} locked${result.retired ? ' and retired' : ''}`);
        });
      },
    );

  platform
    .command('diff')
    .description(
      'What moving from one platform to another brings: the packages whose version or schema differ, and the ' +
        'commits between the two when both were built from one repository (starts a task)',
    )
    .argument('<from>', 'platform name or id')
    .argument('<to>', 'platform name or id')
    .option('--json', 'print the task as JSON')
    .action(async (from: string, to: string, options: { json?: boolean }, command: Command) => {
      await runTaskCommand(
        ctx,
        await ctx.client(command),
        { wait: true, ...options },
        (client) => client.platformTask(from, 'diff', { to }),
        (task) => ctx.out(renderDiff(task.result as PlatformDiff)),
      );
    });

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
      await runTaskCommand(ctx, await ctx.client(command), options, (client) => client.verifyPlatform(name));
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
      if (options.json) return ctx.printData(locked);
      ctx.out(
        `Platform ${locked.name} is locked: it takes no new sites. Undo with: berth platform unlock ${locked.name}`,
      );
    });

  platform
    .command('hooks')
    .description(
      "Set a platform's deploy hooks: run in order, after the database updates, on each site that comes " +
        `onto it (a migrate, a platform update) unless the site has its own. Hooks: ${describeDeployHooks()}`,
    )
    .argument('<name>', 'platform name or id')
    .argument('[hooks...]', 'the hooks in order (none: the updates only)')
    .option('--json', 'print the platform as JSON')
    .action(async (name: string, hooks: string[], options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const updated = await client.setPlatformHooks(name, hooks);
      if (options.json) return ctx.printData(updated);
      ctx.out(`Platform ${updated.name}: ${formatHooks(updated.deployHooks)}`);
    });

  platform
    .command('unlock')
    .description('Unlock a platform: it takes new sites again')
    .argument('<name>', 'platform name or id')
    .option('--json', 'print the platform as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const unlocked = await client.unlockPlatform(name);
      if (options.json) return ctx.printData(unlocked);
      ctx.out(`Platform ${unlocked.name} is unlocked: it takes new sites.`);
    });

  platform
    .command('delete')
    .description(
      'Remove a platform from the registry, with its recorded packages. Refused while sites are on it ' +
        '(migrate or delete them first). The codebase on the server is not touched: remove it there yourself',
    )
    .argument('<name>', 'platform name or id')
    .option('-y, --yes', YES_HELP)
    .option('--json', 'print { deleted: the platform as it was, message } as JSON')
    .action(async (name: string, options: { json?: boolean; yes?: boolean }, command: Command) => {
      await ctx.confirm(`Remove platform ${name} from the registry, with its recorded packages`, options);
      const client = await ctx.client(command);
      const result = await client.deletePlatform(name);
      if (options.json) return ctx.printData(result);
      ctx.out(`Platform ${result.deleted.name} deleted from the registry.`);
      ctx.out(
        `Its codebase is still at ${result.deleted.path} on ${result.deleted.serverName}: remove it there if you no longer need it.`,
      );
    });

  const list = platform
    .command('list')
    .description(
      'List platforms in name order, a page at a time (--limit, default 100; --all for every page), filtered by ' +
        'server, status or a piece of the name',
    );
  addPageOptions(list, PLATFORMS)
    .option('--server <name>', 'only platforms on this server (its name or id)')
    .option('--status <status>', 'only platforms in this state (e.g. verified, failed, building)')
    .option('--search <text>', 'only platforms whose name contains this')
    .option('--json', 'print the platforms as JSON')
    .action(
      async (
        options: PageOptions & { server?: string; status?: string; search?: string; json?: boolean },
        command: Command,
      ) => {
        const filters: Omit<PlatformListQuery, keyof PageQuery> = {
          ...(options.server ? { server: options.server } : {}),
          ...(options.status ? { status: options.status } : {}),
          ...(options.search ? { q: options.search } : {}),
        };
        const client = await ctx.client(command);
        const platforms = await listRows(
          ctx,
          options,
          PLATFORMS,
          filters,
          { none: 'No platforms yet. Add one with: berth platform add NAME --server SERVER' },
          (page) => client.pagePlatforms({ ...page, ...filters }),
        );
        if (!platforms) return;
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
      },
    );
  declareListFields(list, PLATFORM_FIELDS);

  platform
    .command('show')
    .description('Show a platform with its packages and schema versions')
    .argument('<name>', 'platform name or id')
    .option('--json', 'print the platform as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const found = await client.getPlatform(name);
      if (options.json) return ctx.printData(found);
      ctx.out(
        renderFields([
          ['name', found.name],
          ['server', found.serverName],
          ['path', found.path],
          ['core', found.coreVersion ?? '-'],
          ['status', found.locked ? `${found.status} (locked)` : found.status],
          ['verified', formatRelative(found.verifiedAt, ctx.now())],
          ...(found.source
            ? ([
                ['source', describeSource(found.source)],
                ['commit', found.commit ?? '-'],
                ['deploy key', found.deployKey ? 'stored (encrypted)' : 'none'],
              ] as Array<[string, string]>)
            : []),
          ['deploy hooks', formatHooks(found.deployHooks)],
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

/** "built d103 at <commit>: core 10.3.0, 12 packages". */
function builtText(task: Task): string {
  const result = task.result as TaskResult<'platform.build'> | null;
  if (!result) return '';
  return `built ${task.targetName} at ${result.commit ?? '(no commit: a Composer project)'}: core ${result.coreVersion ?? '-'}, ${result.packages} packages`;
}

/** The packages that differ, then the commits between (or why there are none to list). */
function renderDiff(diff: PlatformDiff): string {
  const lines = [`${diff.from} -> ${diff.to}`, ''];
  if (diff.packages.length === 0) lines.push('The same packages, versions and schema versions.');
  else {
    const shown = (side: PlatformDiff['packages'][number]['from']) =>
      side ? `${side.version ?? '-'} (schema ${side.schema})` : 'absent';
    lines.push(
      renderTable(
        [{ header: 'PACKAGE' }, { header: diff.from }, { header: diff.to }],
        diff.packages.map((row) => [row.name, shown(row.from), shown(row.to)]),
      ),
    );
  }
  lines.push('');
  if (!diff.commits) lines.push('Commits: not both built from one repository.');
  else if (diff.commits.list.length === 0) lines.push('Commits: none between them.');
  else {
    lines.push(`Commits (${diff.commits.list.length}${diff.commits.truncated ? '+' : ''}):`);
    for (const commit of diff.commits.list) lines.push(`  ${commit.sha.slice(0, 12)} ${commit.subject}`);
  }
  return lines.join('\n');
}
