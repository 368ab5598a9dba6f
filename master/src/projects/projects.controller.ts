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
import type { Page, Project } from '../../../shared/src/api.js';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import { asksForPage } from '../infra/http/paging.js';
import type { TaskView } from '../tasks/tasks.service.js';
import { ProjectsService, type ProjectListInput } from './projects.service.js';

export class AddProjectBody {
  @ApiProperty({ description: 'a-z, 0-9, - and _', example: 'shop' })
  name!: string;

  @ApiPropertyOptional({ description: 'Owner (client name); admin tokens only' })
  client?: string;

  @ApiPropertyOptional({
    description: "What scrubs a copy synced down: sql:sanitize, or your code's own <namespace>:sanitize",
    default: 'sql:sanitize',
  })
  sanitize?: string;
}

export class SanitizeBody {
  @ApiProperty({
    description: "sql:sanitize, or your code's own <namespace>:sanitize",
    example: 'acme:sanitize',
  })
  sanitize!: string;
}

export class AddEnvironmentBody {
  @ApiProperty({
    description: 'dev, test, live or a name of yours; added at the end of the list (towards live)',
    example: 'test',
  })
  name!: string;

  @ApiProperty({
    description: "The environment's site (domain), in no other environment",
    example: 'test.shop.example',
  })
  site!: string;
}

export class SyncBody {
  @ApiProperty({
    description: 'The environment to copy from: later in the list than `to` (data goes down)',
    example: 'live',
  })
  from!: string;

  @ApiProperty({ description: 'The environment to copy into; backed up first', example: 'test' })
  to!: string;

  @ApiPropertyOptional({ description: 'Copy the database (sanitized); with neither db nor files: both' })
  db?: boolean;

  @ApiPropertyOptional({
    description: 'Copy the files/ directory (uploads); with neither db nor files: both',
  })
  files?: boolean;
}

export class EnvDeployBody {
  @ApiProperty({ description: "The environment whose site's repository is deployed", example: 'live' })
  to!: string;

  @ApiProperty({ description: 'The branch, tag or commit', example: 'v2.4.0' })
  ref!: string;
}

/** The project list's own query parameters: any of them asks for a page (ProjectListQuery). */
const PROJECT_LIST_PARAMETERS = ['limit', 'cursor', 'q', 'client'] as const;

@ApiTags('projects')
@ApiBearerAuth()
@Controller('api/projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Get()
  @ApiOperation({
    summary:
      'List projects (a client token sees its own) in name order, each with its environments in order: with ' +
      'limit, cursor, q or client, a page and the cursor of the next one (next: null on the last); without ' +
      'any, every project (no next)',
  })
  @ApiQuery({ name: 'limit', required: false, description: 'projects per page: 1-500, default 100' })
  @ApiQuery({ name: 'cursor', required: false, description: 'the next of the previous page' })
  @ApiQuery({ name: 'q', required: false, description: 'a piece of the name (taken literally)' })
  @ApiQuery({ name: 'client', required: false, description: "a client's name or id; admins only" })
  @ApiResponse({ status: 400, description: 'a bad limit, cursor, q or client' })
  async list(@Req() request: AuthenticatedRequest, @Query() query: ProjectListInput): Promise<Page<Project>> {
    if (!asksForPage(query, PROJECT_LIST_PARAMETERS))
      return { items: await this.projects.list(request.principal), next: null };
    return this.projects.page(request.principal, query);
  }

  @Post()
  @ApiOperation({ summary: 'Add a project: sites grouped as environments (dev, test, live ...)' })
  @ApiResponse({ status: 201, description: 'the project' })
  @ApiResponse({ status: 409, description: 'the name is taken' })
  add(@Req() request: AuthenticatedRequest, @Body() body: AddProjectBody): Promise<Project> {
    return this.projects.add(request.principal, body ?? {});
  }

  @Get(':project')
  @ApiOperation({ summary: 'A project: its environments side by side (site, platform, code ref, last sync)' })
  @ApiResponse({ status: 404, description: 'no such project' })
  show(@Req() request: AuthenticatedRequest, @Param('project') project: string): Promise<Project> {
    return this.projects.show(request.principal, project);
  }

  @Put(':project/sanitize')
  @ApiOperation({
    summary: "The drush command that scrubs a copy synced down: sql:sanitize or your code's own",
  })
  setSanitize(
    @Req() request: AuthenticatedRequest,
    @Param('project') project: string,
    @Body() body: SanitizeBody,
  ): Promise<Project> {
    return this.projects.setSanitize(request.principal, project, body?.sanitize);
  }

  @Post(':project/delete')
  @HttpCode(200)
  @ApiOperation({ summary: 'Remove a project and its environments from the registry; their sites stay' })
  remove(
    @Req() request: AuthenticatedRequest,
    @Param('project') project: string,
  ): Promise<{ removed: string }> {
    return this.projects.remove(request.principal, project);
  }

  @Post(':project/environments')
  @ApiOperation({
    summary: "Add a site as the project's next environment (at the end of the list: towards live)",
  })
  @ApiResponse({ status: 201, description: 'the project' })
  @ApiResponse({ status: 409, description: 'the name is taken, or the site is in an environment already' })
  addEnvironment(
    @Req() request: AuthenticatedRequest,
    @Param('project') project: string,
    @Body() body: AddEnvironmentBody,
  ): Promise<Project> {
    return this.projects.addEnvironment(request.principal, project, body ?? {});
  }

  @Post(':project/environments/:env/delete')
  @HttpCode(200)
  @ApiOperation({ summary: 'Remove an environment from the project; its site stays' })
  removeEnvironment(
    @Req() request: AuthenticatedRequest,
    @Param('project') project: string,
    @Param('env') env: string,
  ): Promise<Project> {
    return this.projects.removeEnvironment(request.principal, project, env);
  }

  @Post(':project/sync')
  @HttpCode(202)
  @ApiOperation({
    summary:
      "Copy an environment's database and/or files down into an earlier one (never up): the target backed up first, the copy sanitized, the target's updates and hooks run; a failure restores the target",
  })
  @ApiResponse({ status: 409, description: 'from is not later than to, or a site is not enabled' })
  sync(
    @Req() request: AuthenticatedRequest,
    @Param('project') project: string,
    @Body() body: SyncBody,
  ): Promise<TaskView> {
    return this.projects.sync(request.principal, project, body ?? {});
  }

  @Post(':project/deploy')
  @HttpCode(202)
  @ApiOperation({
    summary:
      "Deploy a ref of an environment's site repository (a site deploy, with its rehearsal and short window)",
  })
  deploy(
    @Req() request: AuthenticatedRequest,
    @Param('project') project: string,
    @Body() body: EnvDeployBody,
  ): Promise<TaskView> {
    return this.projects.deploy(request.principal, project, body ?? {});
  }
}
