import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.guard.js';
import { AuthService } from '../auth/auth.service.js';
import { ClientsService, type ClientView } from './clients.service.js';

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
  @ApiOperation({ summary: 'List clients' })
  async list(): Promise<{ items: ClientView[] }> {
    return { items: await this.clients.list() };
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
