import { Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type * as api from '../../../shared/src/api.js';
import { AdminOnly, type AuthenticatedRequest } from '../auth/auth.guard.js';
import { StoreService } from './store.service.js';

@ApiTags('store')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/store')
export class StoreController {
  constructor(private readonly store: StoreService) {}

  @Get()
  @ApiOperation({
    summary:
      "What the master's backup store holds: in total, per client, the largest sites, and what no backup names",
  })
  usage(): Promise<api.StoreUsage> {
    return this.store.usage();
  }

  @Post('gc')
  @HttpCode(202)
  @ApiOperation({
    summary:
      "Run the store's garbage collector now (task store.gc): backups past their policy's retention, archives " +
      "nothing names (finished tasks' rollback points, transfers), files without a row and rows without a file",
  })
  collect(@Req() request: AuthenticatedRequest): Promise<api.Task> {
    return this.store.collect(request.principal);
  }
}
