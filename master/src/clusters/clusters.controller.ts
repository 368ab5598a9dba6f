import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AdminOnly, type AuthenticatedRequest } from '../auth/auth.guard.js';
import type { TaskView } from '../tasks/tasks.service.js';
import { ClustersService, type ClusterView } from './clusters.service.js';

export class AddClusterBody {
  @ApiProperty({
    description: 'Short name: lowercase letters, digits, "-" or "_", starting with a letter',
    example: 'front',
  })
  name!: string;

  @ApiProperty({
    description: 'The web servers that are its heads (names or ids): each offers http, in no other cluster',
    example: ['web1', 'web2'],
  })
  servers!: string[];
}

export class ClusterServerBody {
  @ApiProperty({
    description: 'The web server that becomes, or stops being, a head (name or id)',
    example: 'web3',
  })
  server!: string;
}

@ApiTags('clusters')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/clusters')
export class ClustersController {
  constructor(private readonly clusters: ClustersService) {}

  @Post()
  @ApiOperation({ summary: 'Add a web cluster: heads that serve the same platforms behind a load balancer' })
  @ApiResponse({ status: 201, description: '{ cluster, task }: the cluster with its heads, and its verify' })
  @ApiResponse({ status: 400, description: 'a bad name, no servers, or a server without http' })
  @ApiResponse({ status: 409, description: 'the name is taken, or a server is a head of another cluster' })
  add(
    @Req() request: AuthenticatedRequest,
    @Body() body: AddClusterBody,
  ): Promise<{ cluster: ClusterView; task: TaskView }> {
    return this.clusters.add(request.principal, body ?? {});
  }

  @Post(':cluster/verify')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Check that every head sees one shared site directory: a marker written through the first head, read through the others',
  })
  @ApiResponse({ status: 404, description: 'no such cluster' })
  verify(@Req() request: AuthenticatedRequest, @Param('cluster') cluster: string): Promise<TaskView> {
    return this.clusters.verify(request.principal, cluster);
  }

  @Get()
  @ApiOperation({ summary: 'List clusters with their heads, platforms and how many sites' })
  async list(): Promise<{ items: ClusterView[] }> {
    return { items: await this.clusters.list() };
  }

  @Get(':cluster')
  @ApiOperation({ summary: 'A cluster: its heads (connected or not), its platforms, how many sites' })
  @ApiResponse({ status: 404, description: 'no such cluster' })
  show(@Param('cluster') cluster: string): Promise<ClusterView> {
    return this.clusters.show(cluster);
  }

  @Post(':cluster/add-server')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Add a head; when the cluster has platforms it joins stale (left out of site tasks) until synced: POST /api/clusters/{cluster}/sync-head copies the platforms to it and writes its sites',
  })
  @ApiResponse({ status: 409, description: 'a head of another cluster' })
  addServer(@Param('cluster') cluster: string, @Body() body: ClusterServerBody): Promise<ClusterView> {
    return this.clusters.addServer(cluster, body?.server);
  }

  @Post(':cluster/remove-server')
  @HttpCode(200)
  @ApiOperation({
    summary: "Remove a head (refused when it is the last and the cluster's platforms have sites)",
  })
  @ApiResponse({ status: 409, description: 'the last head of a cluster with sites' })
  removeServer(@Param('cluster') cluster: string, @Body() body: ClusterServerBody): Promise<ClusterView> {
    return this.clusters.removeServer(cluster, body?.server);
  }
}
