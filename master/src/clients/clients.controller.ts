import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
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
import { AdminOnly } from '../auth/auth.guard.js';
import { AuthService } from '../auth/auth.service.js';
import { asksForPage } from '../infra/http/paging.js';
import { ClientsService, type ClientListInput, type ClientView } from './clients.service.js';

export class AddClientBody {
  @ApiProperty({
    description: 'Short name: lowercase letters, digits, "-" or "_", starting with a letter',
    example: 'acme',
  })
  name!: string;

  @ApiPropertyOptional({ example: 'ops@acme.example' })
  email?: string;
}

@ApiTags('clients')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/clients')
export class ClientsController {
  constructor(
    private readonly clients: ClientsService,
    private readonly auth: AuthService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Add a client (an owner of sites)' })
  @ApiResponse({ status: 409, description: 'a client with that name exists' })
  add(@Body() body: AddClientBody): Promise<ClientView> {
    return this.clients.add(body ?? {});
  }

  @Get()
  @ApiOperation({
    summary:
      'List clients in name order: with limit, cursor or q, a page and the cursor of the next one (next: null ' +
      'on the last); without any, every client (no next)',
  })
  @ApiQuery({ name: 'limit', required: false, description: 'clients per page: 1-500, default 100' })
  @ApiQuery({ name: 'cursor', required: false, description: 'the next of the previous page' })
  @ApiQuery({ name: 'q', required: false, description: 'a piece of the name (taken literally)' })
  @ApiResponse({ status: 400, description: 'a bad limit, cursor or q' })
  async list(@Query() query: ClientListInput): Promise<Page<ClientView>> {
    if (!asksForPage(query, ['limit', 'cursor', 'q']))
      return { items: await this.clients.list(), next: null };
    return this.clients.page(query);
  }

  @Post(':client/tokens')
  @ApiOperation({
    summary:
      "Issue an API token for a client: it sees and changes only the client's sites, their tasks and backups. " +
      'Shown once; only its sha256 is kept',
  })
  @ApiResponse({ status: 201, description: '{ client, name, token }' })
  @ApiResponse({ status: 404, description: 'no such client' })
  async issueToken(
    @Param('client') nameOrId: string,
  ): Promise<{ client: string; name: string; token: string }> {
    const client = await this.clients.get(nameOrId);
    const name = `client:${client.name}`;
    return { client: client.name, name, token: await this.auth.issue(name, 'client', client.id) };
  }
}
