import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type * as api from '../../../shared/src/api.js';
import { NOTIFICATION_EVENTS } from '../../../shared/src/notification-events.js';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import { NotificationsService, type DeliveryListFilter } from './notifications.service.js';

export class NotificationTargetBody implements api.NotificationTargetInput {
  @ApiProperty({ enum: ['webhook', 'email'] })
  kind!: api.NotificationKind;

  @ApiPropertyOptional({
    description: "A webhook's URL (http or https)",
    example: 'https://hooks.example/berth',
  })
  url?: string;

  @ApiPropertyOptional({ description: "An email target's address", example: 'ops@example.com' })
  address?: string;

  @ApiPropertyOptional({
    description:
      "A client's name or id: the target hears only of that client's sites and tasks. Left out: the admins' (every event). A client token's targets are always its own",
  })
  client?: string;

  @ApiPropertyOptional({
    description: 'The events it wants; left out: all',
    enum: NOTIFICATION_EVENTS,
    isArray: true,
  })
  events?: api.NotificationEvent[];

  @ApiPropertyOptional({
    description: "A webhook's HMAC-SHA256 key (at least 16 characters); generated when left out",
  })
  secret?: string;
}

const SIGNING =
  'A webhook is POSTed { event, at, task?, firing?, copy?, server? } as JSON with X-Berth-Event and ' +
  'X-Berth-Signature: sha256=<hex HMAC-SHA256 of the exact body with the secret>; a 2xx within 10 s ' +
  'delivers it, anything else is retried with backoff (5 s, 30 s, 2 min, 10 min by default), 5 attempts in all.';

@ApiTags('notifications')
@ApiBearerAuth()
@Controller('api/notifications')
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Get('targets')
  @ApiOperation({ summary: 'List the notification targets (a client token: its own)' })
  async listTargets(@Req() request: AuthenticatedRequest): Promise<{ items: api.NotificationTarget[] }> {
    return { items: await this.notifications.listTargets(request.principal) };
  }

  @Post('targets')
  @ApiOperation({
    summary: "Add a webhook or an email target; a webhook's signing secret is in the answer, this once",
    description: SIGNING,
  })
  @ApiResponse({ status: 201, description: 'added; the answer holds the secret' })
  @ApiResponse({ status: 400, description: 'a bad URL, address or event, or email without BERTH_SMTP_URL' })
  @ApiResponse({ status: 403, description: 'a client token naming another client' })
  @ApiResponse({ status: 404, description: 'no such client' })
  addTarget(
    @Req() request: AuthenticatedRequest,
    @Body() body: NotificationTargetBody,
  ): Promise<api.CreatedNotificationTarget> {
    return this.notifications.addTarget(request.principal, body ?? {});
  }

  @Delete('targets/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a target and its delivery log' })
  @ApiResponse({ status: 404, description: "no such target (or not this client's)" })
  async removeTarget(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<void> {
    await this.notifications.removeTarget(request.principal, id);
  }

  @Get('deliveries')
  @ApiOperation({
    summary:
      'The delivery log, newest first (by creation, then id), a page at a time (next: the cursor of the page ' +
      'after it, null on the last): each event per target, its state, attempts and last error (a client ' +
      "token: its own targets')",
    description: SIGNING,
  })
  @ApiQuery({ name: 'limit', required: false, description: 'deliveries per page: 1-500, default 50' })
  @ApiQuery({ name: 'cursor', required: false, description: 'the next of the previous page' })
  @ApiResponse({ status: 400, description: 'a bad limit or cursor' })
  listDeliveries(
    @Req() request: AuthenticatedRequest,
    @Query() filter: DeliveryListFilter,
  ): Promise<api.Page<api.NotificationDelivery>> {
    return this.notifications.listDeliveries(request.principal, filter);
  }
}
