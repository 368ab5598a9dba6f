import { Controller, Get, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Overview } from '../../../shared/src/api.js';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import { OverviewService } from './overview.service.js';

@ApiTags('overview')
@ApiBearerAuth()
@Controller('api/overview')
export class OverviewController {
  constructor(private readonly overview: OverviewService) {}

  @Get()
  @ApiOperation({
    summary:
      "The dashboard's overview: sites by status, platforms, servers (and how many connected), clients, queued " +
      'and running tasks, and what needs attention: failed tasks of the last 24 hours, servers whose agent is ' +
      'not connected, enabled sites not verified for a day. Each list shows at most 10 rows, its count is of ' +
      'all. A client token sees its own sites and tasks only (platforms, servers, clients: null)',
  })
  get(@Req() request: AuthenticatedRequest): Promise<Overview> {
    return this.overview.get(request.principal);
  }
}
