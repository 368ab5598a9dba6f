import { Option, type Command } from 'commander';
import { SERVER_ROLES, type ServerRole } from '../../../shared/src/server-roles.js';
import { validateHostname } from '../../../shared/src/validation.js';
import type { Enrollment, PageQuery, Server, ServerListQuery } from '../api-types.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { formatRelative } from '../output/format.js';
import { renderMigrateSummary } from '../output/migrate-summary.js';
import { indent, renderFields, renderTable } from '../output/table.js';
import { positiveInteger } from '../parsers.js';
import { addPageOptions, type ListNoun, listRows, type PageOptions } from '../paging.js';
import { declareListFields } from '../output/output-options.js';
import { listFields } from '../output/structured.js';
import { runTaskCommand, VERBOSE_HELP } from '../task-wait.js';

const MIB = 1024 * 1024;
const DEFAULT_TRANSFER_MB = 64;

const SERVERS: ListNoun = { one: 'server', many: 'servers' };

const SERVER_FIELDS = listFields<Server>(
  {
    id: true,
    name: true,
    slots: true,
    slotsBusy: true,
    services: true,
    roles: true,
    address: true,
    connected: true,
    agentVersion: true,
    hostname: true,
    timeZone: true,
    enrolledAt: true,
    lastSeenAt: true,
    verifiedAt: true,
    createdAt: true,
  },
  ['name', 'connected', 'roles', 'address', 'slotsBusy', 'slots', 'agentVersion', 'lastSeenAt', 'verifiedAt'],
);

interface ServerListOptions extends PageOptions {
  role?: ServerRole;
  connected?: boolean;
  disconnected?: boolean;
  search?: string;
  json?: boolean;
}

export function registerServerCommands(program: Command, ctx: CliContext): void {
  const server = program
    .command('server')
    .description('Servers: hosts that run `berth agent` and offer http and db services');

  server
    .command('add')
    .description('Register a server and print the one-time token and command to enroll its agent')
    .argument('<name>', 'server name: a lowercase DNS name, e.g. web1 or db1.example.org')
    .option('--slots <n>', 'how many steps the server runs at once (default: 1)', positiveInteger)
    .option('--json', 'print the server and enrollment as JSON')
    .action(async (name: string, options: { slots?: number; json?: boolean }, command: Command) => {
      const checked = validateHostname('server name', name);
      if (!checked.ok) throw usageError(checked.failure.message);
      const client = await ctx.client(command);
      const created = await client.createServer({ name, slots: options.slots });
      if (options.json) return ctx.printData(created);
      ctx.out(
        `Server ${created.server.name} added (id ${created.server.id}, ${plural(created.server.slots, 'slot')}).`,
      );
      ctx.out();
      printEnrollment(ctx, created.server.name, created.enrollment);
    });

  const list = server
    .command('list')
    .description(
      'List servers in name order with their roles (http, db), address, agent connection, slots and services, ' +
        'a page at a time (--limit, default 100; --all for every page), filtered by role, connection or name',
    );
  addPageOptions(list, SERVERS)
    .addOption(new Option('--role <role>', 'only servers with this role').choices(SERVER_ROLES))
    .option('--connected', 'only servers whose agent is connected now')
    .option('--disconnected', 'only servers whose agent is not connected')
    .option('--search <text>', 'only servers whose name contains this')
    .option('--json', 'print the servers as JSON')
    .action(async (options: ServerListOptions, command: Command) => {
      if (options.connected && options.disconnected) {
        throw usageError('--connected and --disconnected exclude each other: give one of them');
      }
      const filters: Omit<ServerListQuery, keyof PageQuery> = {
        ...(options.role ? { role: options.role } : {}),
        ...(options.connected ? { connected: 'true' } : {}),
        ...(options.disconnected ? { connected: 'false' } : {}),
        ...(options.search ? { q: options.search } : {}),
      };
      const client = await ctx.client(command);
      const servers = await listRows(
        ctx,
        options,
        SERVERS,
        filters,
        { none: 'No servers yet. Add one with: berth server add NAME' },
        (page) => client.pageServers({ ...page, ...filters }),
      );
      if (!servers) return;
      const now = ctx.now();
      ctx.out(
        renderTable(
          [
            { header: 'NAME' },
            { header: 'STATUS' },
            { header: 'ROLES' },
            { header: 'ADDRESS' },
            { header: 'SLOTS', align: 'right' },
            { header: 'SERVICES' },
            { header: 'AGENT' },
            { header: 'LAST SEEN' },
            { header: 'VERIFIED' },
          ],
          servers.map((item) => [
            item.name,
            serverStatus(item),
            item.roles.join(',') || '-',
            item.address ?? '-',
            `${item.slotsBusy}/${item.slots}`,
            item.services.map((service) => `${service.kind}:${service.name}`).join(',') || '-',
            item.agentVersion ?? '-',
            item.connected ? 'now' : formatRelative(item.lastSeenAt, now),
            formatRelative(item.verifiedAt, now),
          ]),
        ),
      );
    });
  declareListFields(list, SERVER_FIELDS);

  server
    .command('show')
    .description('Show one server: agent, slots and the services found by its last verify')
    .argument('<name>', 'server name or id')
    .option('--json', 'print the server as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const item = await client.getServer(name);
      if (options.json) return ctx.printData(item);
      printServer(ctx, item);
    });

  server
    .command('verify')
    .description('Probe the server through its agent and record its services (starts a task)')
    .argument('<name>', 'server name or id')
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(async (name: string, options: { wait: boolean; json?: boolean }, command: Command) => {
      await runTaskCommand(ctx, await ctx.client(command), options, (client) => client.verifyServer(name));
    });

  server
    .command('drain')
    .description(
      'Move every site off a server: each site with its platform there to a platform on another web server, ' +
        'each database there to another db server, one migrate each (rehearsal, short window); a site that ' +
        'fails stays where it was (starts a task)',
    )
    .argument('<server>', 'the server to empty')
    .option(
      '--to <server>',
      'move everything to this server (default: each site to the other server it fits best)',
    )
    .option('--concurrency <n>', 'how many site migrates run at once (default: 2)', positiveInteger)
    .option('--force', 'go ahead for sites whose compatibility check has warnings')
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(
      async (
        name: string,
        options: { to?: string; concurrency?: number; force?: boolean; wait: boolean; json?: boolean },
        command: Command,
      ) => {
        await runTaskCommand(
          ctx,
          await ctx.client(command),
          options,
          (client) =>
            client.drainServer(name, {
              ...(options.to === undefined ? {} : { to: options.to }),
              concurrency: options.concurrency,
              force: options.force === true,
            }),
          (task) => ctx.out(renderMigrateSummary(task)),
        );
      },
    );

  server
    .command('enroll-token')
    .description("Make a new one-time enrollment token, to (re-)enroll the server's agent")
    .argument('<name>', 'server name or id')
    .option('--json', 'print the token, its expiry and the agent command as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const enrollment = await client.createEnrollmentToken(name);
      if (options.json) return ctx.printData(enrollment);
      printEnrollment(ctx, name, enrollment);
    });

  server
    .command('transfer-check')
    .description(
      'Stream test data between the master and the server and check it arrives intact (starts a task)',
    )
    .argument('<name>', 'server name or id')
    .option('--mb <n>', `how much data to send, in MiB (default: ${DEFAULT_TRANSFER_MB})`, positiveInteger)
    .option('--no-wait', 'print the task id and return at once instead of following the task')
    .option('--verbose', VERBOSE_HELP)
    .option('--json', 'print the task as JSON (the final task unless --no-wait)')
    .action(
      async (name: string, options: { mb?: number; wait: boolean; json?: boolean }, command: Command) => {
        const bytes = (options.mb ?? DEFAULT_TRANSFER_MB) * MIB;
        await runTaskCommand(ctx, await ctx.client(command), options, (client) =>
          client.createTask({ type: 'server.transfer-check', server: name, params: { bytes } }),
        );
      },
    );
}

function serverStatus(server: Server): string {
  if (server.connected) return 'connected';
  return server.enrolledAt ? 'offline' : 'not enrolled';
}

function printEnrollment(ctx: CliContext, name: string, enrollment: Enrollment): void {
  const expires = formatRelative(enrollment.expiresAt, ctx.now());
  ctx.out(`One-time enrollment token (expires ${expires}, at ${enrollment.expiresAt}):`);
  ctx.out(`  ${enrollment.token}`);
  ctx.out();
  ctx.out(`On ${name}, start the agent with:`);
  ctx.out(`  ${enrollment.agentCommand}`);
  ctx.out();
  ctx.out('The token works once. Keep it out of shell history and `ps`: pass it in BERTH_AGENT_TOKEN');
  ctx.out('or with --token-file. If it expires, make a new one with: berth server enroll-token ' + name);
}

function printServer(ctx: CliContext, server: Server): void {
  const now = ctx.now();
  const when = (iso: string | null): string => (iso ? `${formatRelative(iso, now)} (${iso})` : '-');
  ctx.out(
    renderFields([
      ['Name', server.name],
      ['ID', server.id],
      ['Status', serverStatus(server)],
      ['Hostname', server.hostname ?? '-'],
      [
        'Roles',
        server.roles.length > 0 ? server.roles.join(', ') : 'none (no web or database service runs there)',
      ],
      ['Address', server.address ?? 'not known yet (its agent reports it when it connects)'],
      ['Agent', server.agentVersion ?? '-'],
      ['Slots', `${server.slotsBusy} busy of ${server.slots}`],
      ['Enrolled', when(server.enrolledAt)],
      ['Last seen', server.connected ? 'connected now' : when(server.lastSeenAt)],
      ['Verified', when(server.verifiedAt)],
      ['Created', when(server.createdAt)],
    ]),
  );
  ctx.out();
  if (server.services.length === 0) {
    ctx.out(
      server.verifiedAt
        ? 'Services: none found.'
        : `Services: not known yet; run: berth server verify ${server.name}`,
    );
  } else {
    ctx.out('Services:');
    ctx.out(
      indent(
        renderTable(
          [
            { header: 'KIND' },
            { header: 'NAME' },
            { header: 'VERSION' },
            { header: 'RUNNING' },
            { header: 'PATH' },
          ],
          server.services.map((service) => [
            service.kind,
            service.name,
            service.version ?? '-',
            service.running ? 'yes' : 'no',
            service.path ?? '-',
          ]),
        ),
      ),
    );
  }
  if (!server.enrolledAt) {
    ctx.out();
    ctx.out(`No agent has enrolled yet. Make a new token with: berth server enroll-token ${server.name}`);
  }
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
