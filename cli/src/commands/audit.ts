import type { Command } from 'commander';
import type { AuditEvent } from '../api-types.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { renderTable } from '../output/table.js';
import { positiveInteger } from '../parsers.js';

export function registerAuditCommands(program: Command, ctx: CliContext): void {
  const audit = program
    .command('audit')
    .description('The audit log: every change made through the API, refused ones too (admin tokens)');

  audit
    .command('list')
    .description(
      'List changes made through the API, newest first: when, who, what, target, from where, outcome',
    )
    .option('--since <time>', 'only changes at or after this time (ISO 8601, e.g. 2025-01-31T12:00:00Z)')
    .option(
      '--target <value>',
      "only changes of this target: a domain, a server's, client's or platform's name, or a task id",
    )
    .option('--limit <n>', 'at most this many (default 100, at most 1000)', positiveInteger)
    .option('--json', 'print the events as JSON')
    .action(
      async (
        options: { since?: string; target?: string; limit?: number; json?: boolean },
        command: Command,
      ) => {
        if (options.since !== undefined && Number.isNaN(Date.parse(options.since))) {
          throw usageError(
            `--since "${options.since}" is not a time; use ISO 8601, e.g. 2025-01-31T12:00:00Z`,
          );
        }
        const api = await ctx.client(command);
        const events = await api.listAudit({
          since: options.since,
          target: options.target,
          limit: options.limit,
        });
        if (options.json) return ctx.printData(events);
        if (events.length === 0) {
          ctx.out('No changes recorded' + (options.since || options.target ? ' that match.' : ' yet.'));
          return;
        }
        ctx.out(
          renderTable(
            [
              { header: 'WHEN' },
              { header: 'WHO' },
              { header: 'WHAT' },
              { header: 'TARGET' },
              { header: 'ADDRESS' },
              { header: 'STATUS' },
              { header: 'TASK' },
            ],
            events.map((event) => [
              event.at.slice(0, 19).replace('T', ' ') + 'Z',
              who(event),
              `${event.method} ${event.route ?? event.path}`,
              target(event),
              event.address ?? '-',
              outcome(event),
              event.taskId ?? '-',
            ]),
          ),
        );
      },
    );
}

/** The token's name; for a request without a valid one, why (its error code says it). */
function who(event: AuditEvent): string {
  if (event.tokenName) return event.tokenName;
  if (event.errorCode === 'AUTH_MISSING_TOKEN') return '(no token)';
  if (event.errorCode === 'AUTH_INVALID_TOKEN') return '(invalid token)';
  return '-';
}

/** The route's parameters; where the route names none (an install), what the body named. */
function target(event: AuditEvent): string {
  const values = Object.values(event.target);
  if (values.length > 0) return values.join(' ');
  const named = event.summary?.domain ?? event.summary?.name;
  return typeof named === 'string' ? named : '-';
}

function outcome(event: AuditEvent): string {
  if (event.status === null) return 'no answer';
  return event.errorCode ? `${event.status} ${event.errorCode}` : String(event.status);
}
