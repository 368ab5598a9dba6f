import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { ApiToken, Page } from '../../../shared/src/api.js';
import { AdminOnly } from './auth.guard.js';
import { AuthService, type TokenListInput } from './auth.service.js';

@ApiTags('auth')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/tokens')
export class TokensController {
  constructor(private readonly auth: AuthService) {}

  @Get()
  @ApiOperation({
    summary:
      'List API tokens, newest first (by creation, then id), a page at a time (next: the cursor of the page ' +
      'after it, null on the last): id, name, role, client, createdAt, lastUsedAt (noted at most once a ' +
      'minute), revokedAt. Never the token or its hash. Client tokens are issued with POST /api/clients/{client}/tokens',
  })
  @ApiQuery({ name: 'limit', required: false, description: 'tokens per page: 1-500, default 100' })
  @ApiQuery({ name: 'cursor', required: false, description: 'the next of the previous page' })
  @ApiQuery({ name: 'client', required: false, description: "a client's name or id: its tokens" })
  @ApiResponse({ status: 400, description: 'a bad limit or cursor, or no such client' })
  list(@Query() query: TokenListInput): Promise<Page<ApiToken>> {
    return this.auth.listTokens(query);
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
