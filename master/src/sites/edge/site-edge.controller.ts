import { Body, Controller, Get, HttpCode, Param, Post, Put, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { SiteEdgeView } from '../../../../shared/src/api.js';
import { PHP_POOL_SETTING_NAMES } from '../../../../shared/src/php-pool.js';
import type { AuthenticatedRequest } from '../../auth/auth.guard.js';
import type { TaskView } from '../../tasks/tasks.service.js';
import { SiteEdgeService } from './site-edge.service.js';

export class AddAliasBody {
  @ApiProperty({ description: 'Another name of the site: a lowercase DNS name', example: 'www.example.org' })
  name!: string;

  @ApiPropertyOptional({
    description: 'Answer it with a permanent redirect (301) to the site’s domain instead of serving it',
    default: false,
  })
  redirect?: boolean;
}

export class HttpsBody {
  @ApiProperty({
    enum: ['letsencrypt', 'uploaded', 'off'],
    description:
      'letsencrypt: a certificate the master obtains over ACME and renews; uploaded: certificate and key given here; off: plain HTTP only',
  })
  mode!: string;

  @ApiPropertyOptional({
    description:
      'With uploaded: the PEM certificate chain, the site’s certificate first; it must name every name of the site',
  })
  certificate?: string;

  @ApiPropertyOptional({
    description:
      'With uploaded: its PEM private key (no passphrase); stored sealed, sent to the site’s servers only, never shown',
  })
  key?: string;

  @ApiPropertyOptional({ description: 'Plain HTTP answered with a 301 to https://', default: false })
  redirect?: boolean;

  @ApiPropertyOptional({
    description: 'Strict-Transport-Security for a year (needs redirect)',
    default: false,
  })
  hsts?: boolean;
}

export class PhpSettingsBody {
  @ApiProperty({
    description: `Settings to change; a value of null takes the default back. Allowed: ${PHP_POOL_SETTING_NAMES.join(', ')}`,
    example: { memory_limit: '256M', upload_max_filesize: '64M' },
  })
  settings!: Record<string, string | null>;
}

/** A site's web edge: its other names, HTTPS and its PHP pool's settings. Each change is a task. */
@ApiTags('sites')
@ApiBearerAuth()
@Controller('api/sites')
export class SiteEdgeController {
  constructor(private readonly edges: SiteEdgeService) {}

  @Get(':domain/edge')
  @ApiOperation({ summary: "The site's other names, HTTPS with each server's certificate, and its PHP pool" })
  show(@Req() request: AuthenticatedRequest, @Param('domain') domain: string): Promise<SiteEdgeView> {
    return this.edges.show(request.principal, domain);
  }

  @Post(':domain/aliases')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Another name for the site, served or redirected (a task): in its vhost on every server, its trusted host patterns and its certificate; kept across migrate, rename and verify',
  })
  @ApiResponse({ status: 400, description: 'not a DNS name, or already a name of this site' })
  @ApiResponse({ status: 409, description: 'the name is another site’s, or the site is not enabled' })
  addAlias(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Body() body: AddAliasBody,
  ): Promise<TaskView> {
    return this.edges.addAlias(request.principal, domain, body ?? {});
  }

  @Post(':domain/aliases/:name/delete')
  @HttpCode(202)
  @ApiOperation({ summary: 'A name of the site removed (a task)' })
  @ApiResponse({ status: 400, description: 'not a name of this site' })
  removeAlias(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Param('name') name: string,
  ): Promise<TaskView> {
    return this.edges.removeAlias(request.principal, domain, name);
  }

  @Put(':domain/https')
  @HttpCode(202)
  @ApiOperation({
    summary:
      "HTTPS on with a Let's Encrypt certificate for every name of the site (each server makes its own key; renewed 30 days before it ends), or off (a task)",
  })
  @ApiResponse({ status: 400, description: 'an unknown mode, or hsts without redirect' })
  setHttps(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Body() body: HttpsBody,
  ): Promise<TaskView> {
    return this.edges.setHttps(request.principal, domain, body ?? {});
  }

  @Post(':domain/https/renew')
  @HttpCode(202)
  @ApiOperation({ summary: "The site's Let's Encrypt certificates issued again now (a task)" })
  @ApiResponse({ status: 409, description: "the site has no Let's Encrypt certificate" })
  renew(@Req() request: AuthenticatedRequest, @Param('domain') domain: string): Promise<TaskView> {
    return this.edges.renew(request.principal, domain);
  }

  @Put(':domain/php')
  @HttpCode(202)
  @ApiOperation({
    summary:
      "The site's PHP settings, from an allow-list, in its own PHP-FPM pool (a task; a site without a pool gets one)",
  })
  @ApiResponse({ status: 400, description: 'a setting not on the list, or a value not of its form' })
  setPhp(
    @Req() request: AuthenticatedRequest,
    @Param('domain') domain: string,
    @Body() body: PhpSettingsBody,
  ): Promise<TaskView> {
    return this.edges.setPhp(request.principal, domain, body ?? {});
  }
}
