import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuditEvent, Page } from '../../../shared/src/api.js';
import { AdminOnly } from '../auth/auth.guard.js';
import { AuditService, type AuditListFilter } from './audit.service.js';

@ApiTags('audit')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({
    summary:
      'The audit log, newest first (by time, then id), a page at a time (next: the cursor of the page ' +
      'after it, null on the last): every POST, PUT, PATCH and DELETE of the API, refused ones too — who ' +
      '(token id and name), what (method, route, path), target (route parameters), when, from which ' +
      'address, and the outcome (status, error code, the task created). Request bodies are never kept, ' +
      'only an allow-listed summary (names, switches). Append-only: the API cannot change or remove it',
  })
  @ApiQuery({ name: 'limit', required: false, description: 'events per page: 1-500, default 100' })
  @ApiQuery({ name: 'cursor', required: false, description: 'the next of the previous page' })
  @ApiQuery({ name: 'since', required: false, description: 'ISO 8601: events at or after it' })
  @ApiQuery({
    name: 'target',
    required: false,
    description:
      "A route parameter's value (a domain, a server's name), a value of the summary, or a task id",
  })
  @ApiResponse({ status: 400, description: 'a bad limit, cursor, since or target' })
  @ApiResponse({ status: 403, description: 'not an admin token' })
  list(@Query() filter: AuditListFilter): Promise<Page<AuditEvent>> {
    return this.audit.list(filter);
  }
}
