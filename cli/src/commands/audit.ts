import type { Command } from 'commander';
import type { AuditEvent, AuditListQuery, PageQuery } from '../api-types.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';
import { sanitize } from '../output/format.js';
import { declareListFields } from '../output/output-options.js';
import { listFields } from '../output/structured.js';
import { renderTable } from '../output/table.js';
import { addPageOptions, type ListNoun, listRows, type PageOptions } from '../paging.js';

const EVENTS: ListNoun = { one: 'event', many: 'events' };

const AUDIT_FIELDS = listFields<AuditEvent>(
  {
    id: true,
    at: true,
    tokenId: true,
    tokenName: true,
    role: true,
    clientId: true,
    method: true,
    route: true,
    path: true,
    target: true,
    summary: true,
    address: true,
    status: true,
    errorCode: true,
    taskId: true,
    durationMs: true,
  },
  ['at', 'tokenName', 'method', 'path', 'status', 'errorCode', 'taskId'],
);

interface AuditListOptions extends PageOptions {
  since?: string;
  target?: string;
  json?: boolean;
}

/** The filters of the audit log, checked before any request: a time that is one. */
function auditFilters(options: AuditListOptions): Omit<AuditListQuery, keyof PageQuery> {
  if (options.since !== undefined && Number.isNaN(Date.parse(options.since))) {
    throw usageError(
      `--since "${sanitize(options.since)}" is not a time; use ISO 8601, e.g. 2025-01-31T12:00:00Z`,
    );
  }
  return {
    ...(options.since !== undefined ? { since: options.since } : {}),
    ...(options.target ? { target: options.target } : {}),
  };
}

export function registerAuditCommands(program: Command, ctx: CliContext): void {
  const audit = program
    .command('audit')
    .description('The audit log: every change made through the API, refused ones too (admin tokens)');

  const list = audit
    .command('list')
    .description(
      'List changes made through the API, newest first, a page at a time (--limit, default 100; --all for ' +
        'every page): when, who, what, target, from where, outcome',
    );
  addPageOptions(list, EVENTS)
    .option('--since <time>', 'only changes at or after this time (ISO 8601, e.g. 2025-01-31T12:00:00Z)')
    .option(
      '--target <value>',
      "only changes of this target: a domain, a server's, client's or platform's name, or a task id",
    )
    .option('--json', 'print the events as JSON')
    .action(async (options: AuditListOptions, command: Command) => {
      const filters = auditFilters(options);
      const api = await ctx.client(command);
      const events = await listRows(
        ctx,
        options,
        EVENTS,
        filters,
        { none: 'No changes recorded yet.', matches: 'No changes recorded that match.' },
        (page) => api.pageAudit({ ...page, ...filters }),
      );
      if (!events) return;
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
    });
  declareListFields(list, AUDIT_FIELDS);
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
