import type { Command } from 'commander';
import type { NotificationDelivery, NotificationEvent, NotificationTarget } from '../../../shared/src/api.js';
import { NOTIFICATION_EVENTS } from '../../../shared/src/notification-events.js';
import type { CliContext } from '../context.js';
import { declareListFields } from '../output/output-options.js';
import { listFields } from '../output/structured.js';
import { renderTable } from '../output/table.js';
import { addPageOptions, type ListNoun, listRows, type PageOptions } from '../paging.js';

const DELIVERIES: ListNoun = { one: 'delivery', many: 'deliveries' };

const DELIVERY_FIELDS = listFields<NotificationDelivery>(
  {
    id: true,
    targetId: true,
    event: true,
    subjectId: true,
    state: true,
    attempts: true,
    lastError: true,
    nextAttemptAt: true,
    createdAt: true,
    deliveredAt: true,
    payload: true,
  },
  ['createdAt', 'event', 'targetId', 'state', 'attempts', 'lastError'],
);

const EVENTS_HELP = `only these events, comma-separated: ${NOTIFICATION_EVENTS.join(', ')} (default: all)`;

export function registerNotifyCommands(program: Command, ctx: CliContext): void {
  const notify = program
    .command('notify')
    .description(
      'Notifications of failed tasks and missed schedules: webhooks (signed) and email, for the admins or a client',
    );

  notify
    .command('add-webhook')
    .description(
      'POST each event as JSON to a URL, signed: X-Berth-Signature: sha256=<HMAC-SHA256 of the body>; the secret is shown once',
    )
    .argument('<url>', 'http:// or https:// URL')
    .option('--client <client>', "only this client's sites and tasks (default: the admins', every event)")
    .option('--events <events>', EVENTS_HELP)
    .option('--secret <secret>', 'the signing secret (default: a new random one)')
    .option('--json', 'print the target, with its secret, as JSON')
    .action(
      async (
        url: string,
        options: { client?: string; events?: string; secret?: string; json?: boolean },
        command: Command,
      ) => {
        const api = await ctx.client(command);
        const target = await api.addNotificationTarget({
          kind: 'webhook',
          url,
          ...(options.client !== undefined ? { client: options.client } : {}),
          ...(options.events !== undefined ? { events: eventList(options.events) } : {}),
          ...(options.secret !== undefined ? { secret: options.secret } : {}),
        });
        if (options.json) return ctx.printData(target);
        ctx.out(`Webhook ${target.id} added: ${target.url} (${describeTarget(target)}).`);
        ctx.out(`Signing secret (shown this once): ${target.secret}`);
      },
    );

  notify
    .command('add-email')
    .description("Email each event to an address, through the master's SMTP server (BERTH_SMTP_URL)")
    .argument('<address>', 'the email address')
    .option('--client <client>', "only this client's sites and tasks (default: the admins', every event)")
    .option('--events <events>', EVENTS_HELP)
    .option('--json', 'print the target as JSON')
    .action(
      async (
        address: string,
        options: { client?: string; events?: string; json?: boolean },
        command: Command,
      ) => {
        const api = await ctx.client(command);
        const target = await api.addNotificationTarget({
          kind: 'email',
          address,
          ...(options.client !== undefined ? { client: options.client } : {}),
          ...(options.events !== undefined ? { events: eventList(options.events) } : {}),
        });
        if (options.json) return ctx.printData(target);
        ctx.out(`Email target ${target.id} added: ${target.address} (${describeTarget(target)}).`);
      },
    );

  notify
    .command('list')
    .description('List the notification targets (never their secrets)')
    .option('--json', 'print the targets as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const api = await ctx.client(command);
      const targets = await api.listNotificationTargets();
      if (options.json) return ctx.printData(targets);
      if (targets.length === 0) {
        ctx.out(
          'No notification targets yet: `berth notify add-webhook URL` or `berth notify add-email ADDRESS`.',
        );
        return;
      }
      ctx.out(
        renderTable(
          [
            { header: 'ID' },
            { header: 'KIND' },
            { header: 'TO' },
            { header: 'CLIENT' },
            { header: 'EVENTS' },
          ],
          targets.map((target) => [
            target.id,
            target.kind,
            target.url ?? target.address ?? '-',
            target.client ?? '(admins)',
            target.events?.join(',') ?? 'all',
          ]),
        ),
      );
    });

  notify
    .command('remove')
    .description('Remove a notification target and its delivery log')
    .argument('<id>', 'the target id (berth notify list)')
    .option('--json', 'print { removed: id } as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const api = await ctx.client(command);
      await api.removeNotificationTarget(id);
      if (options.json) return ctx.printData({ removed: id });
      ctx.out(`Notification target ${id} removed.`);
    });

  const deliveries = notify
    .command('deliveries')
    .description(
      'The delivery log, newest first, a page at a time (--limit, default 100; --all for every page): each ' +
        'event per target, its state, attempts and last error',
    );
  addPageOptions(deliveries, DELIVERIES)
    .option('--json', 'print the deliveries as JSON')
    .action(async (options: PageOptions & { json?: boolean }, command: Command) => {
      const api = await ctx.client(command);
      const items = await listRows(ctx, options, DELIVERIES, {}, { none: 'Nothing sent yet.' }, (page) =>
        api.pageNotificationDeliveries(page),
      );
      if (!items) return;
      ctx.out(
        renderTable(
          [
            { header: 'CREATED' },
            { header: 'EVENT' },
            { header: 'TARGET' },
            { header: 'STATE' },
            { header: 'ATTEMPTS' },
            { header: 'LAST ERROR' },
          ],
          items.map((delivery) => [
            delivery.createdAt.slice(0, 19).replace('T', ' ') + 'Z',
            delivery.event,
            delivery.targetId,
            delivery.state,
            String(delivery.attempts),
            delivery.lastError ?? '-',
          ]),
        ),
      );
    });
  declareListFields(deliveries, DELIVERY_FIELDS);
}

/** The master checks the names (a 400 lists the known events); here they are only split. */
function eventList(value: string): NotificationEvent[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean) as NotificationEvent[];
}

function describeTarget(target: NotificationTarget): string {
  const who = target.client ? `client ${target.client}` : 'the admins';
  return `${who}, ${target.events ? target.events.join(', ') : 'every event'}`;
}
