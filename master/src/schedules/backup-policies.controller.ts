import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import type * as api from '../../../shared/src/api.js';
import { AdminOnly } from '../auth/auth.guard.js';
import { BackupPoliciesService } from './backup-policies.service.js';

export class BackupPolicyBody implements api.BackupPolicyInput {
  @ApiPropertyOptional({
    description:
      "A five-field cron expression in the site's web server's time zone (its agent reports it); null: no scheduled backups",
    example: '0 2 * * *',
    nullable: true,
    type: String,
  })
  schedule?: string | null;

  @ApiPropertyOptional({
    description:
      'Start scheduled backups only between these local times; one not started by the end waits for the next. null: any time',
    example: '01:00-05:00',
    nullable: true,
    type: String,
  })
  window?: string | null;

  @ApiPropertyOptional({ description: 'Keep the newest N automatic backups (at least 1)', example: 7 })
  keepLast?: number;

  @ApiPropertyOptional({ description: 'And the newest of each of the last N days that have one', example: 7 })
  keepDaily?: number;

  @ApiPropertyOptional({ description: 'And of each of the last N ISO weeks', example: 4 })
  keepWeekly?: number;

  @ApiPropertyOptional({ description: 'And of each of the last N months', example: 6 })
  keepMonthly?: number;

  @ApiPropertyOptional({
    description:
      "A five-field cron expression: when each site's newest backup is restore-tested (restored into a scratch " +
      'site, probed, removed), in the same window as the backups; null: never on its own',
    example: '0 4 * * 0',
    nullable: true,
    type: String,
  })
  verifySchedule?: string | null;

  @ApiPropertyOptional({
    description:
      "An off-site target's name (POST /api/store/offsite): each backup of the policy's sites is copied there, " +
      'read back and checked against its sha256; null: none',
    example: 'offsite-eu',
    nullable: true,
    type: String,
  })
  offsite?: string | null;
}

const POLICY_RULE =
  "The most specific policy applies to a site: its own, else its client's, else the global default. " +
  "Retention applies to automatic backups (scheduled, pre-migrate, pre-restore ...), never to a person's own.";

@ApiTags('backup policies')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/backup-policies')
export class BackupPoliciesController {
  constructor(private readonly policies: BackupPoliciesService) {}

  @Get()
  @ApiOperation({
    summary: 'List the backup policies (global, per client, per site)',
    description: POLICY_RULE,
  })
  async list(): Promise<{ items: api.BackupPolicy[] }> {
    return { items: await this.policies.list() };
  }

  @Put('global')
  @ApiOperation({ summary: 'Set the global default policy', description: POLICY_RULE })
  @ApiResponse({ status: 400, description: 'a bad schedule, window or retention count' })
  putGlobal(@Body() body: BackupPolicyBody): Promise<api.BackupPolicy> {
    return this.policies.put('global', null, body ?? {});
  }

  @Get('global')
  @ApiOperation({ summary: 'The global default policy' })
  @ApiResponse({ status: 404, description: 'none is set' })
  getGlobal(): Promise<api.BackupPolicy> {
    return this.policies.get('global', null);
  }

  @Delete('global')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove the global default policy' })
  @ApiResponse({ status: 404, description: 'none is set' })
  async removeGlobal(): Promise<void> {
    await this.policies.remove('global', null);
  }

  @Put('clients/:client')
  @ApiOperation({ summary: "Set a client's policy (its sites without their own)", description: POLICY_RULE })
  @ApiResponse({ status: 400, description: 'a bad schedule, window or retention count' })
  @ApiResponse({ status: 404, description: 'no such client' })
  putClient(@Param('client') client: string, @Body() body: BackupPolicyBody): Promise<api.BackupPolicy> {
    return this.policies.put('client', client, body ?? {});
  }

  @Get('clients/:client')
  @ApiOperation({ summary: "A client's own policy" })
  @ApiResponse({ status: 404, description: 'no such client, or it has no policy' })
  getClient(@Param('client') client: string): Promise<api.BackupPolicy> {
    return this.policies.get('client', client);
  }

  @Delete('clients/:client')
  @HttpCode(204)
  @ApiOperation({ summary: "Remove a client's policy (its sites fall back to the global one)" })
  @ApiResponse({ status: 404, description: 'no such client, or it has no policy' })
  async removeClient(@Param('client') client: string): Promise<void> {
    await this.policies.remove('client', client);
  }

  @Put('sites/:domain')
  @ApiOperation({ summary: "Set a site's own policy", description: POLICY_RULE })
  @ApiResponse({ status: 400, description: 'a bad schedule, window or retention count' })
  @ApiResponse({ status: 404, description: 'no such site' })
  putSite(@Param('domain') domain: string, @Body() body: BackupPolicyBody): Promise<api.BackupPolicy> {
    return this.policies.put('site', domain, body ?? {});
  }

  @Get('sites/:domain')
  @ApiOperation({
    summary:
      "What applies to a site: the policy and where it comes from, the server's time zone, the next due time, the last firing",
  })
  @ApiResponse({ status: 404, description: 'no such site' })
  forSite(@Param('domain') domain: string): Promise<api.SiteBackupSchedule> {
    return this.policies.forSite(domain);
  }

  @Delete('sites/:domain')
  @HttpCode(204)
  @ApiOperation({ summary: "Remove a site's own policy (it falls back to its client's or the global one)" })
  @ApiResponse({ status: 404, description: 'no such site, or it has no policy of its own' })
  async removeSite(@Param('domain') domain: string): Promise<void> {
    await this.policies.remove('site', domain);
  }
}
