import * as grpc from '@grpc/grpc-js';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AgentFrame,
  AgentServiceClient,
  Hello__Output,
  MasterFrame__Output,
} from '../../../../shared/src/protocol.js';
import { TEST_DATABASE_KINDS } from '../../../../test/support/test-database.js';
import { CertificateAuthority } from '../../pki/certificate-authority.js';
import { ENROLLMENT_TOKEN_INVALID_MESSAGE } from '../../pki/pki.errors.js';
import { makeAgentCsr, pemToDer } from '../../pki/pki.fixtures.js';
import { ServerEntity } from '../../servers/server.entity.js';
import { sqlRows } from '../db/sql.js';
import {
  callEnroll,
  callGetCaCertificate,
  expectGrpcError,
  sleep,
  startAgentLink,
  type AgentLinkKit,
  type EnrolledAgent,
} from './agent-link.testing.js';

/** A Connect stream seen from the agent's side. */
class AgentStream {
  readonly frames: MasterFrame__Output[] = [];
  readonly ended: Promise<{ code: number; details: string }>;
  readonly call: grpc.ClientDuplexStream<AgentFrame, MasterFrame__Output>;

  constructor(client: AgentServiceClient) {
    this.call = client.Connect();
    this.call.on('data', (frame: MasterFrame__Output) => this.frames.push(frame));
    this.ended = new Promise((resolve) => {
      this.call.on('error', (error: grpc.ServiceError) =>
        resolve({ code: error.code, details: error.details }),
      );
      this.call.on('status', (status: grpc.StatusObject) => {
        if (status.code === grpc.status.OK) resolve({ code: status.code, details: status.details });
      });
    });
  }

  send(frame: AgentFrame) {
    this.call.write(frame);
  }

  async next(kind: MasterFrame__Output['kind'], timeoutMs = 5_000): Promise<MasterFrame__Output> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((frame) => frame.kind === kind);
      if (index >= 0) return this.frames.splice(index, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no ${kind} frame within ${timeoutMs} ms`);
      await sleep(10);
    }
  }
}

const hello = (overrides: Partial<Hello__Output> = {}): AgentFrame => ({
  hello: {
    agentVersion: '0.1.0',
    hostname: 'web1.example.org',
    services: [],
    slots: 1,
    running: [],
    finished: [],
    steps: ['server.probe'],
    ...overrides,
  },
});

describe.each(TEST_DATABASE_KINDS)('agent link on %s', (kind) => {
  let kit: AgentLinkKit;

  beforeAll(async () => {
    kit = await startAgentLink(kind, { helloTimeoutMs: 1_500 });
  });

  afterAll(async () => {
    await kit?.stop();
  });

  describe('enrollment', () => {
    it('serves the CA certificate to anyone, matching the pin in tokens', async () => {
      const pem = await callGetCaCertificate(kit.anonymousClient());
      expect(pem).toBe(kit.ca.caCertificatePem());
      const pin = createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');
      const serverId = await kit.createServer(`pin-${kind}`);
      const { token } = await kit.enrollment.issueToken(serverId);
      expect(token.split('.')[1]).toBe(pin);
    });

    it('trades a valid token and a CSR for a client certificate, once', async () => {
      const serverId = await kit.createServer(`web-${kind}`);
      const { token, expiresAt } = await kit.enrollment.issueToken(serverId);
      expect(expiresAt.getTime()).toBeGreaterThan(Date.now() + 3_500_000);
      const stored = await sqlRows<{ token_sha256: string }>(
        kit.db,
        `SELECT token_sha256 FROM enrollment_tokens WHERE server_id = $1`,
        [serverId],
      );
      expect(stored).toEqual([{ token_sha256: createHash('sha256').update(token).digest('hex') }]);

      const agent = await kit.enroll(token, 'web1.example.org');
      expect(agent.serverId).toBe(serverId);
      expect(agent.serverName).toBe(`web-${kind}`);
      const cert = new X509Certificate(agent.certificatePem);
      expect(cert.subject).toBe(`CN=${serverId}`);
      expect(cert.checkIssued(new X509Certificate(kit.ca.caCertificatePem()))).toBe(true);

      const server = await kit.db.getRepository(ServerEntity).findOneByOrFail({ id: serverId });
      expect(server.certificateSha256).toBe(
        createHash('sha256').update(pemToDer(agent.certificatePem)).digest('hex'),
      );
      expect(server.certificateExpiresAt?.getTime()).toBe(new Date(cert.validTo).getTime());
      expect(server.enrolledAt).toBeInstanceOf(Date);
      expect(server.hostname).toBe('web1.example.org');

      const again = await expectGrpcError(kit.enroll(token));
      expect(again.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(again.details).toBe(ENROLLMENT_TOKEN_INVALID_MESSAGE);
    });

    it('refuses an expired token and an unknown one with the same message', async () => {
      const serverId = await kit.createServer(`expired-${kind}`);
      const { token } = await kit.enrollment.issueToken(serverId);
      await sqlRows(
        kit.db,
        `UPDATE enrollment_tokens SET expires_at = now() - interval '1 second' WHERE server_id = $1 RETURNING id`,
        [serverId],
      );
      const expired = await expectGrpcError(kit.enroll(token));
      expect(expired.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(expired.details).toBe(ENROLLMENT_TOKEN_INVALID_MESSAGE);

      const unknown = `${token.slice(0, -4)}AAAA`;
      const refused = await expectGrpcError(kit.enroll(unknown));
      expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(refused.details).toBe(ENROLLMENT_TOKEN_INVALID_MESSAGE);
      const server = await kit.db.getRepository(ServerEntity).findOneByOrFail({ id: serverId });
      expect(server.certificateSha256).toBeNull();
    });

    it('lets only one of two agents racing with the same token win', async () => {
      const serverId = await kit.createServer(`race-${kind}`);
      const { token } = await kit.enrollment.issueToken(serverId);
      const results = await Promise.allSettled([kit.enroll(token), kit.enroll(token), kit.enroll(token)]);
      const won = results.filter((result) => result.status === 'fulfilled');
      expect(won).toHaveLength(1);
      const winner = (won[0] as PromiseFulfilledResult<EnrolledAgent>).value;
      const server = await kit.db.getRepository(ServerEntity).findOneByOrFail({ id: serverId });
      expect(server.certificateSha256).toBe(
        createHash('sha256').update(pemToDer(winner.certificatePem)).digest('hex'),
      );
    });

    it('refuses a CSR that is not one without burning the token, and stores no bad hostname', async () => {
      const serverId = await kit.createServer(`csr-${kind}`);
      const { token } = await kit.enrollment.issueToken(serverId);
      const bad = await expectGrpcError(
        callEnroll(kit.anonymousClient(), { token, csrPem: 'not a csr', hostname: 'x' }),
      );
      expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
      const { csrPem } = await makeAgentCsr();
      await callEnroll(kit.anonymousClient(), { token, csrPem, hostname: 'Bad Host;rm -rf' });
      const server = await kit.db.getRepository(ServerEntity).findOneByOrFail({ id: serverId });
      expect(server.hostname).toBeNull();
      expect(server.certificateSha256).not.toBeNull();
    });
  });

  describe('authentication of agent calls', () => {
    it('refuses Connect without a client certificate', async () => {
      const stream = new AgentStream(kit.anonymousClient());
      stream.send(hello());
      const status = await stream.ended;
      expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(status.details).toMatch(/client certificate/);
      expect(kit.events.events.filter((event) => event.type === 'connected')).toHaveLength(0);
    });

    it('refuses a client certificate from another CA, even for a real server id', async () => {
      const agent = await kit.enrollNew(`foreign-${kind}`);
      const other = await CertificateAuthority.generate({ publicHosts: ['localhost'] });
      const { csrPem, privateKeyPem } = await makeAgentCsr();
      const foreign = await other.signClientCsr(csrPem, agent.serverId);
      const before = kit.events.events.length;
      const stream = new AgentStream(kit.client({ certificatePem: foreign.certificatePem, privateKeyPem }));
      stream.send(hello());
      const status = await stream.ended;
      expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(stream.frames).toEqual([]);
      expect(kit.events.events.length).toBe(before);
    });

    it('refuses a certificate of our CA that a re-enrollment superseded', async () => {
      const first = await kit.enrollNew(`reenrolled-${kind}`);
      const { token } = await kit.enrollment.issueToken(first.serverId);
      const second = await kit.enroll(token);
      expect(second.serverId).toBe(first.serverId);

      const old = new AgentStream(kit.client(first));
      old.send(hello());
      const status = await old.ended;
      expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(status.details).toMatch(/replaced by a newer enrollment/);

      const current = new AgentStream(kit.client(second));
      current.send(hello());
      const welcome = await current.next('welcome');
      expect(welcome.welcome?.serverId).toBe(first.serverId);
      current.call.end();
      await current.ended;
    });
  });

  describe('Connect', () => {
    it('welcomes a hello, registers the session and hands frames to the engine in order', async () => {
      const agent = await kit.enrollNew(`connect-${kind}`);
      kit.events.delayMs = 20;
      try {
        const stream = new AgentStream(kit.client(agent));
        stream.send(hello({ hostname: 'web1' }));
        const welcome = await stream.next('welcome');
        expect(welcome.welcome).toEqual({
          serverId: agent.serverId,
          serverName: agent.serverName,
          heartbeatIntervalMs: 2_000,
          leaseMs: 15_000,
        });
        await kit.events.waitFor((events) =>
          events.some((event) => event.type === 'connected' && event.session.serverId === agent.serverId),
        );
        expect(kit.gateway.connectedServerIds()).toContain(agent.serverId);
        const session = kit.gateway.session(agent.serverId)!;
        expect(session.serverName).toBe(agent.serverName);
        const server = await kit.db.getRepository(ServerEntity).findOneByOrFail({ id: agent.serverId });
        expect(server.lastSeenAt).toBeInstanceOf(Date);

        // The gateway hands on only frames whose reference can name an attempt (UUIDs, an epoch).
        const ref = { stepId: randomUUID(), attemptId: randomUUID(), epoch: '7' };
        stream.send({ heartbeat: { sentAtMs: '12345', running: [ref] } });
        stream.send({ accepted: { ref } });
        stream.send({ log: { ref, lines: [{ seq: '1', stream: 'stdout', text: 'hello', atMs: '1' }] } });
        stream.send({ progress: { ref, phase: 'copy', done: '1', total: '2', unit: 'bytes' } });
        stream.send({ result: { ref, ok: true, outputJson: '{}' } });
        const ack = await stream.next('heartbeatAck');
        expect(ack.heartbeatAck?.sentAtMs).toBe('12345');
        await kit.events.waitFor((events) =>
          events.some((event) => event.type === 'result' && event.session.serverId === agent.serverId),
        );
        const mine = kit.events.events.filter((event) => event.session.serverId === agent.serverId);
        expect(mine.map((event) => event.type)).toEqual([
          'connected',
          'heartbeat',
          'accepted',
          'log',
          'progress',
          'result',
        ]);
        const connected = mine[0]!;
        expect(connected.type === 'connected' && connected.hello.hostname).toBe('web1');
        const log = mine[3]!;
        expect(log.type === 'log' && log.lines[0]?.text).toBe('hello');

        // The engine talks back through the session.
        expect(
          session.send({
            assign: { ref, taskId: 't', step: 'server.probe', paramsJson: '{}', timeoutMs: 1000 },
          }),
        ).toBe(true);
        const assign = await stream.next('assign');
        expect(assign.assign?.step).toBe('server.probe');

        stream.call.end();
        expect((await stream.ended).code).toBe(grpc.status.OK);
        await kit.events.waitFor((events) =>
          events.some((event) => event.type === 'disconnected' && event.session === session),
        );
        expect(kit.gateway.session(agent.serverId)).toBeUndefined();
        expect(session.send({ heartbeatAck: { sentAtMs: '1' } })).toBe(false);
      } finally {
        kit.events.delayMs = 0;
      }
    });

    it('replaces an older connection of the same server, reporting it gone first', async () => {
      const agent = await kit.enrollNew(`replace-${kind}`);
      const first = new AgentStream(kit.client(agent));
      first.send(hello());
      await first.next('welcome');
      const firstSession = kit.gateway.session(agent.serverId)!;

      const second = new AgentStream(kit.client(agent));
      second.send(hello());
      await second.next('welcome');
      const secondSession = kit.gateway.session(agent.serverId)!;
      expect(secondSession.connectionId).toBeGreaterThan(firstSession.connectionId);

      const status = await first.ended;
      expect(status.code).toBe(grpc.status.UNAVAILABLE);
      await kit.events.waitFor((events) =>
        events.some((event) => event.type === 'connected' && event.session === secondSession),
      );
      const mine = kit.events.events.filter((event) => event.session.serverId === agent.serverId);
      expect(mine.map((event) => [event.type, event.session.connectionId])).toEqual([
        ['connected', firstSession.connectionId],
        ['disconnected', firstSession.connectionId],
        ['connected', secondSession.connectionId],
      ]);
      // The old stream's end does not unregister the new one.
      await sleep(100);
      expect(kit.gateway.session(agent.serverId)).toBe(secondSession);
      second.call.cancel();
      await kit.events.waitFor((events) =>
        events.some((event) => event.type === 'disconnected' && event.session === secondSession),
      );
      expect(kit.gateway.session(agent.serverId)).toBeUndefined();
    });

    it('closes a stream whose first frame is not hello, and one that says nothing', async () => {
      const agent = await kit.enrollNew(`nohello-${kind}`);
      const rude = new AgentStream(kit.client(agent));
      rude.send({ heartbeat: { sentAtMs: '1', running: [] } });
      expect((await rude.ended).code).toBe(grpc.status.INVALID_ARGUMENT);

      const silent = new AgentStream(kit.client(agent));
      const started = Date.now();
      const status = await silent.ended;
      expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(kit.events.events.some((event) => event.session.serverId === agent.serverId)).toBe(false);
      expect(kit.gateway.session(agent.serverId)).toBeUndefined();
    });
  });
});
