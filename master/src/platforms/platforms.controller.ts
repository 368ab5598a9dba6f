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
import type { PackageRow } from '../packages/packages.repository.js';
import type { TaskView } from '../tasks/tasks.service.js';
import { PlatformsService, type PlatformView } from './platforms.service.js';

export class AddPlatformBody {
  @ApiProperty({
    description: 'Short name; the codebase is at <agent root>/platforms/<name>',
    example: 'drupal-10-3',
  })
  name!: string;

  @ApiProperty({ description: 'The web server (name or id) that holds the codebase', example: 'web1' })
  server!: string;

  @ApiPropertyOptional({
    description: 'Absolute path on the server, for the record: <root>/platforms/<name>',
  })
  path?: string;
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
  show(@Param('platform') platform: string): Promise<PlatformView & { packages: PackageRow[] }> {
    return this.platforms.show(platform);
  }

  @Post(':platform/verify')
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue a verify: rescan the codebase into packages and schema versions' })
  verify(@Req() request: AuthenticatedRequest, @Param('platform') platform: string): Promise<TaskView> {
    return this.platforms.verify(request.principal, platform);
  }
}
