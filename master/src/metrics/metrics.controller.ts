import { Controller, Get, Headers, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Registry } from 'prom-client';
import { Public } from '../auth/auth.guard.js';
import { MasterMetrics } from './master-metrics.js';
import { MetricsAccess } from './metrics-access.js';

/** Prometheus's scrape endpoint, outside /api: its own token rule (MetricsAccess), not the API guard's. */
@ApiTags('metrics')
@ApiBearerAuth()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MasterMetrics,
    private readonly access: MetricsAccess,
  ) {}

  @Get()
  @Public()
  @ApiOperation({
    summary:
      'Prometheus metrics (text format 0.0.4): tasks by type and state, step durations, agents connected, ' +
      'backup bytes, offline windows, and the process. Needs the metrics token (BERTH_METRICS_TOKEN) or an admin token',
  })
  @ApiProduces(Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({ description: 'the metrics', schema: { type: 'string' } })
  @ApiResponse({ status: 401, description: 'no token, or neither the metrics token nor a valid API token' })
  @ApiResponse({ status: 403, description: "a client's API token" })
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<string> {
    await this.access.check(authorization);
    const text = await this.metrics.text();
    response.type(Registry.PROMETHEUS_CONTENT_TYPE);
    return text;
  }
}
