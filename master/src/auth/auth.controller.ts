import { Controller, Get, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ClientsService } from '../clients/clients.service.js';
import type { AuthenticatedRequest } from './auth.guard.js';
import type { WhoAmI } from '../../../shared/src/api.js';

@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/auth')
export class AuthController {
  constructor(private readonly clients: ClientsService) {}

  @Get('me')
  @ApiOperation({
    summary:
      'Who this token is: { name, role, client }. The web UI signs in with it and hides admin pages from clients',
  })
  @ApiResponse({ status: 401, description: 'no token, or not a valid one' })
  async me(@Req() request: AuthenticatedRequest): Promise<WhoAmI> {
    const { name, role, clientId } = request.principal;
    const client = clientId ? (await this.clients.get(clientId)).name : null;
    return { name, role, client };
  }
}
