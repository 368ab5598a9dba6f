import type { Command } from 'commander';
import { validateEnvironmentName, validateProjectName } from '../../../shared/src/environments.js';
import type { Project } from '../api-types.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { formatRelative } from '../output/format.js';
import { declareListFields } from '../output/output-options.js';
import { listFields } from '../output/structured.js';
import { renderTable } from '../output/table.js';
import { addPageOptions, type ListNoun, listRows, type PageOptions } from '../paging.js';
import { JSON_HELP, runTaskCommand, VERBOSE_HELP, WAIT_HELP, type TaskStartOptions } from '../task-wait.js';

const PROJECTS: ListNoun = { one: 'project', many: 'projects' };

const PROJECT_FIELDS = listFields<Project>(
  { id: true, name: true, client: true, sanitize: true, environments: true, createdAt: true },
  ['name', 'client', 'sanitize', 'createdAt'],
);

/**
 * Projects and environments (seed 000's dev/test/live): `berth project ...` groups sites as
 * environments in order, `berth env ...` adds them and moves data down and code up the list.
 */
export function registerProjectCommands(program: Command, ctx: CliContext): void {
  const project = program
    .command('project')
    .description(
      'Projects: sites grouped as environments (dev, test, live ...), code deployed up, data synced down',
    );

  project
    .command('add')
    .description('Add a project (then its environments with berth env add)')
    .argument('<name>', 'a-z, 0-9, - and _')
    .option('--client <name>', 'the client it belongs to (its environments are that client’s sites)')
    .option(
      '--sanitize <command>',
      "what scrubs a copy synced down: sql:sanitize (default) or your code's <namespace>:sanitize",
    )
    .option('--json', 'print the project as JSON')
    .action(
      async (
        name: string,
        options: { client?: string; sanitize?: string; json?: boolean },
        command: Command,
      ) => {
        projectArgument(name);
        const created = await (
          await ctx.client(command)
        ).createProject({
          name,
          ...(options.client !== undefined ? { client: options.client } : {}),
          ...(options.sanitize !== undefined ? { sanitize: options.sanitize } : {}),
        });
        if (options.json) return ctx.printData(created);
        ctx.out(
          `Project ${created.name} added. Add its environments with: berth env add ${created.name} ENV --site DOMAIN`,
        );
      },
    );

  const list = project
    .command('list')
    .description(
      'List projects with their environments, in name order, a page at a time (--limit, default 100; --all ' +
        "for every page), or those whose name contains a piece of text, or a client's",
    );
  addPageOptions(list, PROJECTS)
    .option('--search <text>', 'only projects whose name contains this')
    .option('--client <client>', "only this client's projects (its name or id; admin tokens)")
    .option('--json', 'print the projects as JSON')
    .action(
      async (
        options: PageOptions & { search?: string; client?: string; json?: boolean },
        command: Command,
      ) => {
        const filters = {
          ...(options.search ? { q: options.search } : {}),
          ...(options.client ? { client: options.client } : {}),
        };
        const api = await ctx.client(command);
        const projects = await listRows(
          ctx,
          options,
          PROJECTS,
          filters,
          { none: 'No projects yet. Add one with: berth project add NAME' },
          (page) => api.pageProjects({ ...page, ...filters }),
        );
        if (!projects) return;
        ctx.out(
          renderTable(
            [{ header: 'NAME' }, { header: 'CLIENT' }, { header: 'ENVIRONMENTS' }],
            projects.map((item) => [
              item.name,
              item.client ?? '-',
              item.environments.map((env) => env.name).join(' -> ') || '-',
            ]),
          ),
        );
      },
    );
  declareListFields(list, PROJECT_FIELDS);

  project
    .command('show')
    .description('Show a project: its environments side by side (site, platform, code, last sync)')
    .argument('<name>', 'the project')
    .option('--json', 'print the project as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const found = await (await ctx.client(command)).getProject(name);
      if (options.json) return ctx.printData(found);
      ctx.out(renderProject(found, ctx.now()));
    });

  project
    .command('sanitize')
    .description("Set what scrubs a copy synced down: sql:sanitize, or your code's own <namespace>:sanitize")
    .argument('<name>', 'the project')
    .argument('<command>', 'sql:sanitize or <namespace>:sanitize')
    .option('--json', 'print the project as JSON')
    .action(async (name: string, sanitize: string, options: { json?: boolean }, command: Command) => {
      const updated = await (await ctx.client(command)).setProjectSanitize(name, sanitize);
      if (options.json) return ctx.printData(updated);
      ctx.out(`Project ${updated.name}: a copy synced down is scrubbed with drush ${updated.sanitize}`);
    });

  project
    .command('delete')
    .description('Remove a project and its environments from the registry; their sites stay as they are')
    .argument('<name>', 'the project')
    .option('--json', 'print { removed } as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const removed = await (await ctx.client(command)).deleteProject(name);
      if (options.json) return ctx.printData(removed);
      ctx.out(`Project ${removed.removed} removed; its sites are untouched.`);
    });

  const env = program
    .command('env')
    .description("A project's environments: add them in order, sync data down, deploy code up");

  env
    .command('add')
    .description("Add a site as a project's next environment: at the end of the list, towards live")
    .argument('<project>', 'the project')
    .argument('<env>', 'dev, test, live or a name of yours')
    .requiredOption('--site <domain>', "the environment's site (in no other environment)")
    .option('--json', 'print the project as JSON')
    .action(
      async (name: string, envName: string, options: { site: string; json?: boolean }, command: Command) => {
        const checked = validateEnvironmentName('environment', envName);
        if (!checked.ok) throw usageError(checked.failure.message);
        const updated = await (
          await ctx.client(command)
        ).addEnvironment(name, { name: envName, site: options.site });
        if (options.json) return ctx.printData(updated);
        ctx.out(renderProject(updated, ctx.now()));
      },
    );

  env
    .command('remove')
    .description('Remove an environment from its project; its site stays')
    .argument('<project>', 'the project')
    .argument('<env>', 'the environment')
    .option('--json', 'print the project as JSON')
    .action(async (name: string, envName: string, options: { json?: boolean }, command: Command) => {
      const updated = await (await ctx.client(command)).removeEnvironment(name, envName);
      if (options.json) return ctx.printData(updated);
      ctx.out(renderProject(updated, ctx.now()));
    });

  env
    .command('sync')
    .description(
      "Copy an environment's database and files down into an earlier one, never up: the target backed up " +
        "first, the copy sanitized (the project's sanitize command), the target's updates and deploy hooks run; " +
        'a failure restores the target (starts a task)',
    )
    .argument('<project>', 'the project')
    .requiredOption('--from <env>', 'the environment to copy from (later in the list: live)')
    .requiredOption('--to <env>', 'the environment to copy into (earlier: test, dev)')
    .option('--db', 'copy the database (without --db or --files: both)')
    .option('--files', 'copy the files/ directory (without --db or --files: both)')
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (
        name: string,
        options: TaskStartOptions & { from: string; to: string; db?: boolean; files?: boolean },
        command: Command,
      ) => {
        const what =
          options.db || options.files ? { db: options.db === true, files: options.files === true } : {};
        await runTaskCommand(
          ctx,
          await ctx.client(command),
          options,
          (client) => client.syncEnvironments(name, { from: options.from, to: options.to, ...what }),
          (task) => {
            const result = task.result as { db: boolean; files: boolean } | null;
            const what = [result?.db ? 'database (sanitized)' : '', result?.files ? 'files' : ''].filter(
              Boolean,
            );
            ctx.out(`${options.to} of ${name} holds ${options.from}'s ${what.join(' and ')} now.`);
          },
        );
      },
    );

  env
    .command('deploy')
    .description(
      "Deploy a ref of an environment's site repository, up the list (a site deploy: rehearsed on a copy, " +
        'then a short window; a failure puts code and database back) (starts a task)',
    )
    .argument('<project>', 'the project')
    .requiredOption('--to <env>', 'the environment')
    .requiredOption('--ref <ref>', 'the branch, tag or commit')
    .option('--no-wait', WAIT_HELP)
    .option('--verbose', VERBOSE_HELP)
    .option('--json', JSON_HELP)
    .action(
      async (name: string, options: TaskStartOptions & { to: string; ref: string }, command: Command) => {
        await runTaskCommand(
          ctx,
          await ctx.client(command),
          options,
          (client) => client.deployEnvironment(name, { to: options.to, ref: options.ref }),
          () => ctx.out(`${options.to} of ${name} runs ${options.ref}.`),
        );
      },
    );
}

function projectArgument(name: string): void {
  const checked = validateProjectName('project name', name);
  if (!checked.ok) throw usageError(checked.failure.message);
}

/** A project's environments side by side, in order. */
function renderProject(project: Project, now: number): string {
  const header = `Project ${project.name}${project.client ? ` (client ${project.client})` : ''}; sanitize: ${project.sanitize}`;
  if (project.environments.length === 0)
    return `${header}\nNo environments yet: berth env add ${project.name} ENV --site DOMAIN`;
  return [
    header,
    renderTable(
      [
        { header: 'ENV' },
        { header: 'SITE' },
        { header: 'PLATFORM' },
        { header: 'CODE' },
        { header: 'LAST SYNC' },
      ],
      project.environments.map((env) => [
        env.name,
        env.site ? `${env.site} (${env.status ?? '-'})` : '(site gone)',
        env.platform ?? '-',
        env.code ? `${env.code.ref ?? '-'} ${env.code.commit?.slice(0, 12) ?? ''}`.trim() : '-',
        env.lastSync
          ? `${env.lastSync.state} from ${env.lastSync.from}, ${formatRelative(env.lastSync.at, now)}`
          : '-',
      ]),
    ),
  ].join('\n');
}
