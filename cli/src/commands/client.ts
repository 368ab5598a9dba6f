import type { Command } from 'commander';
import { validateName } from '../../../shared/src/validation.js';
import type { Client } from '../api-types.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { renderTable } from '../output/table.js';
import { declareListFields } from '../output/output-options.js';
import { listFields } from '../output/structured.js';
import { addPageOptions, type ListNoun, listRows, type PageOptions } from '../paging.js';

const CLIENTS: ListNoun = { one: 'client', many: 'clients' };

const CLIENT_FIELDS = listFields<Client>({ id: true, name: true, email: true, createdAt: true }, [
  'name',
  'email',
  'createdAt',
]);

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
      if (options.json) return ctx.printData(created);
      ctx.out(`Client ${created.name} added (id ${created.id}).`);
    });

  const list = client
    .command('list')
    .description(
      'List clients in name order, a page at a time (--limit, default 100; --all for every page), or those ' +
        'whose name contains a piece of text',
    );
  addPageOptions(list, CLIENTS)
    .option('--search <text>', 'only clients whose name contains this')
    .option('--json', 'print the clients as JSON')
    .action(async (options: PageOptions & { search?: string; json?: boolean }, command: Command) => {
      const filters = options.search ? { q: options.search } : {};
      const api = await ctx.client(command);
      const clients = await listRows(
        ctx,
        options,
        CLIENTS,
        filters,
        { none: 'No clients yet. Add one with: berth client add NAME' },
        (page) => api.pageClients({ ...page, ...filters }),
      );
      if (!clients) return;
      ctx.out(
        renderTable(
          [{ header: 'NAME' }, { header: 'EMAIL' }, { header: 'ADDED' }],
          clients.map((item) => [item.name, item.email ?? '-', item.createdAt.slice(0, 10)]),
        ),
      );
    });
  declareListFields(list, CLIENT_FIELDS);

  client
    .command('token')
    .description("Issue an API token for a client: it sees only the client's sites (shown once)")
    .argument('<name>', 'the client')
    .option('--json', 'print { client, name, token } as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const api = await ctx.client(command);
      const issued = await api.issueClientToken(name);
      if (options.json) return ctx.printData(issued);
      ctx.out(issued.token);
    });
}
