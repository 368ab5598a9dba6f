import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { berthVersion } from '../../shared/src/package-root.js';
import { Public } from './auth/auth.guard.js';
import { HealthInfo } from './health-info.js';

@ApiTags('health')
@Controller('api/health')
export class HealthController {
  constructor(private readonly info: HealthInfo) {}

  @Get()
  @Public()
  @ApiOperation({
    summary:
      'Liveness: { status, version, database, master, agentsConnected } (master: which one answered; ' +
      'agentsConnected: the agents whose stream it holds); no token needed',
  })
  health() {
    return {
      status: 'ok',
      version: berthVersion(),
      database: this.info.database,
      master: this.info.masterId,
      agentsConnected: this.info.agentsConnected(),
    };
  }
}
