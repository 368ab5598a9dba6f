import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AdminOnly, type AuthenticatedRequest } from '../auth/auth.guard.js';
import type { Package } from '../../../shared/src/api.js';
import type { TaskView } from '../tasks/tasks.service.js';
import { PlatformsService, type PlatformView } from './platforms.service.js';

export class AddPlatformBody {
  @ApiProperty({
    description: 'Short name; the codebase is at <agent root>/platforms/<name>',
    example: 'drupal-10-3',
  })
  name!: string;

  @ApiPropertyOptional({
    description: 'The web server (name or id) that holds the codebase',
    example: 'web1',
  })
  server?: string;

  @ApiPropertyOptional({
    description:
      'Instead of server: the cluster (name or id) whose every head holds the codebase at the same path; verified on each, refused unless they hash the same',
    example: 'front',
  })
  cluster?: string;

  @ApiPropertyOptional({
    description: 'Absolute path on the server, for the record: <root>/platforms/<name>',
  })
  path?: string;
}

export class MigrateSitesBody {
  @ApiProperty({ description: 'The platform to move the sites to' })
  to!: string;

  @ApiPropertyOptional({
    description: 'How many site migrates run at once',
    default: 2,
    minimum: 1,
    maximum: 32,
  })
  concurrency?: number;

  @ApiPropertyOptional({ description: 'Go ahead for sites whose check has warnings' })
  force?: boolean;
}

@ApiTags('platforms')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/platforms')
export class PlatformsController {
  constructor(private readonly platforms: PlatformsService) {}

  @Post()
  @ApiOperation({ summary: 'Register a platform and queue its verify (a static scan of its packages)' })
  @ApiResponse({ status: 201, description: '{ platform, task }' })
  @ApiResponse({ status: 409, description: 'a platform with that name exists' })
  add(@Req() request: AuthenticatedRequest, @Body() body: AddPlatformBody) {
    return this.platforms.add(request.principal, body ?? {});
  }

  @Get()
  @ApiOperation({ summary: 'List platforms' })
  async list(): Promise<{ items: PlatformView[] }> {
    return { items: await this.platforms.list() };
  }

  @Get(':platform')
  @ApiOperation({ summary: 'Show a platform with its packages and schema versions' })
  show(@Param('platform') platform: string): Promise<PlatformView & { packages: Package[] }> {
    return this.platforms.show(platform);
  }

  @Post(':platform/verify')
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue a verify: rescan the codebase into packages and schema versions' })
  verify(@Req() request: AuthenticatedRequest, @Param('platform') platform: string): Promise<TaskView> {
    return this.platforms.verify(request.principal, platform);
  }

  @Post(':platform/lock')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Lock a platform: it takes no new sites (the sites on it stay and keep working)',
  })
  @ApiResponse({ status: 200, description: 'the platform, locked' })
  @ApiResponse({ status: 404, description: 'no such platform' })
  lock(@Param('platform') platform: string): Promise<PlatformView> {
    return this.platforms.lock(platform);
  }

  @Post(':platform/unlock')
  @HttpCode(200)
  @ApiOperation({ summary: 'Unlock a platform: it takes new sites again' })
  @ApiResponse({ status: 200, description: 'the platform, unlocked' })
  @ApiResponse({ status: 404, description: 'no such platform' })
  unlock(@Param('platform') platform: string): Promise<PlatformView> {
    return this.platforms.unlock(platform);
  }

  @Post(':platform/migrate-sites')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Platform upgrade: move every site to another platform, each with its own rehearsal and short window; ' +
      'a site that fails stays where it was; the result summarises',
  })
  @ApiResponse({
    status: 400,
    description: 'no target, the same platform, an unverified target, or no sites',
  })
  migrateSites(
    @Req() request: AuthenticatedRequest,
    @Param('platform') platform: string,
    @Body() body: MigrateSitesBody,
  ): Promise<TaskView> {
    return this.platforms.migrateSites(request.principal, platform, body ?? { to: undefined });
  }

  @Post(':platform/delete')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Remove a platform from the registry, with its recorded packages. The codebase on the server is ' +
      "the operator's and stays where it is",
  })
  @ApiResponse({ status: 200, description: '{ deleted: the platform as it was, message }' })
  @ApiResponse({ status: 404, description: 'no such platform' })
  @ApiResponse({
    status: 409,
    description: 'PLATFORM_BUSY: sites are on it (migrate or delete them first), or a task of it is running',
  })
  delete(
    @Req() request: AuthenticatedRequest,
    @Param('platform') platform: string,
  ): Promise<{ deleted: PlatformView; message: string }> {
    return this.platforms.delete(request.principal, platform);
  }
}
