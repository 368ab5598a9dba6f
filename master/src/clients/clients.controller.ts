import { Body, Controller, Get, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.guard.js';
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
  constructor(private readonly clients: ClientsService) {}

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
}
