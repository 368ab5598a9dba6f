import type { Command } from 'commander';
import type { ApiToken } from '../api-types.js';
import type { CliContext } from '../context.js';
import { renderTable } from '../output/table.js';

export function registerTokenCommands(program: Command, ctx: CliContext): void {
  const token = program
    .command('token')
    .description(
      'API tokens: list and revoke them (admin tokens; issue a client token with `berth client token`)',
    );

  token
    .command('list')
    .description('List API tokens, newest first (never the tokens themselves)')
    .option('--json', 'print the tokens as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const api = await ctx.client(command);
      const tokens = await api.listTokens();
      if (options.json) return ctx.printData(tokens);
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
