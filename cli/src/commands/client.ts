import type { Command } from 'commander';
import { validateName } from '../../../shared/src/validation.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { renderTable } from '../output/table.js';

export function registerClientCommands(program: Command, ctx: CliContext): void {
  const client = program.command('client').description('Clients: the owners of sites');

  client
    .command('add')
    .description('Add a client')
    .argument('<name>', 'short name: lowercase letters, digits, "-" or "_", starting with a letter')
    .option('--email <address>', 'contact address')
    .option('--json', 'print the client as JSON')
    .action(async (name: string, options: { email?: string; json?: boolean }, command: Command) => {
      const checked = validateName('client name', name);
      if (!checked.ok) throw usageError(checked.failure.message);
      const api = await ctx.client(command);
      const created = await api.createClient({ name, email: options.email });
      if (options.json) return ctx.json(created);
      ctx.out(`Client ${created.name} added (id ${created.id}).`);
    });

  client
    .command('list')
    .description('List clients')
    .option('--json', 'print the clients as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const api = await ctx.client(command);
      const clients = await api.listClients();
      if (options.json) return ctx.json(clients);
      if (clients.length === 0) {
        ctx.out('No clients yet. Add one with: berth client add NAME');
        return;
      }
      ctx.out(
        renderTable(
          [{ header: 'NAME' }, { header: 'EMAIL' }, { header: 'ADDED' }],
          clients.map((item) => [item.name, item.email ?? '-', item.createdAt.slice(0, 10)]),
        ),
      );
    });

  client
    .command('token')
    .description("Issue an API token for a client: it sees only the client's sites (shown once)")
    .argument('<name>', 'the client')
    .option('--json', 'print { client, name, token } as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const api = await ctx.client(command);
      const issued = await api.issueClientToken(name);
      if (options.json) return ctx.json(issued);
      ctx.out(issued.token);
    });
}
