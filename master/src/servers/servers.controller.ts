import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Page } from '../../../shared/src/api.js';
import { SERVER_ROLES } from '../../../shared/src/server-roles.js';
import { AdminOnly, type AuthenticatedRequest } from '../auth/auth.guard.js';
import { asksForPage } from '../infra/http/paging.js';
import type { TaskView } from '../tasks/tasks.service.js';
import { ServerTasksService } from './server-tasks.service.js';
import {
  ServersService,
  type EnrollmentView,
  type ServerListInput,
  type ServerView,
} from './servers.service.js';

export class AddServerBody {
  @ApiProperty({
    description: 'DNS-style name of the server (lowercase letters, digits, hyphens, dots)',
    example: 'web1',
  })
  name!: string;

  @ApiPropertyOptional({
    description: 'How many steps may run on it at once',
    default: 1,
    minimum: 1,
    maximum: 64,
  })
  slots?: number;
}

@ApiTags('servers')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/servers')
export class ServersController {
  constructor(
    private readonly servers: ServersService,
    private readonly tasks: ServerTasksService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Add a server; returns a one-time enrollment token for its agent' })
  @ApiResponse({ status: 201, description: '{ server, enrollment: { token, expiresAt, agentCommand } }' })
  @ApiResponse({ status: 400, description: 'invalid name or slots' })
  @ApiResponse({ status: 409, description: 'a server with that name exists' })
  add(@Body() body: AddServerBody): Promise<{ server: ServerView; enrollment: EnrollmentView }> {
    return this.servers.add(body ?? {});
  }

  @Get()
  @ApiOperation({
    summary:
      'List servers with their services and whether their agent is connected, in name order: with limit, ' +
      'cursor or a filter, a page and the cursor of the next one (next: null on the last); without any, ' +
      'every server (no next). Filtered by role, connected and q',
  })
  @ApiQuery({ name: 'limit', required: false, description: 'servers per page: 1-500, default 100' })
  @ApiQuery({ name: 'cursor', required: false, description: 'the next of the previous page' })
  @ApiQuery({ name: 'role', required: false, enum: SERVER_ROLES, description: 'servers that offer it' })
  @ApiQuery({
    name: 'connected',
    required: false,
    enum: ['true', 'false'],
    description: 'whether its agent is connected to a master of the registry now',
  })
  @ApiQuery({ name: 'q', required: false, description: 'a piece of the name (taken literally)' })
  @ApiResponse({ status: 400, description: 'a bad limit, cursor, role, connected or q' })
  async list(@Query() query: ServerListInput): Promise<Page<ServerView>> {
    if (!asksForPage(query, ['limit', 'cursor', 'role', 'connected', 'q']))
      return { items: await this.servers.list(), next: null };
    return this.servers.page(query);
  }

  @Get(':server')
  @ApiOperation({ summary: 'Show one server (by name or id)' })
  @ApiResponse({ status: 404, description: 'no such server' })
  show(@Param('server') server: string): Promise<ServerView> {
    return this.servers.show(server);
  }

  @Post(':server/enrollment-tokens')
  @ApiOperation({
    summary:
      'Issue a new one-time enrollment token (re-enrolls the agent; its old certificate stops working)',
  })
  newEnrollmentToken(@Param('server') server: string): Promise<EnrollmentView> {
    return this.servers.newEnrollmentToken(server);
  }

  @Post(':server/verify')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Queue a verify task: the agent probes its services and the registry records them',
  })
  verify(@Req() request: AuthenticatedRequest, @Param('server') server: string): Promise<TaskView> {
    return this.tasks.create(request.principal, { type: 'server.verify', server });
  }
}
