/**
 * Integration-test kit for the master's end of the agent link: a real registry, CA, gRPC server on
 * 127.0.0.1 port 0, a recorder in place of the task engine, and a minimal grpc-js client.
 */
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import type { DataSource } from 'typeorm';
import type { EnrollRequest } from '../../../../generated/proto/berth/agent/v1/EnrollRequest.js';
import {
  GRPC_CHANNEL_OPTIONS,
  loadAgentProtocol,
  type AgentServiceClient,
  type AttemptRef__Output,
  type EnrollResponse__Output,
} from '../../../../shared/src/protocol.js';
import {
  createTestDatabase,
  type TestDatabase,
  type TestDatabaseKind,
} from '../../../../test/support/test-database.js';
import { AgentAuthenticator } from '../../agents/agent-authenticator.js';
import { AgentCredentialsRepository } from '../../agents/agent-credentials.repository.js';
import type {
  AgentEvents,
  AgentHello,
  AgentLogLine,
  AgentProgress,
  AgentSession,
  AttemptRef,
  AttemptResult,
} from '../../agents/agent-events.js';
import { AgentGateway } from '../../agents/agent-gateway.js';
import { ArchiveStore } from '../../backups/archive-store.js';
import { ArchiveRepository } from '../../backups/archive.repository.js';
import { CertificateAuthority } from '../../pki/certificate-authority.js';
import { EnrollmentService } from '../../pki/enrollment.service.js';
import { makeAgentCsr } from '../../pki/pki.fixtures.js';
import { ServerEntity } from '../../servers/server.entity.js';
import { EnrollmentTokenRepository } from '../../servers/enrollment-token.repository.js';
import { StepAttemptEntity } from '../../tasks/step-attempt.entity.js';
import { TaskStepEntity } from '../../tasks/task-step.entity.js';
import { TaskEntity } from '../../tasks/task.entity.js';
import type { AttemptState } from '../../../../shared/src/tasks.js';
import { openDatabase } from '../db/data-source.js';
import { AgentGrpcServer } from './grpc-server.js';

/** What the gateway handed on, decoded (agent-frames.ts). */
export type RecordedEvent =
  | { type: 'connected'; session: AgentSession; hello: AgentHello }
  | { type: 'disconnected'; session: AgentSession }
  | { type: 'heartbeat'; session: AgentSession; running: AttemptRef[] }
  | { type: 'accepted'; session: AgentSession; ref: AttemptRef }
  | { type: 'log'; session: AgentSession; ref: AttemptRef; lines: AgentLogLine[] }
  | { type: 'progress'; session: AgentSession; ref: AttemptRef; progress: AgentProgress }
  | { type: 'result'; session: AgentSession; result: AttemptResult };

/** Stands in for the task engine: records every call, in order. */
export class RecordingAgentEvents implements AgentEvents {
  readonly events: RecordedEvent[] = [];
  /** Makes a handler slow, to prove that frames are handled one after the other. */
  delayMs = 0;

  private async record(event: RecordedEvent) {
    if (this.delayMs > 0 && event.type !== 'disconnected') await sleep(this.delayMs);
    this.events.push(event);
  }
  agentConnected(session: AgentSession, hello: AgentHello) {
    return this.record({ type: 'connected', session, hello });
  }
  agentDisconnected(session: AgentSession) {
    this.events.push({ type: 'disconnected', session });
  }
  heartbeat(session: AgentSession, running: AttemptRef[]) {
    return this.record({ type: 'heartbeat', session, running });
  }
  stepAccepted(session: AgentSession, ref: AttemptRef) {
    return this.record({ type: 'accepted', session, ref });
  }
  stepLog(session: AgentSession, ref: AttemptRef, lines: AgentLogLine[]) {
    return this.record({ type: 'log', session, ref, lines });
  }
  stepProgress(session: AgentSession, ref: AttemptRef, progress: AgentProgress) {
    return this.record({ type: 'progress', session, ref, progress });
  }
  stepResult(session: AgentSession, result: AttemptResult) {
    return this.record({ type: 'result', session, result });
  }

  async waitFor(predicate: (events: RecordedEvent[]) => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting; events so far: ${this.events.map((e) => e.type).join(', ')}`);
      }
      await sleep(10);
    }
  }
}

export interface EnrolledAgent {
  serverId: string;
  serverName: string;
  certificatePem: string;
  privateKeyPem: string;
}

export interface AgentLinkKit {
  database: TestDatabase;
  db: DataSource;
  ca: CertificateAuthority;
  enrollment: EnrollmentService;
  gateway: AgentGateway;
  archives: ArchiveStore;
  server: AgentGrpcServer;
  port: number;
  events: RecordingAgentEvents;
  /** A client without a certificate (GetCaCertificate, Enroll). */
  anonymousClient(): AgentServiceClient;
  client(agent: { certificatePem: string; privateKeyPem: string }): AgentServiceClient;
  createServer(name: string): Promise<string>;
  /** Creates a server, issues a token and enrolls over gRPC. */
  enrollNew(name: string): Promise<EnrolledAgent>;
  enroll(token: string, hostname?: string): Promise<EnrolledAgent>;
  stop(): Promise<void>;
}

export const quietLogger = () => pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });

export async function startAgentLink(
  kind: TestDatabaseKind,
  options: { helloTimeoutMs?: number } = {},
): Promise<AgentLinkKit> {
  const database = await createTestDatabase(kind);
  const clients: grpc.Client[] = [];
  const db = await openDatabase({ url: database.url, dataDir: database.dataDir });
  const logger = quietLogger();
  const config = {
    dataDir: database.dataDir,
    grpcHost: '127.0.0.1',
    grpcPort: 0,
    heartbeatIntervalMs: 2_000,
    leaseMs: 15_000,
    enrollmentTtlMs: 3_600_000,
  };
  const ca = await CertificateAuthority.open(
    { dataDir: database.dataDir, publicHosts: ['localhost', '127.0.0.1'] },
    logger,
  );
  const enrollment = new EnrollmentService(ca, new EnrollmentTokenRepository(db), config, logger);
  const credentials = new AgentCredentialsRepository(db);
  const gateway = new AgentGateway(
    new AgentAuthenticator(ca, credentials),
    credentials,
    config,
    logger,
    undefined,
    options.helloTimeoutMs,
  );
  const events = new RecordingAgentEvents();
  gateway.attach(events);
  const archives = new ArchiveStore(new ArchiveRepository(db), config, logger);
  const server = new AgentGrpcServer({ ca, enrollment, gateway, archives, config, logger });
  const port = await server.start();
  const Service = loadAgentProtocol().berth.agent.v1.AgentService;
  const caPem = Buffer.from(ca.caCertificatePem());

  const track = (client: AgentServiceClient) => {
    clients.push(client);
    return client;
  };
  const kit: AgentLinkKit = {
    database,
    db,
    ca,
    enrollment,
    gateway,
    archives,
    server,
    port,
    events,
    anonymousClient: () =>
      track(new Service(`127.0.0.1:${port}`, grpc.credentials.createSsl(caPem), GRPC_CHANNEL_OPTIONS)),
    client: (agent) =>
      track(
        new Service(
          `127.0.0.1:${port}`,
          grpc.credentials.createSsl(
            caPem,
            Buffer.from(agent.privateKeyPem),
            Buffer.from(agent.certificatePem),
          ),
          GRPC_CHANNEL_OPTIONS,
        ),
      ),
    createServer: async (name) => {
      const servers = db.getRepository(ServerEntity);
      return (await servers.save(servers.create({ name, slots: 1, services: [] }))).id;
    },
    enroll: async (token, hostname = 'web1.example.org') => {
      const { csrPem, privateKeyPem } = await makeAgentCsr();
      const response = await callEnroll(kit.anonymousClient(), { token, csrPem, hostname });
      return {
        serverId: response.serverId,
        serverName: response.serverName,
        certificatePem: response.certificatePem,
        privateKeyPem,
      };
    },
    enrollNew: async (name) => {
      const serverId = await kit.createServer(name);
      const { token } = await enrollment.issueToken(serverId);
      return kit.enroll(token);
    },
    stop: async () => {
      for (const client of clients) client.close();
      await server.stop(500);
      await db.destroy();
      await database.drop();
    },
  };
  return kit;
}

/** Enroll, as a promise. */
export function callEnroll(
  client: AgentServiceClient,
  request: EnrollRequest,
): Promise<EnrollResponse__Output> {
  return new Promise((resolve, reject) => {
    client.Enroll(request, { deadline: Date.now() + 10_000 }, (error, response) =>
      error || !response ? reject(error ?? new Error('no response')) : resolve(response),
    );
  });
}

/** GetCaCertificate, as a promise. */
export function callGetCaCertificate(client: AgentServiceClient): Promise<string> {
  return new Promise((resolve, reject) => {
    client.GetCaCertificate({}, { deadline: Date.now() + 10_000 }, (error, response) =>
      error || !response ? reject(error ?? new Error('no response')) : resolve(response.caCertificatePem),
    );
  });
}

export async function expectGrpcError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** Inserts a task, one step on `serverId` whose params name `archiveId`, and its attempt. */
export async function seedAttempt(
  db: DataSource,
  input: { serverId: string; archiveId?: string; state?: AttemptState; name?: string },
): Promise<{ taskId: string; stepId: string; attemptId: string; epoch: string; ref: AttemptRef__Output }> {
  const tasks = db.getRepository(TaskEntity);
  const task = await tasks.save(
    tasks.create({
      type: 'server.transfer-check',
      state: 'running',
      targetKind: 'server',
      targetId: input.serverId,
      targetName: 'test',
      params: {},
    }),
  );
  const steps = db.getRepository(TaskStepEntity);
  const step = await steps.save(
    steps.create({
      taskId: task.id,
      seq: 1,
      serverId: input.serverId,
      name: input.name ?? 'debug.transfer',
      params: input.archiveId ? { archiveId: input.archiveId } : {},
      state: 'running',
      timeoutMs: 60_000,
    }),
  );
  const attempts = db.getRepository(StepAttemptEntity);
  const saved = await attempts.save(
    attempts.create({
      stepId: step.id,
      taskId: task.id,
      serverId: input.serverId,
      attemptNo: 1,
      state: input.state ?? 'running',
    }),
  );
  const attempt = await attempts.findOneByOrFail({ id: saved.id });
  return {
    taskId: task.id,
    stepId: step.id,
    attemptId: attempt.id,
    epoch: String(attempt.epoch),
    ref: { stepId: step.id, attemptId: attempt.id, epoch: String(attempt.epoch) },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
