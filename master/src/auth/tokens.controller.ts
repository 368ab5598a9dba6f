import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { ApiToken } from '../../../shared/src/api.js';
import { AdminOnly } from './auth.guard.js';
import { AuthService } from './auth.service.js';

@ApiTags('auth')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/tokens')
export class TokensController {
  constructor(private readonly auth: AuthService) {}

  @Get()
  @ApiOperation({
    summary:
      'List API tokens, newest first: id, name, role, client, createdAt, lastUsedAt (noted at most once a ' +
      'minute), revokedAt. Never the token or its hash. Client tokens are issued with POST /api/clients/{client}/tokens',
  })
  async list(): Promise<{ items: ApiToken[] }> {
    return { items: await this.auth.listTokens() };
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Revoke a token: it is refused (401) from the next request on. Revoking the token this request uses ' +
      'is allowed and signs you out; when no admin token is left, the next master start issues a new one. ' +
      'Revoking a revoked token changes nothing',
  })
  @ApiResponse({ status: 200, description: 'the token, with revokedAt' })
  @ApiResponse({ status: 404, description: 'no token with that id' })
  revoke(@Param('id') id: string): Promise<ApiToken> {
    return this.auth.revoke(id);
  }
}
