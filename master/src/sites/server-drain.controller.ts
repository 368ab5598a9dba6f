import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AdminOnly, type AuthenticatedRequest } from '../auth/auth.guard.js';
import type { TaskView } from '../tasks/tasks.service.js';
import { ServerDrainService } from './server-drain.service.js';

export class DrainServerBody {
  @ApiPropertyOptional({
    description: 'The server every site goes to (name or id); absent: each to the other server it fits best',
  })
  to?: string;

  @ApiPropertyOptional({
    description: 'How many site migrates run at once',
    default: 2,
    minimum: 1,
    maximum: 32,
  })
  concurrency?: number;

  @ApiPropertyOptional({ description: 'Go ahead for sites whose compatibility check has warnings' })
  force?: boolean;
}

/** The sites' side of a server: moving them all off it (the sites feature owns migrate). */
@ApiTags('servers')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/servers')
export class ServerDrainController {
  constructor(private readonly drains: ServerDrainService) {}

  @Post(':server/drain')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Drain: every site with its platform or database on the server moves off it, one migrate each ' +
      '(a platform on another web server, a db server elsewhere), a bounded number at once; a site that ' +
      'fails stays where it was; the result summarises',
  })
  @ApiResponse({ status: 400, description: 'the server is the target, bad concurrency, or nothing on it' })
  @ApiResponse({ status: 404, description: 'no such server' })
  drain(
    @Req() request: AuthenticatedRequest,
    @Param('server') server: string,
    @Body() body: DrainServerBody,
  ): Promise<TaskView> {
    return this.drains.drain(request.principal, server, body ?? {});
  }
}
