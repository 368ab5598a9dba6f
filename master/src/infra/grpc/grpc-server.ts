import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { loadAgentProtocol, type AgentServiceHandlers } from '../../../../shared/src/protocol.js';
import type { AgentGateway } from '../../agents/agent-gateway.js';
import type { ArchiveStore } from '../../backups/archive-store.js';
import type { CertificateAuthority } from '../../pki/certificate-authority.js';
import type { EnrollmentService } from '../../pki/enrollment.service.js';
import type { MasterConfig } from '../config/master-config.js';
import { toGrpcFailure } from './grpc-status.js';
import { StaticCertificateProvider } from './static-certificate-provider.js';

export interface AgentGrpcServerDeps {
  ca: CertificateAuthority;
  enrollment: EnrollmentService;
  gateway: AgentGateway;
  archives: ArchiveStore;
  config: Pick<MasterConfig, 'grpcHost' | 'grpcPort'>;
  logger: Logger;
}

/** Messages carry at most one 256 KiB archive chunk; this leaves room without inviting abuse. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** How long stop() lets calls finish before it cuts them. */
const DEFAULT_DRAIN_MS = 2_000;

const SERVER_OPTIONS: grpc.ServerOptions = {
  // Agents ping to keep their control stream alive through NATs; let them, but not flood.
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  // And the master pings too, to notice agents that vanished without closing their connection.
  'grpc.keepalive_time_ms': 20_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
};

/**
 * The gRPC endpoint agents dial. TLS with the master's certificate; client certificates are
 * requested but not required by TLS, because GetCaCertificate and Enroll run without one. Every
 * other call authenticates itself with the agent's certificate before anything else happens.
 */
export class AgentGrpcServer {
  private readonly server: grpc.Server;
  private boundPort: number | undefined;

  constructor(private readonly deps: AgentGrpcServerDeps) {
    this.server = new grpc.Server(SERVER_OPTIONS);
    const service = loadAgentProtocol().berth.agent.v1.AgentService.service;
    this.server.addService(service, this.handlers());
  }

  /** Listens on grpcHost:grpcPort and resolves with the bound port (useful with port 0). */
  async start(): Promise<number> {
    await this.deps.archives.start();
    const { ca, config, logger } = this.deps;
    const identity = ca.serverIdentity();
    const provider = new StaticCertificateProvider(
      { certificate: Buffer.from(identity.certificatePem), privateKey: Buffer.from(identity.privateKeyPem) },
      Buffer.from(ca.caCertificatePem()),
    );
    // grpc-js's declaration names the parameters (ca, identity), its code uses them as (identity,
    // ca): one provider that serves both is right either way.
    const credentials = grpc.experimental.createCertificateProviderServerCredentials(
      provider,
      provider,
      false,
    );
    const host = config.grpcHost.includes(':') ? `[${config.grpcHost}]` : config.grpcHost;
    const port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(`${host}:${config.grpcPort}`, credentials, (error, bound) => {
        if (error) {
          reject(
            new Error(
              `cannot listen for agents on ${host}:${config.grpcPort}: ${error.message}; ` +
                'set another address with --grpc-host/--grpc-port or BERTH_GRPC_HOST/BERTH_GRPC_PORT',
            ),
          );
        } else resolve(bound);
      });
    });
    this.boundPort = port;
    logger.info({ host: config.grpcHost, port }, 'listening for agents (gRPC, TLS)');
    return port;
  }

  get port(): number {
    if (this.boundPort === undefined) throw new Error('AgentGrpcServer.port read before start()');
    return this.boundPort;
  }

  /** Closes the agents' streams, lets calls finish for a moment, then cuts what is left. */
  async stop(drainMs = DEFAULT_DRAIN_MS): Promise<void> {
    this.deps.gateway.closeAll('the master is shutting down');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, drainMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private handlers(): AgentServiceHandlers {
    const { ca, enrollment, gateway, archives, logger } = this.deps;
    return {
      GetCaCertificate: (_call, callback) => {
        callback(null, { caCertificatePem: ca.caCertificatePem() });
      },

      Enroll: (call, callback) => {
        const { token, csrPem, hostname } = call.request;
        enrollment.enroll({ token, csrPem, hostname }).then(
          (result) => callback(null, result),
          (error: unknown) => callback(toGrpcFailure(error, logger, 'Enroll')),
        );
      },

      Connect: (call) => gateway.handleConnect(call),

      PutArchive: (call, callback) => {
        let answered = false;
        const answer: typeof callback = (error, value) => {
          if (answered) return;
          answered = true;
          callback(error, value);
        };
        gateway
          .authenticate(call)
          .then((agent) => archives.receive(agent.serverId, call))
          .then(
            (stored) => answer(null, stored),
            (error: unknown) => answer(toGrpcFailure(error, logger, 'PutArchive')),
          );
      },

      GetArchive: (call) => {
        const abort = new AbortController();
        const cancel = () => abort.abort(new Error('the receiver cancelled GetArchive'));
        call.on('cancelled', cancel);
        call.on('close', cancel);
        gateway
          .authenticate(call)
          .then((agent) => archives.send(agent.serverId, call.request, call, abort.signal))
          .then(
            () => call.end(),
            (error: unknown) => {
              if (abort.signal.aborted || call.destroyed) return;
              call.emit('error', toGrpcFailure(error, logger, 'GetArchive'));
            },
          );
      },
    };
  }
}
