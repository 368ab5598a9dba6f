import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type * as api from '../../../shared/src/api.js';
import { AdminOnly } from '../auth/auth.guard.js';
import { OffsiteService } from './offsite.service.js';

export class OffsiteTargetBody implements api.OffsiteTargetInput {
  @ApiProperty({ description: 'A name for it (lowercase letters, digits, "-", "_")', example: 'offsite-eu' })
  name!: string;

  @ApiProperty({
    description: 'The S3 API, http(s)://host[:port]',
    example: 'https://s3.eu-central-1.amazonaws.com',
  })
  endpoint!: string;

  @ApiProperty({ example: 'berth-backups' })
  bucket!: string;

  @ApiPropertyOptional({ default: 'us-east-1' })
  region?: string;

  @ApiPropertyOptional({ description: 'Prepended to every key, ending in "/"', example: 'berth/' })
  prefix?: string;

  @ApiPropertyOptional({ description: 'Path-style URLs (endpoint/bucket/key)', default: true })
  pathStyle?: boolean;

  @ApiProperty()
  accessKeyId!: string;

  @ApiProperty({ description: 'Stored encrypted; never shown again, never logged' })
  secretAccessKey!: string;
}

@ApiTags('store')
@ApiBearerAuth()
@AdminOnly()
@Controller('api/store/offsite')
export class OffsiteController {
  constructor(private readonly offsite: OffsiteService) {}

  @Get()
  @ApiOperation({
    summary:
      'The off-site targets (S3-compatible buckets) with what each holds and the policies that copy there; never a secret',
  })
  async list(): Promise<{ items: api.OffsiteTarget[] }> {
    return { items: await this.offsite.list() };
  }

  @Post()
  @ApiOperation({
    summary:
      'Add an off-site target: added only once the bucket took, returned and deleted a test object with these ' +
      "settings; a policy's offsite then copies each backup there, read back and checked against its sha256",
  })
  @ApiResponse({
    status: 400,
    description: 'a bad field, or the bucket refused the test object (its answer)',
  })
  @ApiResponse({ status: 409, description: 'the name is taken' })
  add(@Body() body: OffsiteTargetBody): Promise<api.OffsiteTarget> {
    return this.offsite.add(body);
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove an off-site target from the registry (its objects stay in the bucket)' })
  @ApiResponse({ status: 409, description: 'a backup policy names it' })
  async remove(@Param('name') name: string): Promise<void> {
    await this.offsite.remove(name);
  }
}
