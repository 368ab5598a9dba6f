/** API objects for tests, with overrides: each test says only what matters to it. */
import type { NotificationDelivery } from '../../../shared/src/api.js';
import type {
  ApiToken,
  AuditEvent,
  Backup,
  Client,
  LogLine,
  Platform,
  Project,
  Server,
  Site,
  Task,
  TaskStep,
} from '../api-types.js';

export function aTask(overrides: Partial<Task> = {}): Task {
  return {
    id: '6f1c2d3e-0000-4000-8000-000000000001',
    type: 'server.verify',
    state: 'queued',
    targetKind: 'server',
    retryOf: null,
    targetId: '6f1c2d3e-0000-4000-8000-0000000000aa',
    targetName: 'web1',
    params: {},
    result: null,
    error: null,
    errorCode: null,
    rollbackCompleted: null,
    phases: [],
    createdAt: '2025-01-01T10:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    cancelRequestedAt: null,
    progress: null,
    steps: [],
    ...overrides,
  };
}

export function aStep(overrides: Partial<TaskStep> = {}): TaskStep {
  return {
    id: '6f1c2d3e-0000-4000-8000-0000000000s1',
    seq: 1,
    name: 'server.probe',
    serverId: '6f1c2d3e-0000-4000-8000-0000000000aa',
    serverName: 'web1',
    state: 'running',
    output: null,
    failure: null,
    createdAt: '2025-01-01T10:00:00.000Z',
    finishedAt: null,
    attempts: [],
    ...overrides,
  };
}

export function aServer(overrides: Partial<Server> = {}): Server {
  return {
    id: '6f1c2d3e-0000-4000-8000-0000000000aa',
    name: 'web1',
    slots: 1,
    slotsBusy: 0,
    roles: ['http', 'db'],
    address: '127.0.0.1',
    services: [],
    connected: false,
    agentVersion: null,
    hostname: null,
    timeZone: 'UTC',
    enrolledAt: null,
    lastSeenAt: null,
    verifiedAt: null,
    createdAt: '2025-01-01T09:00:00.000Z',
    ...overrides,
  };
}

export function aLogLine(id: number, text: string, overrides: Partial<LogLine> = {}): LogLine {
  return {
    id: String(id),
    at: '2025-01-01T10:00:01.000Z',
    stream: 'stdout',
    text,
    stepId: '6f1c2d3e-0000-4000-8000-0000000000s1',
    ...overrides,
  };
}

export function aSite(overrides: Partial<Site> = {}): Site {
  const domain = overrides.domain ?? 'a.example';
  return {
    id: `6f1c2d3e-0000-4000-8000-${domain
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 12)
      .padEnd(12, '0')}`,
    domain,
    status: 'enabled',
    platform: 'd102',
    client: null,
    dbServer: 'db1',
    profile: 'standard',
    url: `http://${domain}/`,
    verifiedAt: null,
    createdAt: '2025-01-01T10:00:00.000Z',
    actions: [],
    code: null,
    ...overrides,
  };
}

export function aPlatform(overrides: Partial<Platform> = {}): Platform {
  return {
    id: '6f1c2d3e-0000-4000-8000-0000000000c1',
    name: 'd102',
    serverId: '6f1c2d3e-0000-4000-8000-0000000000aa',
    serverName: 'web1.example.net',
    cluster: null,
    path: '/var/berth/platforms/d102',
    docroot: 'web',
    coreVersion: '10.2.0',
    status: 'verified',
    locked: false,
    verifiedAt: null,
    createdAt: '2025-01-01T10:00:00.000Z',
    source: null,
    commit: null,
    deployKey: false,
    deployHooks: [],
    ...overrides,
  };
}

export function aClient(overrides: Partial<Client> = {}): Client {
  return {
    id: '6f1c2d3e-0000-4000-8000-0000000000e1',
    name: 'acme',
    email: null,
    createdAt: '2025-01-01T10:00:00.000Z',
    ...overrides,
  };
}

export function aProject(overrides: Partial<Project> = {}): Project {
  return {
    id: '6f1c2d3e-0000-4000-8000-0000000000b1',
    name: 'shop',
    client: 'acme',
    sanitize: 'sql:sanitize',
    environments: [
      {
        name: 'dev',
        position: 1,
        site: 'dev.shop.example',
        platform: 'p1',
        status: 'enabled',
        code: null,
        lastSync: null,
      },
    ],
    createdAt: '2025-01-01T10:00:00.000Z',
    ...overrides,
  };
}

export function aBackup(overrides: Partial<Backup> = {}): Backup {
  return {
    id: '6f1c2d3e-0000-4000-8000-0000000000f1',
    archiveId: 'archive-1',
    databaseArchiveId: 'archive-2',
    bytes: 1024,
    domain: 'a.example',
    reason: 'manual',
    createdAt: '2025-01-01T10:00:00.000Z',
    manifest: {},
    verifiedAt: null,
    verifyFailedAt: null,
    offsite: [],
    ...overrides,
  };
}

export function anAuditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: '1',
    at: '2025-01-01T10:00:00.000Z',
    tokenId: '6f1c2d3e-0000-4000-8000-0000000000a1',
    tokenName: 'admin',
    role: 'admin',
    clientId: null,
    method: 'POST',
    route: '/api/sites/:domain/backup',
    path: '/api/sites/a.example/backup',
    target: { domain: 'a.example' },
    summary: null,
    address: '127.0.0.1',
    status: 202,
    errorCode: null,
    taskId: null,
    durationMs: 4,
    ...overrides,
  };
}

export function aToken(overrides: Partial<ApiToken> = {}): ApiToken {
  return {
    id: '6f1c2d3e-0000-4000-8000-0000000000c1',
    name: 'client:acme',
    role: 'client',
    client: 'acme',
    createdAt: '2025-01-01T10:00:00.000Z',
    lastUsedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

export function aDelivery(overrides: Partial<NotificationDelivery> = {}): NotificationDelivery {
  return {
    id: '6f1c2d3e-0000-4000-8000-0000000000d1',
    targetId: '6f1c2d3e-0000-4000-8000-0000000000d0',
    event: 'task.failed',
    subjectId: '6f1c2d3e-0000-4000-8000-0000000000d2',
    state: 'delivered',
    attempts: 1,
    lastError: null,
    nextAttemptAt: null,
    createdAt: '2025-01-01T10:00:00.000Z',
    deliveredAt: '2025-01-01T10:00:01.000Z',
    payload: {},
    ...overrides,
  };
}
