import { Controller, Get, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { WhoAmI } from '../../../shared/src/api.js';
import type { AuthenticatedRequest } from './auth.guard.js';

/** The names of clients, for saying who a client token is (the clients feature provides it). */
export abstract class ClientNames {
  /** The client's name; throws the clients' 404 when there is none. */
  abstract nameOf(clientId: string): Promise<string>;
}

@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/auth')
export class AuthController {
  constructor(private readonly clients: ClientNames) {}

  @Get('me')
  @ApiOperation({
    summary:
      'Who this token is: { name, role, client }. The web UI signs in with it and hides admin pages from clients',
  })
  @ApiResponse({ status: 401, description: 'no token, or not a valid one' })
  async me(@Req() request: AuthenticatedRequest): Promise<WhoAmI> {
    const { name, role, clientId } = request.principal;
    const client = clientId ? await this.clients.nameOf(clientId) : null;
    return { name, role, client };
  }
}
