import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { AgentAuthenticator } from './agents/agent-authenticator.js';
import { AgentCredentialsRepository } from './agents/agent-credentials.repository.js';
import { AgentGateway } from './agents/agent-gateway.js';
import { AppModule } from './app.module.js';
import { AuditRepository } from './audit/audit.repository.js';
import { AuditService } from './audit/audit.service.js';
import { AuditTrail } from './audit/audit-trail.js';
import { ApiTokensRepository } from './auth/api-tokens.repository.js';
import { AuthService } from './auth/auth.service.js';
import { ClientsRepository } from './clients/clients.repository.js';
import { ClientsService } from './clients/clients.service.js';
import { ArchiveRepository } from './backups/archive.repository.js';
import { ArchiveStore } from './backups/archive-store.js';
import { HealthInfo } from './health-info.js';
import type { Principal } from './auth/auth.service.js';
import { AppError } from './infra/http/app-error.js';
import { buildApiDocument } from './infra/http/openapi.js';
import { serveWebUi } from './infra/http/web-ui.js';
import { type MasterConfig } from './infra/config/master-config.js';
import { databaseKind, openDatabase, type DatabaseKind } from './infra/db/data-source.js';
import { lockDataDir } from './infra/db/data-dir-lock.js';
import { LocalSignalChannel, PostgresSignalChannel, type SignalChannel } from './infra/db/signal-channel.js';
import { MasterPresence } from './masters/master-presence.js';
import { MastersRepository } from './masters/masters.repository.js';
import { MastersService } from './masters/masters.service.js';
import { AgentGrpcServer } from './infra/grpc/grpc-server.js';
import { NestPinoLogger } from './infra/logging/logger.js';
import { CertificateAuthority } from './pki/certificate-authority.js';
import { EnrollmentService } from './pki/enrollment.service.js';
import { MasterMetrics } from './metrics/master-metrics.js';
import { MetricsAccess } from './metrics/metrics-access.js';
import { MetricsRepository } from './metrics/metrics.repository.js';
import { EnrollmentTokenRepository } from './servers/enrollment-token.repository.js';
import { PackagesRepository } from './packages/packages.repository.js';
import { PlatformsRepository } from './platforms/platforms.repository.js';
import { PlatformsService } from './platforms/platforms.service.js';
import { ServersRepository } from './servers/servers.repository.js';
import { ServersService } from './servers/servers.service.js';
import { BackupsRepository } from './backups/backups.repository.js';
import { SecretBox } from './infra/crypto/secret-box.js';
import { siteSecretResolver } from './sites/site-secrets.js';
import { platformSecretResolver } from './platforms/platform-secrets.js';
import { SitesRepository } from './sites/sites.repository.js';
import { SitesService } from './sites/sites.service.js';
import { BackupDownloads } from './sites/backup-downloads.js';
import { serverWorkflows } from './servers/tasks/server.workflows.js';
import { AgentPresenceRecorder } from './servers/agent-presence.js';
import { ServerTasksService } from './servers/server-tasks.service.js';
import { platformWorkflows } from './platforms/tasks/platform.workflows.js';
import { ClustersRepository } from './clusters/clusters.repository.js';
import { clusterWorkflows } from './clusters/tasks/cluster.workflows.js';
import { ClustersService } from './clusters/clusters.service.js';
import { HeadSyncService } from './sites/head-sync.service.js';
import { ServerDrainService } from './sites/server-drain.service.js';
import { AcmeAuthority } from './sites/edge/acme-authority.js';
import { edgeSecretResolver } from './sites/edge/edge-secrets.js';
import { edgeWorkflows, type EdgeWorkflowDependencies } from './sites/edge/edge.workflows.js';
import { SiteEdgeService } from './sites/edge/site-edge.service.js';
import { SiteEdgesRepository } from './sites/edge/site-edges.repository.js';
import { SitePlaces } from './sites/site-places.js';
import { BackupPoliciesRepository } from './schedules/backup-policies.repository.js';
import { BackupPoliciesService } from './schedules/backup-policies.service.js';
import { FiringsRepository } from './schedules/firings.repository.js';
import { Scheduler } from './schedules/scheduler.js';
import { NotificationsRepository } from './notifications/notifications.repository.js';
import { NotificationsService } from './notifications/notifications.service.js';
import { Notifier } from './notifications/notifier.js';
import { SmtpMailer } from './notifications/senders.js';
import { OffsiteRepository } from './offsite/offsite.repository.js';
import { OffsiteService } from './offsite/offsite.service.js';
import { OffsiteStore } from './offsite/offsite-store.js';
import { OverviewRepository } from './overview/overview.repository.js';
import { OverviewService } from './overview/overview.service.js';
import { S3Bucket } from './offsite/s3-bucket.js';
import { StoreCollector } from './store/store-collector.js';
import { StoreRepository } from './store/store.repository.js';
import { StoreService } from './store/store.service.js';
import { storeWorkflows } from './store/tasks/store-gc.workflow.js';
import { siteWorkflows, type SiteWorkflowDependencies } from './sites/tasks/index.js';
import { projectWorkflows } from './projects/tasks/sync.workflow.js';
import { ProjectsRepository } from './projects/projects.repository.js';
import { ProjectsService } from './projects/projects.service.js';
import { AttemptsRepository } from './tasks/attempts.repository.js';
import { TaskEngine } from './tasks/engine/task-engine.js';
import { WorkflowRegistry } from './tasks/engine/workflow-registry.js';
import { StepLogRepository } from './tasks/step-log.repository.js';
import { TaskLogBus } from './tasks/task-log-bus.js';
import { TaskLogsRepository } from './tasks/task-logs.repository.js';
import { TaskQueue } from './tasks/task-queue.js';
import { TasksRepository } from './tasks/tasks.repository.js';
import { TaskRetrier, TasksService } from './tasks/tasks.service.js';
import { isServerTaskType } from '../../shared/src/tasks.js';

/** How long requests in flight may take to finish when the master stops. */
const HTTP_DRAIN_MS = 1_000;

/**
 * Stops the REST API: no new connections, idle ones closed now, requests in flight given a moment,
 * then every connection closed — a follower's event stream (`berth task log --follow`, a task page)
 * never ends by itself, and waiting for it would keep the engine and the registry from stopping.
 */
async function closeHttp(app: NestExpressApplication): Promise<void> {
  const server: Server = app.getHttpServer();
  const closed = app.close();
  server.closeIdleConnections();
  const drain = setTimeout(() => server.closeAllConnections(), HTTP_DRAIN_MS);
  try {
    await closed;
  } finally {
    clearTimeout(drain);
  }
}

/** Who the master itself acts as when a task queues other tasks (a platform upgrade's migrates). */
/** How often the master looks for moved sites whose old server's grace period is over. */
const RELEASE_CHECK_MS = 60_000;

/**
 * How far back a starting master looks for failed tasks to notify of: one that was down (or a
 * deploy) for less catches up; the unique delivery rows keep what was sent from being sent again.
 */
const NOTIFY_LOOKBACK_MS = 3600_000;

const SYSTEM_PRINCIPAL: Principal = { tokenId: 'system', name: 'berth', role: 'admin', clientId: null };

export interface RunningMaster {
  httpUrl: string;
  httpPort: number;
  grpcPort: number;
  /** The first admin API token: non-null only on the very first start, shown once. */
  adminToken: string | null;
  database: DatabaseKind;
  /**
   * Settles when the master stops by itself, with why: another process took its name
   * (BERTH_MASTER_ID). The caller exits with an error then.
   */
  ended: Promise<string>;
  stop(): Promise<void>;
}

/**
 * The composition root: opens the registry, builds every service with its dependencies spelled out,
 * then starts the gRPC server for agents, the task engine and the REST API, in that order.
 */
export async function assembleMaster(config: MasterConfig, logger: Logger): Promise<RunningMaster> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const database = databaseKind({ url: config.databaseUrl, dataDir: config.dataDir });
  // One master per data directory (its embedded database, its CA files, its uploads in flight).
  const unlock = lockDataDir(config.dataDir);
  let db: DataSource;
  try {
    db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  } catch (error) {
    unlock();
    throw error;
  }
  const stops: Array<() => Promise<void>> = [
    async () => {
      await db.destroy();
      unlock();
    },
  ];
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      for (const stop of stops.reverse()) {
        await stop().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
      }
    })());
  let endedBy: (reason: string) => void = () => undefined;
  const ended = new Promise<string>((resolve) => {
    endedBy = resolve;
  });
  try {
    // The other masters of the registry: signals between them, and this one's presence among them.
    const signals: SignalChannel = config.databaseUrl
      ? await PostgresSignalChannel.open(config.databaseUrl, logger.child({ component: 'signals' }))
      : new LocalSignalChannel();
    stops.push(() => signals.close());
    const mastersRepository = new MastersRepository(db);
    const masterPresence = new MasterPresence(
      mastersRepository,
      {
        id: config.masterId,
        instance: signals.instance,
        leaseMs: config.masterLeaseMs,
        home: `${hostname()}:${config.dataDir}`,
      },
      logger.child({ component: 'masters' }),
      (reason) => {
        logger.error({ masterId: config.masterId }, reason);
        void stopAll().then(() => endedBy(reason));
      },
    );
    await masterPresence.start();
    stops.push(() => masterPresence.stop());
    const ca = await CertificateAuthority.open(
      { dataDir: config.dataDir, publicHosts: [...config.publicHosts] },
      logger,
    );
    const enrollment = new EnrollmentService(ca, new EnrollmentTokenRepository(db), config, logger);
    const credentials = new AgentCredentialsRepository(db);
    const serversRepository = new ServersRepository(db);
    const presence = new AgentPresenceRecorder(serversRepository, logger);
    stops.push(() => presence.flush());
    const gateway = new AgentGateway(new AgentAuthenticator(ca, credentials), credentials, config, logger, {
      // Which master holds the agent's stream first: the engine it says hello to dispatches by it.
      helloFrom: async (serverId, hello) => {
        await masterPresence.agentConnected(serverId);
        await presence.helloFrom(serverId, hello);
      },
      heardFrom: (serverId) => presence.heardFrom(serverId),
      goneFrom: (serverId) => masterPresence.agentDisconnected(serverId),
    });
    const metricsRepository = new MetricsRepository(db);
    const siteEdgesRepository = new SiteEdgesRepository(db);
    const metrics = new MasterMetrics({
      taskCounts: () => metricsRepository.taskCounts(),
      agentsConnected: () => gateway.connectedCount(),
      storeUsage: () => storeCollector.clientUsage(),
      certificates: () => siteEdgesRepository.allCertificates(),
    });
    const archives = new ArchiveStore(new ArchiveRepository(db), config, logger, metrics);
    await archives.start();
    const policiesRepository = new BackupPoliciesRepository(db);
    const firingsRepository = new FiringsRepository(db);
    const storeCollector: StoreCollector = new StoreCollector({
      store: new StoreRepository(db),
      archives,
      policies: policiesRepository,
      firings: firingsRepository,
      config,
      logger: logger.child({ component: 'store' }),
    });

    const platformsRepository = new PlatformsRepository(db);
    const packagesRepository = new PackagesRepository(db);
    const sitesRepository = new SitesRepository(db);
    const backupsRepository = new BackupsRepository(db);
    const clientsRepository = new ClientsRepository(db);
    const secretBox = SecretBox.open({ dataDir: config.dataDir, keyBase64: config.secretKey });
    const offsiteRepository = new OffsiteRepository(db);
    const notificationsRepository = new NotificationsRepository(db);
    // Backups copied to off-site buckets by a worker (claimed rows, retried), and put back from them.
    const offsiteStore = new OffsiteStore({
      repository: offsiteRepository,
      archives,
      decrypt: (sealed) => secretBox.decrypt(sealed),
      gaveUp: async (copy, error) => {
        const at = new Date();
        await notificationsRepository.enqueue({
          event: 'backup.offsite-failed',
          subjectId: copy.id,
          clientId: copy.clientId,
          occurredAt: at,
          payload: {
            event: 'backup.offsite-failed',
            at: at.toISOString(),
            copy: { archiveId: copy.archiveId, target: copy.target.name, domain: copy.domain, error },
          },
        });
      },
      options: { pollMs: config.offsitePollMs, backoffMs: config.offsiteBackoffMs },
      logger: logger.child({ component: 'offsite' }),
    });
    const tasksRepository = new TasksRepository(db);
    const stepLog = new StepLogRepository(db);
    const attempts = new AttemptsRepository(db);
    const taskLogs = new TaskLogsRepository(db);
    const bus = new TaskLogBus(signals);
    const workflows = new WorkflowRegistry();
    const siteSecrets = siteSecretResolver(tasksRepository, sitesRepository, secretBox);
    const platformSecrets = platformSecretResolver(tasksRepository, platformsRepository, secretBox);
    const edgeSecrets = edgeSecretResolver(tasksRepository, siteEdgesRepository, secretBox);
    const engine = new TaskEngine({
      tasks: tasksRepository,
      stepLog,
      attempts,
      logs: taskLogs,
      link: gateway,
      bus,
      workflows,
      config,
      logger: logger.child({ component: 'engine' }),
      runnerId: config.masterId,
      holdMs: config.masterLeaseMs,
      peers: {
        signals,
        alone: () => masterPresence.alone(),
        leads: () => masterPresence.leads(),
        connectedServerIds: () => masterPresence.connectedServerIds(),
      },
      // Each resolver answers for its own steps only: a site's password, a platform's deploy key.
      secrets: async (attempt) => ({
        ...(await siteSecrets(attempt)),
        ...(await platformSecrets(attempt)),
        ...(await edgeSecrets(attempt)),
      }),
      metrics,
    });
    const queue = new TaskQueue(tasksRepository, () => engine.wake());
    const auth = new AuthService(new ApiTokensRepository(db));
    const auditRepository = new AuditRepository(db);
    const auditTrail = new AuditTrail(auditRepository, logger.child({ component: 'audit' }));
    const adminToken = await auth.bootstrapAdminToken();

    const serverTasks = new ServerTasksService(serversRepository, queue, archives, config);
    const clustersRepository = new ClustersRepository(db);
    const platformsService = new PlatformsService(
      platformsRepository,
      packagesRepository,
      serversRepository,
      queue,
      clustersRepository,
      secretBox,
    );
    // Which servers' agents are connected now, to any master (the sites' cluster checks).
    const connectedAgents = {
      isConnected: async (serverId: string) => (await masterPresence.connectedServerIds()).includes(serverId),
    };
    const sitesService = new SitesService(
      sitesRepository,
      platformsRepository,
      serversRepository,
      clientsRepository,
      packagesRepository,
      backupsRepository,
      queue,
      archives,
      secretBox,
      { releaseOldAfterMs: config.releaseOldAfterMs },
      clustersRepository,
      connectedAgents,
      offsiteRepository,
    );

    const siteEdgeService = new SiteEdgeService(
      sitesService,
      siteEdgesRepository,
      serversRepository,
      queue,
      secretBox,
    );
    const platformDeps = { platforms: platformsRepository, packages: packagesRepository, archives };
    // What the site tasks (and a project's syncs, which are site tasks) read and change.
    const siteTaskDeps: SiteWorkflowDependencies = {
      places: new SitePlaces(
        sitesRepository,
        platformsRepository,
        serversRepository,
        clustersRepository,
        siteEdgesRepository,
      ),
      edges: {
        setEdge: (siteId, edge) => siteEdgesRepository.setEdge(siteId, edge),
        nextPoolUid: () => siteEdgesRepository.nextPoolUid(),
        queueCertificate: (siteId) => siteEdgeService.queueCertificate(SYSTEM_PRINCIPAL, siteId),
      },
      agents: {
        disconnected: async (serverIds) => {
          const connected = new Set(await masterPresence.connectedServerIds());
          return serverIds.filter((id) => !connected.has(id));
        },
      },
      heads: clustersRepository,
      sites: sitesRepository,
      packages: packagesRepository,
      backups: {
        findById: (id) => backupsRepository.findById(id),
        remove: (id) => backupsRepository.remove(id),
        setVerification: (id, passed) => backupsRepository.setVerification(id, passed),
        // A backup recorded is a backup to copy off-site, when its policy names a target: the
        // copies are made in the same recorded effect (once, whichever replay records it).
        recordOnce: async (backup) => {
          const recorded = await backupsRepository.recordOnce(backup);
          await offsiteRepository.enqueueBackup(recorded.id);
          return recorded;
        },
      },
      archives: {
        reserve: (serverId, purpose) => archives.reserve(serverId, purpose),
        remove: (archiveId) => archives.remove(archiveId),
        check: (archiveId) => archives.check(archiveId),
        putBack: (archiveId) => offsiteStore.putBack(archiveId),
      },
      platformUpgrade: {
        // A platform upgrade or a drain queues each site's migrate through the same checks as the API.
        queueMigrate: async (parentTaskId, domain, target, force) => {
          try {
            const task = await sitesService.migrate(
              SYSTEM_PRINCIPAL,
              domain,
              { ...target, force },
              parentTaskId,
            );
            return { taskId: task.id };
          } catch (error) {
            if (error instanceof AppError) return { refused: error.message };
            throw error;
          }
        },
        queuedMigrate: (upgradeTaskId, siteId) => queue.findChild(upgradeTaskId, siteId),
        task: (id) => queue.find(id),
        build: platformDeps,
        platforms: platformsRepository,
      },
    };
    // HTTPS certificates: the master's ACME account orders them, each server makes its own key.
    const acme = new AcmeAuthority(
      { directoryUrl: config.acmeDirectoryUrl, email: config.acmeEmail, caFile: config.acmeCaFile },
      siteEdgesRepository,
      secretBox,
    );
    const edgeDeps: EdgeWorkflowDependencies = {
      ...siteTaskDeps,
      acme,
      certificates: {
        of: (siteId) => siteEdgesRepository.certificatesOf(siteId),
        record: (certificate) => siteEdgesRepository.recordCertificate(certificate),
        forget: (siteId, keep) => siteEdgesRepository.forgetCertificates(siteId, keep),
        upload: async (siteId) => {
          const upload = await siteEdgesRepository.upload(siteId);
          return upload ? { certificatePem: upload.certificatePem } : null;
        },
      },
    };
    // Each feature gives the engine its workflows, with what they may change spelled out.
    for (const registration of [
      ...edgeWorkflows(edgeDeps),
      ...serverWorkflows({ servers: serversRepository, archives }),
      ...platformWorkflows(platformDeps),
      ...clusterWorkflows({ clusters: clustersRepository }),
      ...storeWorkflows({ collector: storeCollector }),
      ...siteWorkflows(siteTaskDeps),
      ...projectWorkflows(siteTaskDeps),
    ]) {
      workflows.register(registration);
    }

    // The engine attaches to the gateway before any agent can say hello.
    await engine.start();
    stops.push(() => engine.stop());

    // Notifications of failed tasks and missed schedules: made once per target in the registry, sent
    // by whichever master claims them first.
    const mailer = config.smtpUrl ? new SmtpMailer(config.smtpUrl, config.smtpFrom) : undefined;
    const notifier = new Notifier({
      repository: notificationsRepository,
      decrypt: (sealed) => secretBox.decrypt(sealed),
      ...(mailer ? { mailer } : {}),
      options: {
        pollMs: config.notifyPollMs,
        backoffMs: config.notifyBackoffMs,
        lookbackMs: NOTIFY_LOOKBACK_MS,
        agentDownMs: config.notifyAgentDownMs,
      },
      logger: logger.child({ component: 'notifications' }),
    });
    notifier.start();
    stops.push(async () => {
      await notifier.stop();
      mailer?.close();
    });
    offsiteStore.start();
    stops.push(() => offsiteStore.stop());

    // Scheduled backups and the store's collector: firings in the registry, started once.
    const storeService = new StoreService(storeCollector, queue);
    const scheduler = new Scheduler({
      firings: firingsRepository,
      policies: policiesRepository,
      backups: { taskFor: (siteId) => sitesService.scheduledBackup(siteId) },
      verifies: { taskFor: (siteId) => sitesService.scheduledVerify(siteId) },
      ...(config.siteCron
        ? { crons: { taskFor: (siteId: string) => sitesService.scheduledCron(siteId) } }
        : {}),
      ...(config.storeGcSchedule
        ? { storeGc: { schedule: config.storeGcSchedule, taskFor: () => storeService.scheduledCollect() } }
        : {}),
      insert: (executor, task) => queue.insertIn(executor, task),
      wake: () => engine.wake(),
      missed: (firing) => notifier.missed(firing),
      leads: () => masterPresence.leads(),
      config,
      logger: logger.child({ component: 'scheduler' }),
    });
    scheduler.start();
    stops.push(() => scheduler.stop());

    // Sites that moved to another server are released from the old one once its grace is over.
    const releases = setInterval(() => {
      if (!masterPresence.leads()) return;
      sitesService.releaseDue(SYSTEM_PRINCIPAL, new Date()).then(
        (queued) => {
          if (queued > 0) logger.info({ queued }, 'released moved sites from their old servers');
        },
        (error: unknown) => logger.error({ err: error }, 'queuing the release of moved sites failed'),
      );
    }, RELEASE_CHECK_MS);
    releases.unref();
    stops.push(() => {
      clearInterval(releases);
      return Promise.resolve();
    });
    // Certificates that end within the renewal window are issued again, by the leading master.
    const renewals = setInterval(() => {
      if (!masterPresence.leads()) return;
      siteEdgeService.renewDue(SYSTEM_PRINCIPAL, new Date(), config.certRenewBeforeMs).then(
        (queued) => {
          if (queued > 0) logger.info({ queued }, 'queued certificate renewals');
        },
        (error: unknown) => logger.error({ err: error }, 'queuing certificate renewals failed'),
      );
    }, config.certCheckMs);
    renewals.unref();
    stops.push(() => {
      clearInterval(renewals);
      return Promise.resolve();
    });
    const grpcServer = new AgentGrpcServer({ ca, enrollment, gateway, archives, config, logger });
    const grpcPort = await grpcServer.start();
    stops.push(() => grpcServer.stop());

    const serversService = new ServersService(serversRepository, enrollment, masterPresence, {
      ...config,
      grpcPort,
    });
    // `berth task retry`: each task type is started again by the feature that owns it.
    const retrier: TaskRetrier = {
      retry: (principal, task) => {
        if (task.targetKind === 'site') return sitesService.retry(principal, task);
        if (task.type === 'platform.verify') return platformsService.verify(principal, task.targetId);
        if (task.type === 'store.gc') return storeService.collect(principal);
        if (isServerTaskType(task.type)) {
          return serverTasks.create(principal, {
            type: task.type,
            server: task.targetId,
            params: task.params,
          });
        }
        return Promise.resolve(undefined);
      },
    };
    const offsiteService = new OffsiteService(
      offsiteRepository,
      secretBox,
      async (location) => {
        const bucket = new S3Bucket(location);
        try {
          await bucket.probe();
        } finally {
          bucket.close();
        }
      },
      async (scopeKey) => {
        const [scope, id] = scopeKey.split(':') as [string, string | undefined];
        if (!id) return scope;
        const name =
          scope === 'site'
            ? (await sitesRepository.findByDomainOrId(id))?.domain
            : (await clientsRepository.findByNameOrId(id))?.name;
        return `${scope} ${name ?? id}`;
      },
    );
    const tasksService = new TasksService(
      tasksRepository,
      stepLog,
      attempts,
      taskLogs,
      serversService,
      engine,
      bus,
      retrier,
    );

    const app = await NestFactory.create<NestExpressApplication>(
      AppModule.with({
        auth,
        audit: new AuditService(auditRepository),
        clients: new ClientsService(clientsRepository),
        clusters: new ClustersService(clustersRepository, serversService, queue),
        servers: serversService,
        serverTasks,
        tasks: tasksService,
        platforms: platformsService,
        sites: sitesService,
        siteEdges: siteEdgeService,
        backupDownloads: new BackupDownloads(sitesService, backupsRepository, archives),
        projects: new ProjectsService(
          new ProjectsRepository(db),
          sitesService,
          sitesRepository,
          platformsRepository,
          clientsRepository,
          queue,
          archives,
        ),
        drains: new ServerDrainService(
          sitesRepository,
          platformsRepository,
          serversRepository,
          packagesRepository,
          queue,
        ),
        headSyncs: new HeadSyncService(clustersRepository, connectedAgents, queue),
        backupPolicies: new BackupPoliciesService(
          policiesRepository,
          {
            site: (domainOrId) => sitesRepository.findByDomainOrId(domainOrId),
            client: (nameOrId) => clientsRepository.findByNameOrId(nameOrId),
          },
          firingsRepository,
          {
            idOf: (name) => offsiteService.idOf(name),
            nameOf: async (id) => (await offsiteRepository.findTarget(id))?.name ?? null,
          },
        ),
        store: storeService,
        offsite: offsiteService,
        notifications: new NotificationsService(
          notificationsRepository,
          clientsRepository,
          secretBox,
          mailer !== undefined,
        ),
        overview: new OverviewService(new OverviewRepository(db), masterPresence),
        bus,
        health: new HealthInfo(database, () => gateway.connectedCount(), config.masterId),
        masters: new MastersService(mastersRepository, config.masterLeaseMs),
        metrics,
        metricsAccess: new MetricsAccess(auth, config.metricsToken),
        logger,
      }),
      { logger: new NestPinoLogger(logger.child({ component: 'http' })), bodyParser: true },
    );
    // First in the chain, so that a request the body parser or the auth guard refuses is audited too.
    app.use(auditTrail.middleware());
    app.useBodyParser('json', { limit: '1mb' });
    serveWebUi(app);
    const document = buildApiDocument(app, logger.child({ component: 'http' }));
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
    await app.listen(config.httpPort, config.httpHost);
    // Stopped in reverse: the API closes first, then the audit events of its last requests are written.
    stops.push(() => auditTrail.flush());
    stops.push(() => closeHttp(app));
    const address = app.getHttpServer().address() as { port: number };
    const host = config.httpHost.includes(':') ? `[${config.httpHost}]` : config.httpHost;
    const httpUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
    await masterPresence.describe(httpUrl, grpcPort);
    logger.info({ httpUrl, grpcPort, database, masterId: config.masterId }, 'master started');
    return { httpUrl, httpPort: address.port, grpcPort, adminToken, database, ended, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
