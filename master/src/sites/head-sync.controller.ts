import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AdminOnly, type AuthenticatedRequest } from '../auth/auth.guard.js';
import type { TaskView } from '../tasks/tasks.service.js';
import { HeadSyncService } from './head-sync.service.js';

export class SyncHeadBody {
  @ApiProperty({ description: 'The head to bring up to date (name or id); its agent must be connected' })
  server!: string;
}

/** The sites' side of a cluster's head: bringing its settings, links and vhosts up to date. */
@ApiTags('clusters')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/clusters')
export class HeadSyncController {
  constructor(private readonly syncs: HeadSyncService) {}

  @Post(':cluster/sync-head')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Sync a head: its codebases checked against the first head, then every installed site on the ' +
      "cluster's platforms written on it (grant, settings, link, vhost as the site is now), the vhosts " +
      'of sites gone removed; then it is no longer stale and site tasks include it again',
  })
  @ApiResponse({
    status: 400,
    description: 'not a head of the cluster, its agent not connected, no other head',
  })
  @ApiResponse({ status: 404, description: 'no such cluster' })
  sync(
    @Req() request: AuthenticatedRequest,
    @Param('cluster') cluster: string,
    @Body() body: SyncHeadBody,
  ): Promise<TaskView> {
    return this.syncs.sync(request.principal, cluster, body ?? {});
  }
}
