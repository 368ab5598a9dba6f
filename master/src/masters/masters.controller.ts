import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { MasterInfo } from '../../../shared/src/api.js';
import { AdminOnly } from '../auth/auth.guard.js';
import { MastersService } from './masters.service.js';

@ApiTags('masters')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/masters')
export class MastersController {
  constructor(private readonly masters: MastersService) {}

  @Get()
  @ApiOperation({
    summary:
      'The masters alive on this registry (one, or several on one PostgreSQL): where each listens, the agents ' +
      'whose stream it holds, and which one runs the periodic work',
  })
  async list(): Promise<{ items: MasterInfo[] }> {
    return { items: await this.masters.list() };
  }
}
