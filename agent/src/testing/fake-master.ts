/**
 * A small stand-in for the master's gRPC side, for the agent's integration tests: the real TLS
 * and mTLS, the real contract, honest archive checks, and knobs to misbehave.
 */
import * as grpc from '@grpc/grpc-js';
import { X509Certificate, createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  type AgentFrame__Output,
  type ArchiveChunk__Output,
  type MasterFrame,
  loadAgentProtocol,
} from '../../../shared/src/protocol.js';
import type { Hello__Output } from '../../../generated/proto/berth/agent/v1/Hello.js';
import { type TestPki, createTestPki } from './test-pki.js';

export interface FakeConnection {
  readonly hello: Hello__Output;
  readonly frames: AgentFrame__Output[];
  readonly clientCertificateSubject: string;
  send(frame: MasterFrame): void;
  /** Ends the stream with a status, as a master restart or a network cut would. */
  kill(): void;
  ended: boolean;
}

export interface FakeMasterOptions {
  heartbeatIntervalMs?: number;
  /** Stop answering heartbeats (and send nothing) on connections after the welcome. */
  silent?: boolean;
  /** Present this CA to GetCaCertificate instead of the real one (a man in the middle). */
  impostorCaPem?: string;
  /** Acknowledge every result as it arrives. */
  autoAck?: boolean;
}

export class FakeMaster {
  readonly connections: FakeConnection[] = [];
  readonly archives = new Map<string, Buffer>();
  enrollCalls = 0;
  readonly serverId = randomUUID();
  readonly serverName = 'web1';
  private usedSecrets = new Set<string>();
  readonly secret = randomBytes(32).toString('base64url');

  private constructor(
    readonly pki: TestPki,
    private server: grpc.Server,
    readonly port: number,
    readonly options: FakeMasterOptions,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The token `berth server add` would print for this master. */
  token(): string {
    return `BERTH1.${this.pki.caPin}.${this.secret}`;
  }

  /** Every frame from every connection, in order per connection. */
  frames(): AgentFrame__Output[] {
    return this.connections.flatMap((connection) => connection.frames);
  }

  static async start(options: FakeMasterOptions = {}): Promise<FakeMaster> {
    const pki = await createTestPki();
    const { server, port } = await FakeMaster.listen(pki, 0);
    const master = new FakeMaster(pki, server, port, options);
    server.addService(loadAgentProtocol().berth.agent.v1.AgentService.service, master.handlers());
    return master;
  }

  /** A restart: every stream cut, the port closed for `downMs`, then the same master (same CA) again. */
  async restart(downMs: number): Promise<void> {
    await this.stop();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    const { server } = await FakeMaster.listen(this.pki, this.port);
    server.addService(loadAgentProtocol().berth.agent.v1.AgentService.service, this.handlers());
    this.server = server;
  }

  private static async listen(pki: TestPki, port: number): Promise<{ server: grpc.Server; port: number }> {
    const server = new grpc.Server();
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `127.0.0.1:${port}`,
        // Like the master: a client certificate is requested (and checked by the handlers) but not
        // required, since GetCaCertificate and Enroll come before the agent has one.
        grpc.experimental.createCertificateProviderServerCredentials(
          staticProvider(pki),
          staticProvider(pki),
          false,
        ),
        (error, actual) => (error ? reject(error) : resolve(actual)),
      ),
    );
    return { server, port: bound };
  }

  async stop(): Promise<void> {
    for (const connection of this.connections) connection.kill();
    this.server.forceShutdown();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }

  async waitFor(check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`fake master: ${what} not met within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private clientSubject(
    call: grpc.ServerReadableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  ): string | undefined {
    const peer = call.getAuthContext().sslPeerCertificate;
    if (!peer?.raw) return undefined;
    const certificate = new X509Certificate(peer.raw);
    return certificate.verify(new X509Certificate(this.pki.caCertificatePem).publicKey)
      ? certificate.subject
      : undefined;
  }

  private handlers(): grpc.UntypedServiceImplementation {
    return {
      GetCaCertificate: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        callback(null, { caCertificatePem: this.options.impostorCaPem ?? this.pki.caCertificatePem });
      },
      Enroll: (
        call: grpc.ServerUnaryCall<{ token: string; csrPem: string; hostname: string }, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        this.enrollCalls += 1;
        const [, , secret] = call.request.token.split('.');
        if (secret !== this.secret || this.usedSecrets.has(secret)) {
          callback({
            code: grpc.status.UNAUTHENTICATED,
            details: 'enrollment token unknown, expired or used',
          });
          return;
        }
        this.usedSecrets.add(secret);
        this.pki.signCsr(call.request.csrPem, this.serverId).then(
          (certificatePem) =>
            callback(null, {
              serverId: this.serverId,
              serverName: this.serverName,
              certificatePem,
              caCertificatePem: this.pki.caCertificatePem,
            }),
          (error: Error) => callback({ code: grpc.status.INVALID_ARGUMENT, details: error.message }),
        );
      },
      Connect: (call: grpc.ServerDuplexStream<AgentFrame__Output, MasterFrame>) => {
        const subject = this.clientSubject(call);
        if (!subject) {
          call.emit('error', {
            code: grpc.status.UNAUTHENTICATED,
            details: 'a client certificate is required',
          });
          return;
        }
        let connection: FakeConnection | undefined;
        call.on('data', (frame: AgentFrame__Output) => {
          if (!connection) {
            if (!frame.hello) {
              call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'hello first' });
              return;
            }
            const frames: AgentFrame__Output[] = [frame];
            connection = {
              hello: frame.hello,
              frames,
              clientCertificateSubject: subject,
              ended: false,
              send: (out) => {
                if (!connection?.ended) call.write(out);
              },
              kill: () => {
                if (connection && !connection.ended) {
                  connection.ended = true;
                  call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'master going away' });
                }
              },
            };
            this.connections.push(connection);
            call.write({
              welcome: {
                serverId: this.serverId,
                serverName: this.serverName,
                heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? 200,
                leaseMs: 10 * (this.options.heartbeatIntervalMs ?? 200),
              },
            });
            return;
          }
          connection.frames.push(frame);
          if (frame.heartbeat && !this.options.silent) {
            connection.send({ heartbeatAck: { sentAtMs: frame.heartbeat.sentAtMs } });
          }
          if (frame.result && this.options.autoAck) connection.send({ resultAck: { ref: frame.result.ref } });
        });
        call.on('end', () => {
          if (connection) connection.ended = true;
          call.end();
        });
        call.on('error', () => {
          if (connection) connection.ended = true;
        });
      },
      PutArchive: (
        call: grpc.ServerReadableStream<ArchiveChunk__Output, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        if (!this.clientSubject(call)) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: 'a client certificate is required' });
          return;
        }
        let archiveId = '';
        const hash = createHash('sha256');
        const parts: Buffer[] = [];
        let trailer: { sha256: string; size: string } | undefined;
        call.on('data', (chunk: ArchiveChunk__Output) => {
          if (chunk.header) archiveId = chunk.header.archiveId;
          if (chunk.data) {
            hash.update(chunk.data);
            parts.push(chunk.data);
          }
          if (chunk.trailer) trailer = chunk.trailer;
        });
        call.on('end', () => {
          const data = Buffer.concat(parts);
          const sha256 = hash.digest('hex');
          if (!trailer || trailer.sha256 !== sha256 || trailer.size !== String(data.length)) {
            callback({ code: grpc.status.DATA_LOSS, details: 'the trailer does not match the bytes' });
            return;
          }
          this.archives.set(archiveId, data);
          callback(null, { archiveId, sha256, size: String(data.length) });
        });
      },
      GetArchive: (call: grpc.ServerWritableStream<{ archiveId: string }, unknown>) => {
        const data = this.archives.get(call.request.archiveId);
        if (!data) {
          call.emit('error', { code: grpc.status.NOT_FOUND, details: 'no such archive' });
          return;
        }
        call.write({ header: { archiveId: call.request.archiveId, size: String(data.length) } });
        for (let offset = 0; offset < data.length; offset += 256 * 1024) {
          call.write({ data: data.subarray(offset, offset + 256 * 1024) });
        }
        call.write({
          trailer: { sha256: createHash('sha256').update(data).digest('hex'), size: String(data.length) },
        });
        call.end();
      },
    };
  }
}

/** Certificates that never change; grpc-js reads the CA and the identity from whichever it is given. */
function staticProvider(pki: TestPki): grpc.experimental.CertificateProvider {
  const caCertificate = Buffer.from(pki.caCertificatePem);
  const identity = {
    certificate: Buffer.from(pki.serverCertificatePem),
    privateKey: Buffer.from(pki.serverKeyPem),
  };
  return {
    addCaCertificateListener: (listener) => process.nextTick(() => listener({ caCertificate })),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (listener) => process.nextTick(() => listener(identity)),
    removeIdentityCertificateListener: () => undefined,
  };
}
