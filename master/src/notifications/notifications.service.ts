import { BlockList, isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import type * as api from '../../../shared/src/api.js';
import { NOTIFICATION_EVENTS } from '../../../shared/src/notification-events.js';
import type { Principal } from '../auth/auth.service.js';
import { byCreated, ListCursor, pageLimit } from '../infra/http/paging.js';
import type { DeliveryRow, NotificationsRepository, TargetRow } from './notifications.repository.js';
import { NotificationsError, NotificationsErrorCode } from './notifications.errors.js';

/** The query of the delivery log as it comes over HTTP (strings, checked in listDeliveries). */
export type DeliveryListFilter = { [K in keyof api.NotificationDeliveryListQuery]?: string };

/** Deliveries per page unless asked otherwise (what the log answered with before it had pages). */
const DEFAULT_PAGE = 50;
/** The delivery log's cursors: the creation time (to the microsecond) and id of a page's last delivery. */
const DELIVERY_CURSOR = new ListCursor('notification-deliveries', byCreated);
/** Enough to catch a typo, not RFC 5322: the SMTP server is the judge of the rest. */
const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;
const KNOWN_FIELDS = new Set(['kind', 'url', 'address', 'client', 'events', 'secret']);

/** Notification targets and their delivery log (REST, CLI); a client token sees and makes its own only. */
export class NotificationsService {
  constructor(
    private readonly repository: NotificationsRepository,
    private readonly clients: {
      findByNameOrId(nameOrId: string): Promise<{ id: string; name: string } | null>;
    },
    private readonly secrets: { encrypt(plaintext: string): string },
    private readonly emailConfigured: boolean,
  ) {}

  async listTargets(principal: Principal): Promise<api.NotificationTarget[]> {
    return (await this.repository.listTargets(scopeOf(principal))).map(targetView);
  }

  async addTarget(principal: Principal, input: unknown): Promise<api.CreatedNotificationTarget> {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw invalid('the body must be a JSON object: { kind, url | address, client?, events?, secret? }');
    }
    const body = input as Record<string, unknown>;
    const unknown = Object.keys(body).filter((key) => !KNOWN_FIELDS.has(key));
    if (unknown.length > 0) throw invalid(`unknown field ${unknown.join(', ')}`);
    const events = checkEvents(body.events);
    const clientId = await this.clientOf(principal, body.client);
    if (body.kind === 'webhook') {
      const url = checkUrl(body.url, principal.role !== 'admin');
      if (body.address !== undefined) throw invalid('a webhook has a url, not an address');
      if (body.secret !== undefined && (typeof body.secret !== 'string' || body.secret.length < 16)) {
        throw invalid('secret must be a string of at least 16 characters (leave it out to have one made)');
      }
      const secret = body.secret ?? randomBytes(32).toString('hex');
      const target = await this.repository.createTarget({
        kind: 'webhook',
        url,
        address: null,
        clientId,
        events,
        secretEncrypted: this.secrets.encrypt(secret),
      });
      return { ...targetView(target), secret };
    }
    if (body.kind === 'email') {
      if (typeof body.address !== 'string' || !EMAIL.test(body.address.trim())) {
        throw invalid(`"${String(body.address)}" is not an email address`);
      }
      if (body.url !== undefined || body.secret !== undefined) {
        throw invalid('an email target has an address only (no url, no secret)');
      }
      if (!this.emailConfigured) {
        throw invalid('this master has no BERTH_SMTP_URL: set it (and BERTH_SMTP_FROM) to send email');
      }
      const target = await this.repository.createTarget({
        kind: 'email',
        url: null,
        address: body.address.trim(),
        clientId,
        events,
        secretEncrypted: null,
      });
      return { ...targetView(target), secret: null };
    }
    throw invalid('kind must be "webhook" or "email"');
  }

  async removeTarget(principal: Principal, id: string): Promise<void> {
    const target = await this.repository.findTarget(id);
    const scope = scopeOf(principal);
    // A client's token is told "not found" of another's target, as of one that does not exist.
    if (!target || (scope !== undefined && target.clientId !== scope)) {
      throw new NotificationsError(
        NotificationsErrorCode.NotFound,
        `no notification target ${id}; \`berth notify list\` shows them`,
      );
    }
    await this.repository.removeTarget(target.id);
  }

  /**
   * A page of the delivery log, newest first (`GET /api/notifications/deliveries?limit=&cursor=`);
   * a client token's targets' only. Bad input is a 400 naming it.
   */
  async listDeliveries(
    principal: Principal,
    filter: DeliveryListFilter,
  ): Promise<api.Page<api.NotificationDelivery>> {
    const { deliveries, next } = await this.repository.listDeliveries({
      limit: pageLimit(filter.limit, DEFAULT_PAGE, invalid),
      after: DELIVERY_CURSOR.decode(filter.cursor, invalid),
      clientId: scopeOf(principal),
    });
    return { items: deliveries.map(deliveryView), next: next ? DELIVERY_CURSOR.encode(next) : null };
  }

  /** An admin names any client or none (the admins' own); a client token's target is always its own. */
  private async clientOf(principal: Principal, client: unknown): Promise<string | null> {
    if (principal.role !== 'admin') {
      if (!principal.clientId) {
        throw new NotificationsError(NotificationsErrorCode.Forbidden, 'this token belongs to no client');
      }
      if (client !== undefined) {
        const named = typeof client === 'string' ? await this.clients.findByNameOrId(client) : null;
        if (named?.id !== principal.clientId) {
          throw new NotificationsError(
            NotificationsErrorCode.Forbidden,
            'a client token adds targets for its own client only: leave out "client"',
          );
        }
      }
      return principal.clientId;
    }
    if (client === undefined || client === null) return null;
    if (typeof client !== 'string') throw invalid('client must be a client name or id');
    const found = await this.clients.findByNameOrId(client);
    if (!found) {
      throw new NotificationsError(
        NotificationsErrorCode.ClientNotFound,
        `no client named "${client}"; \`berth client list\` shows them`,
      );
    }
    return found.id;
  }
}

/** undefined: every target (an admin); else the client's id. */
function scopeOf(principal: Principal): string | undefined {
  return principal.role === 'admin'
    ? undefined
    : (principal.clientId ?? '00000000-0000-0000-0000-000000000000');
}

/**
 * Addresses a client's webhook may not name: the master would post to its own network for the
 * client (loopback, private, link-local, carrier-grade NAT). A name is not resolved here: one that
 * resolves to such an address is still sent to (noted in the README).
 */
const INTERNAL = (() => {
  const list = new BlockList();
  for (const [network, prefix] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
  ] as const) {
    list.addSubnet(network, prefix, 'ipv4');
  }
  for (const [network, prefix] of [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
    ['::ffff:0:0', 96],
  ] as const) {
    list.addSubnet(network, prefix, 'ipv6');
  }
  return list;
})();

function checkUrl(value: unknown, publicOnly: boolean): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid('a webhook needs a url');
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw invalid(`"${value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`a webhook URL must be http:// or https://, not ${url.protocol}//`);
  }
  if (publicOnly) {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const family = isIP(host);
    if (
      host === 'localhost' ||
      host.endsWith('.localhost') ||
      (family !== 0 && INTERNAL.check(host, family === 4 ? 'ipv4' : 'ipv6'))
    ) {
      throw invalid(
        `a client's webhook must reach a public address, not ${url.hostname}: ask an admin to add one inside the network`,
      );
    }
  }
  return url.toString();
}

function checkEvents(value: unknown): api.NotificationEvent[] | null {
  if (value === undefined || value === null) return null;
  const known: readonly string[] = NOTIFICATION_EVENTS;
  if (!Array.isArray(value) || value.length === 0 || value.some((item) => typeof item !== 'string')) {
    throw invalid(`events must be a non-empty list of ${known.join(', ')}`);
  }
  const unknown = (value as string[]).filter((item) => !known.includes(item));
  if (unknown.length > 0) {
    throw invalid(`unknown event ${unknown.join(', ')}; the events are ${known.join(', ')}`);
  }
  return [...new Set(value as api.NotificationEvent[])];
}

function invalid(message: string): NotificationsError {
  return new NotificationsError(NotificationsErrorCode.InvalidInput, message);
}

function targetView(target: TargetRow): api.NotificationTarget {
  return {
    id: target.id,
    kind: target.kind,
    url: target.url,
    address: target.address,
    client: target.clientName ?? target.clientId,
    events: target.events,
    createdAt: target.createdAt.toISOString(),
  };
}

function deliveryView(delivery: DeliveryRow): api.NotificationDelivery {
  return {
    id: delivery.id,
    targetId: delivery.targetId,
    event: delivery.event,
    subjectId: delivery.subjectId,
    state: delivery.state,
    attempts: delivery.attempts,
    lastError: delivery.lastError,
    nextAttemptAt: delivery.state === 'pending' ? (delivery.nextAttemptAt?.toISOString() ?? null) : null,
    createdAt: delivery.createdAt.toISOString(),
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
    payload: delivery.payload,
  };
}
