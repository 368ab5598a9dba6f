import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AuditController } from './audit/audit.controller.js';
import { AuditService } from './audit/audit.service.js';
import { AuthController, ClientNames } from './auth/auth.controller.js';
import { AuthGuard } from './auth/auth.guard.js';
import { AuthService } from './auth/auth.service.js';
import { TokensController } from './auth/tokens.controller.js';
import { ClientsController } from './clients/clients.controller.js';
import { ClientsService } from './clients/clients.service.js';
import { HealthController } from './health.controller.js';
import { BackupDownloads } from './sites/backup-downloads.js';
import { MastersController } from './masters/masters.controller.js';
import { MastersService } from './masters/masters.service.js';
import { PlatformsController } from './platforms/platforms.controller.js';
import { PlatformsService } from './platforms/platforms.service.js';
import { HealthInfo } from './health-info.js';
import { AppExceptionFilter } from './infra/http/exception.filter.js';
import { MasterMetrics } from './metrics/master-metrics.js';
import { MetricsAccess } from './metrics/metrics-access.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { ServersController } from './servers/servers.controller.js';
import { ClustersController } from './clusters/clusters.controller.js';
import { ClustersService } from './clusters/clusters.service.js';
import { HeadSyncController } from './sites/head-sync.controller.js';
import { BackupPoliciesController } from './schedules/backup-policies.controller.js';
import { BackupPoliciesService } from './schedules/backup-policies.service.js';
import { NotificationsController } from './notifications/notifications.controller.js';
import { NotificationsService } from './notifications/notifications.service.js';
import { OffsiteController } from './offsite/offsite.controller.js';
import { OffsiteService } from './offsite/offsite.service.js';
import { OverviewController } from './overview/overview.controller.js';
import { OverviewService } from './overview/overview.service.js';
import { StoreController } from './store/store.controller.js';
import { StoreService } from './store/store.service.js';
import { HeadSyncService } from './sites/head-sync.service.js';
import { ServerDrainController } from './sites/server-drain.controller.js';
import { ServerDrainService } from './sites/server-drain.service.js';
import { SiteEdgeController } from './sites/edge/site-edge.controller.js';
import { SiteEdgeService } from './sites/edge/site-edge.service.js';
import { SitesController } from './sites/sites.controller.js';
import { ProjectsController } from './projects/projects.controller.js';
import { ProjectsService } from './projects/projects.service.js';
import { SitesService } from './sites/sites.service.js';
import { ServerTasksService } from './servers/server-tasks.service.js';
import { ServersService } from './servers/servers.service.js';
import { TaskLogBus } from './tasks/task-log-bus.js';
import { TasksController } from './tasks/tasks.controller.js';
import { ServerTaskCreator, TasksService } from './tasks/tasks.service.js';
import type { Logger } from 'pino';

/** The objects the HTTP layer needs, built by the master's composition root (master.ts). */
export interface HttpDependencies {
  auth: AuthService;
  audit: AuditService;
  clients: ClientsService;
  clusters: ClustersService;
  platforms: PlatformsService;
  sites: SitesService;
  backupDownloads: BackupDownloads;
  projects: ProjectsService;
  drains: ServerDrainService;
  headSyncs: HeadSyncService;
  backupPolicies: BackupPoliciesService;
  store: StoreService;
  offsite: OffsiteService;
  notifications: NotificationsService;
  overview: OverviewService;
  servers: ServersService;
  siteEdges: SiteEdgeService;
  serverTasks: ServerTasksService;
  tasks: TasksService;
  bus: TaskLogBus;
  health: HealthInfo;
  masters: MastersService;
  metrics: MasterMetrics;
  metricsAccess: MetricsAccess;
  logger: Logger;
}

/**
 * The REST API. The master's services are plain classes assembled in one place (master.ts) and
 * handed to NestJS as values: the wiring stays explicit and the services testable without Nest.
 */
@Module({})
export class AppModule {
  static with(dependencies: HttpDependencies): DynamicModule {
    const providers: Provider[] = [
      { provide: AuthService, useValue: dependencies.auth },
      { provide: AuditService, useValue: dependencies.audit },
      { provide: ClientsService, useValue: dependencies.clients },
      { provide: ClientNames, useValue: dependencies.clients },
      { provide: ClustersService, useValue: dependencies.clusters },
      { provide: PlatformsService, useValue: dependencies.platforms },
      { provide: SitesService, useValue: dependencies.sites },
      { provide: SiteEdgeService, useValue: dependencies.siteEdges },
      { provide: BackupDownloads, useValue: dependencies.backupDownloads },
      { provide: ProjectsService, useValue: dependencies.projects },
      { provide: ServerDrainService, useValue: dependencies.drains },
      { provide: HeadSyncService, useValue: dependencies.headSyncs },
      { provide: BackupPoliciesService, useValue: dependencies.backupPolicies },
      { provide: StoreService, useValue: dependencies.store },
      { provide: OffsiteService, useValue: dependencies.offsite },
      { provide: NotificationsService, useValue: dependencies.notifications },
      { provide: OverviewService, useValue: dependencies.overview },
      { provide: ServersService, useValue: dependencies.servers },
      { provide: ServerTasksService, useValue: dependencies.serverTasks },
      // The task API creates server tasks through the servers feature, which it does not import.
      { provide: ServerTaskCreator, useValue: dependencies.serverTasks },
      { provide: TasksService, useValue: dependencies.tasks },
      { provide: TaskLogBus, useValue: dependencies.bus },
      { provide: HealthInfo, useValue: dependencies.health },
      { provide: MastersService, useValue: dependencies.masters },
      { provide: MasterMetrics, useValue: dependencies.metrics },
      { provide: MetricsAccess, useValue: dependencies.metricsAccess },
      { provide: APP_GUARD, useClass: AuthGuard },
      { provide: APP_FILTER, useValue: new AppExceptionFilter(dependencies.logger) },
    ];
    return {
      module: AppModule,
      controllers: [
        HealthController,
        MastersController,
        AuthController,
        TokensController,
        ServersController,
        ClientsController,
        ClustersController,
        PlatformsController,
        SitesController,
        SiteEdgeController,
        ProjectsController,
        ServerDrainController,
        HeadSyncController,
        BackupPoliciesController,
        StoreController,
        OffsiteController,
        NotificationsController,
        OverviewController,
        TasksController,
        MetricsController,
        AuditController,
      ],
      providers,
    };
  }
}
