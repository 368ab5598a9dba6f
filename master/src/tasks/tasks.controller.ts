import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { Page } from '../../../shared/src/api.js';
import { FINISHED_TASK_STATES, SERVER_TASK_TYPES, TASK_STATES } from '../../../shared/src/tasks.js';
import { AdminOnly, type AuthenticatedRequest } from '../auth/auth.guard.js';
import { TaskLogBus, type TaskEvent } from './task-log-bus.js';
import {
  ServerTaskCreator,
  TasksService,
  type StepView,
  type TaskListInput,
  type TaskView,
} from './tasks.service.js';

export class CreateTaskBody {
  @ApiProperty({
    enum: SERVER_TASK_TYPES,
    description: 'debug.* types only when the master runs with BERTH_DEBUG_TASKS=1',
  })
  type!: string;

  @ApiProperty({ description: 'The server (name or id) the task runs on', example: 'web1' })
  server!: string;

  @ApiPropertyOptional({
    description: 'server.transfer-check: { bytes }; debug.sleep: { ms }',
    type: 'object',
    additionalProperties: true,
  })
  params?: Record<string, unknown>;
}

@ApiTags('tasks')
@ApiBearerAuth()
@Controller('api/tasks')
export class TasksController {
  constructor(
    private readonly tasks: TasksService,
    private readonly serverTasks: ServerTaskCreator,
    private readonly bus: TaskLogBus,
  ) {}

  @Post()
  @AdminOnly()
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue a server task (server.verify, server.transfer-check, debug.*)' })
  @ApiResponse({ status: 400, description: 'unknown type, bad params, or a debug type while disabled' })
  create(@Req() request: AuthenticatedRequest, @Body() body: CreateTaskBody): Promise<TaskView> {
    return this.serverTasks.create(request.principal, body ?? {});
  }

  @Get()
  @ApiOperation({
    summary:
      'List tasks (a client token sees its own), newest first (created, then id): a page and the cursor of the ' +
      'next one (next: null on the last), filtered by state, type, target, server and since',
  })
  @ApiQuery({ name: 'limit', required: false, description: 'tasks per page: 1-500, default 50' })
  @ApiQuery({ name: 'cursor', required: false, description: 'the next of the previous page' })
  @ApiQuery({ name: 'state', required: false, enum: TASK_STATES })
  @ApiQuery({ name: 'type', required: false, description: 'a task type, e.g. site.migrate' })
  @ApiQuery({
    name: 'target',
    required: false,
    description:
      "what the task is on: a site's domain or a platform's, server's or cluster's name (as the task " +
      'recorded it), or any id',
  })
  @ApiQuery({
    name: 'server',
    required: false,
    description: "a server's name or id: the tasks on that server",
  })
  @ApiQuery({
    name: 'since',
    required: false,
    description: 'ISO 8601 date or date and time (UTC unless a zone is given): tasks created at or after it',
  })
  @ApiResponse({
    status: 400,
    description: 'a bad limit, cursor, state, type or since (the message names it)',
  })
  @ApiResponse({ status: 404, description: 'no such server' })
  list(@Req() request: AuthenticatedRequest, @Query() query: TaskListInput): Promise<Page<TaskView>> {
    return this.tasks.list(request.principal, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Show a task with its steps and their attempts' })
  @ApiResponse({ status: 404, description: 'no such task' })
  show(
    @Req() request: AuthenticatedRequest,
    @Param('id') id: string,
  ): Promise<TaskView & { steps: StepView[] }> {
    return this.tasks.show(request.principal, id);
  }

  @Get(':id/log')
  @ApiOperation({
    summary: 'Log lines after a cursor: { lines, next, taskState }; poll with after=next to follow',
  })
  @ApiQuery({ name: 'after', required: false })
  @ApiQuery({ name: 'limit', required: false })
  log(
    @Req() request: AuthenticatedRequest,
    @Param('id') id: string,
    @Query('after') after?: string,
    @Query('limit') limit?: string,
  ) {
    return this.tasks.log(request.principal, id, after, limit);
  }

  @Get(':id/events')
  @ApiOperation({
    summary: 'Server-sent events: "log" (lines), "progress", "state"; ends with "end" when the task finishes',
  })
  async events(
    @Req() request: AuthenticatedRequest,
    @Param('id') id: string,
    @Query('after') after: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const task = await this.tasks.get(request.principal, id);
    response.status(200).set({
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    response.flushHeaders();
    const send = (event: string, data: unknown) =>
      response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const resumeFrom = String(request.headers['last-event-id'] ?? after ?? '0');
    let lastId = /^\d{1,18}$/.test(resumeFrom) ? BigInt(resumeFrom) : 0n;
    const queued: TaskEvent[] = [];
    let replaying = true;
    const deliver = (event: TaskEvent) => {
      if (event.kind === 'log') {
        const fresh = event.lines.filter((line) => BigInt(line.id) > lastId);
        if (fresh.length === 0) return;
        lastId = BigInt(fresh.at(-1)!.id);
        response.write(`id: ${lastId}\n`);
        send('log', fresh);
      } else if (event.kind === 'progress') {
        send('progress', event.progress);
      } else {
        send('state', { state: event.state });
        if (FINISHED_TASK_STATES.includes(event.state)) finish();
      }
    };
    // Subscribe first, then replay what is stored: nothing falls between the two.
    const unsubscribe = this.bus.subscribe(task.id, (event) =>
      replaying ? queued.push(event) : deliver(event),
    );
    const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), 15_000);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(heartbeat);
      unsubscribe();
      send('end', {});
      response.end();
    };
    request.on('close', () => {
      finished = true;
      clearInterval(heartbeat);
      unsubscribe();
    });
    for (;;) {
      const page = await this.tasks.log(request.principal, id, lastId.toString(), '1000');
      if (page.lines.length > 0) deliver({ kind: 'log', lines: page.lines });
      if (page.lines.length < 1000) break;
    }
    replaying = false;
    for (const event of queued.splice(0)) deliver(event);
    const current = await this.tasks.get(request.principal, id);
    send('state', { state: current.state });
    if (FINISHED_TASK_STATES.includes(current.state)) finish();
  }

  @Post(':id/retry')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Start a failed or cancelled task again: a new task with the same parameters (fresh archives, the checks of ' +
      'its command), linked to this one by retryOf. Not for install, clone and rename (they made the site row)',
  })
  @ApiResponse({
    status: 409,
    description: 'the task is not failed or cancelled, or its type cannot be retried',
  })
  retry(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<TaskView> {
    return this.tasks.retry(request.principal, id);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Cancel a task: a queued one at once; a running one is stopped (SIGTERM, then SIGKILL) and rolled back',
  })
  @ApiResponse({ status: 409, description: 'the task already finished' })
  cancel(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<TaskView> {
    return this.tasks.cancel(request.principal, id);
  }
}
