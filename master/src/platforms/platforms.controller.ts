import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { describeDeployHooks } from '../../../shared/src/deploy-hooks.js';
import { AdminOnly, type AuthenticatedRequest } from '../auth/auth.guard.js';
import type { Package, Page } from '../../../shared/src/api.js';
import { asksForPage } from '../infra/http/paging.js';
import { PLATFORM_STATUSES } from './platform.entity.js';
import type { TaskView } from '../tasks/tasks.service.js';
import { PlatformsService, type PlatformListInput, type PlatformView } from './platforms.service.js';

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

export class DeployHooksBody {
  @ApiProperty({
    description: `In order, after the database updates (updatedb always runs first): ${describeDeployHooks()}. Empty: the updates only`,
    example: ['config:import', 'deploy:hook', 'cache:rebuild'],
    type: [String],
  })
  hooks!: string[];
}

export class GitSourceBody {
  @ApiProperty({
    description:
      'The repository: https://, ssh://, git://, file://, user@host:path or a path on the server (no password in it)',
    example: 'git@git.example.com:acme/platform.git',
  })
  url!: string;

  @ApiPropertyOptional({
    description: "Branch, tag or commit; default the repository's default branch",
    example: 'v10.3.1',
  })
  ref?: string;
}

export class BuildPlatformBody {
  @ApiProperty({ description: 'Short name; built at <agent root>/platforms/<name>', example: 'd103' })
  name!: string;

  @ApiPropertyOptional({ description: 'The web server that builds and holds it', example: 'web1' })
  server?: string;

  @ApiPropertyOptional({
    description: 'Instead of server: the cluster; built on its first head, copied to every other',
    example: 'front',
  })
  cluster?: string;

  @ApiPropertyOptional({
    description: 'Clone this repository (composer install --no-dev when it has a composer.json)',
  })
  git?: GitSourceBody;

  @ApiPropertyOptional({
    description: 'Instead of git: composer create-project PACKAGE:VERSION',
    example: 'drupal/recommended-project:^10.3',
  })
  composerProject?: string;

  @ApiPropertyOptional({
    description: 'With composerProject: a Composer repository URL instead of Packagist',
  })
  composerRepository?: string;

  @ApiPropertyOptional({
    description:
      'An SSH private key (no passphrase) to read the repository with; stored encrypted, never shown',
  })
  deployKey?: string;

  @ApiPropertyOptional({
    description:
      'Instead of git or composerProject: a platform Berth built, copied to this server under the new name (its source, commit, deploy key and hooks go with it)',
    example: 'd103',
  })
  fromPlatform?: string;
}

export class PullPlatformBody {
  @ApiPropertyOptional({ description: 'Branch, tag or commit; default the one it was built from' })
  ref?: string;
}

export class UpdatePlatformBody {
  @ApiProperty({
    description: 'The branch, tag or commit (a Composer project: version) to build',
    example: 'v10.3.2',
  })
  ref!: string;

  @ApiPropertyOptional({ description: "The new platform's name; default <name>-<ref>" })
  as?: string;

  @ApiPropertyOptional({
    description: 'How many site migrates run at once',
    default: 2,
    minimum: 1,
    maximum: 32,
  })
  concurrency?: number;

  @ApiPropertyOptional({ description: 'Go ahead for sites whose check has warnings' })
  force?: boolean;

  @ApiPropertyOptional({
    description: 'Remove the old platform (registry and codebase) once every site moved',
  })
  retire?: boolean;
}

export class DiffPlatformBody {
  @ApiProperty({ description: 'The platform to compare with', example: 'd103-v10-3-2' })
  to!: string;
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

  @Post('build')
  @ApiOperation({
    summary:
      'Build a platform from a git repository (at a branch, tag or commit) or a Composer project on a server, ' +
      'or on a cluster (built on its first head, copied to the others), then verify it; a failed build leaves nothing',
  })
  @ApiResponse({ status: 201, description: '{ platform, task }' })
  @ApiResponse({ status: 400, description: 'a bad name, source, ref or key' })
  @ApiResponse({ status: 409, description: 'a platform with that name exists' })
  build(@Req() request: AuthenticatedRequest, @Body() body: BuildPlatformBody) {
    return this.platforms.build(request.principal, body ?? {});
  }

  @Get()
  @ApiOperation({
    summary:
      'List platforms in name order: with limit, cursor or a filter, a page and the cursor of the next one ' +
      '(next: null on the last); without any, every platform (no next). Filtered by server, status and q',
  })
  @ApiQuery({ name: 'limit', required: false, description: 'platforms per page: 1-500, default 100' })
  @ApiQuery({ name: 'cursor', required: false, description: 'the next of the previous page' })
  @ApiQuery({
    name: 'server',
    required: false,
    description: "a server's name or id: the platforms it holds (its own, and its cluster's)",
  })
  @ApiQuery({ name: 'status', required: false, enum: PLATFORM_STATUSES })
  @ApiQuery({ name: 'q', required: false, description: 'a piece of the name (taken literally)' })
  @ApiResponse({ status: 400, description: 'a bad limit, cursor, status or q, or no such server' })
  async list(@Query() query: PlatformListInput): Promise<Page<PlatformView>> {
    if (!asksForPage(query, ['limit', 'cursor', 'server', 'status', 'q']))
      return { items: await this.platforms.list(), next: null };
    return this.platforms.page(query);
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

  @Post(':platform/pull')
  @HttpCode(202)
  @ApiOperation({
    summary:
      "Move a git platform's checkout to another ref in place (composer install again), then verify it. " +
      'Only a platform without sites: code never changes under a site (use update, the leap-frog)',
  })
  @ApiResponse({
    status: 409,
    description: 'PLATFORM_BUSY: it hosts sites; the message names the update to run',
  })
  pull(
    @Req() request: AuthenticatedRequest,
    @Param('platform') platform: string,
    @Body() body: PullPlatformBody,
  ): Promise<TaskView> {
    return this.platforms.pull(request.principal, platform, body ?? {});
  }

  @Post(':platform/update')
  @ApiOperation({
    summary:
      'The leap-frog: build the same source at another ref as a new platform, migrate every site to it ' +
      '(each with its rehearsal and short window), lock the old one, and with retire remove it once empty',
  })
  @ApiResponse({ status: 201, description: '{ platform: the new one, task }' })
  update(
    @Req() request: AuthenticatedRequest,
    @Param('platform') platform: string,
    @Body() body: UpdatePlatformBody,
  ) {
    return this.platforms.update(request.principal, platform, body ?? {});
  }

  @Post(':platform/diff')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Compare with another platform (a task): the packages whose version or schema differ, and the commits ' +
      'between the two when both were built from one repository',
  })
  diff(
    @Req() request: AuthenticatedRequest,
    @Param('platform') platform: string,
    @Body() body: DiffPlatformBody,
  ): Promise<TaskView> {
    return this.platforms.diff(request.principal, platform, body ?? {});
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

  @Put(':platform/hooks')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Set a platform's deploy hooks: run in order, after the database updates, on each site that comes onto it (a migrate, a platform update) unless the site has its own list",
  })
  @ApiResponse({ status: 200, description: 'the platform, with its hooks' })
  @ApiResponse({ status: 400, description: 'a hook outside the vocabulary, or listed twice' })
  @ApiResponse({ status: 404, description: 'no such platform' })
  setHooks(@Param('platform') platform: string, @Body() body: DeployHooksBody): Promise<PlatformView> {
    return this.platforms.setDeployHooks(platform, body ?? {});
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
