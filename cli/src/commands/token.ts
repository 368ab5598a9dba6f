import type { Command } from 'commander';
import type { ApiToken } from '../api-types.js';
import type { CliContext } from '../context.js';
import { declareListFields } from '../output/output-options.js';
import { listFields } from '../output/structured.js';
import { renderTable } from '../output/table.js';
import { addPageOptions, type ListNoun, listRows, type PageOptions } from '../paging.js';

const TOKENS: ListNoun = { one: 'token', many: 'tokens' };

const TOKEN_FIELDS = listFields<ApiToken>(
  { id: true, name: true, role: true, client: true, createdAt: true, lastUsedAt: true, revokedAt: true },
  ['id', 'name', 'role', 'client', 'createdAt', 'lastUsedAt', 'revokedAt'],
);

export function registerTokenCommands(program: Command, ctx: CliContext): void {
  const token = program
    .command('token')
    .description(
      'API tokens: list and revoke them (admin tokens; issue a client token with `berth client token`)',
    );

  const list = token
    .command('list')
    .description(
      'List API tokens, newest first, a page at a time (--limit, default 100; --all for every page), or a ' +
        "client's (never the tokens themselves)",
    );
  addPageOptions(list, TOKENS)
    .option('--client <client>', "only this client's tokens (its name or id)")
    .option('--json', 'print the tokens as JSON')
    .action(async (options: PageOptions & { client?: string; json?: boolean }, command: Command) => {
      const filters = options.client ? { client: options.client } : {};
      const api = await ctx.client(command);
      const tokens = await listRows(ctx, options, TOKENS, filters, { none: 'No tokens.' }, (page) =>
        api.pageTokens({ ...page, ...filters }),
      );
      if (!tokens) return;
      ctx.out(
        renderTable(
          [
            { header: 'ID' },
            { header: 'NAME' },
            { header: 'ROLE' },
            { header: 'CLIENT' },
            { header: 'CREATED' },
            { header: 'LAST USED' },
            { header: 'REVOKED' },
          ],
          tokens.map((item) => [
            item.id,
            item.name,
            item.role,
            item.client ?? '-',
            time(item.createdAt),
            time(item.lastUsedAt),
            time(item.revokedAt),
          ]),
        ),
      );
    });
  declareListFields(list, TOKEN_FIELDS);

  token
    .command('revoke')
    .description(
      'Revoke an API token: refused from its next request on. Revoking the token you use signs you out',
    )
    .argument('<id>', 'the token id (berth token list)')
    .option('--json', 'print the revoked token as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const api = await ctx.client(command);
      const revoked: ApiToken = await api.revokeToken(id);
      if (options.json) return ctx.printData(revoked);
      ctx.out(`Token ${revoked.name} (${revoked.id}) revoked at ${time(revoked.revokedAt)}.`);
    });
}

function time(iso: string | null): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') + 'Z' : '-';
}
