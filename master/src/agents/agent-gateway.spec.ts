import { randomUUID } from 'node:crypto';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Duplex } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AgentFrame__Output, MasterFrame } from '../../../shared/src/protocol.js';
import type { AgentAuthenticator, AuthenticatedAgent } from './agent-authenticator.js';
import type { AgentCredentialsRepository } from './agent-credentials.repository.js';
import type { AgentEvents } from './agent-events.js';
import { AgentGateway, type ConnectCall } from './agent-gateway.js';

/** An in-memory stand-in for a grpc-js server duplex call: frames in, frames and a status out. */
class FakeCall extends Duplex {
  readonly written: MasterFrame[] = [];
  status: { code: number; details: string } | undefined;
  cancelled = false;

  constructor() {
    super({ objectMode: true });
    // grpc-js turns an 'error' event into the call's status and ends it.
    this.on('error', (error: { code?: number; details?: string }) => {
      this.status = { code: error.code ?? GrpcStatus.UNKNOWN, details: error.details ?? '' };
      this.end();
    });
  }
  override _read() {}
  override _write(frame: MasterFrame, _encoding: string, callback: () => void) {
    this.written.push(frame);
    callback();
  }
  getPeer() {
    return 'fake';
  }
  receive(frame: AgentFrame__Output) {
    this.push(frame);
  }
}

const agent: AuthenticatedAgent = {
  serverId: '00000000-0000-4000-8000-000000000001',
  serverName: 'web1',
  certificateSha256: 'ab',
};
const credentials = { markSeen: () => Promise.resolve() } as unknown as AgentCredentialsRepository;
const authenticator = {} as AgentAuthenticator;
const config = { heartbeatIntervalMs: 1_000, leaseMs: 5_000 };
const logger = pino({ level: 'silent' });
const hello: AgentFrame__Output = {
  kind: 'hello',
  hello: {
    agentVersion: '1',
    hostname: 'h',
    address: '10.0.0.1',
    roles: ['http'],
    timeZone: 'UTC',
    services: [],
    slots: 1,
    running: [],
    finished: [],
    steps: [],
  },
};

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('AgentGateway', () => {
  it('refuses a hello that arrives before the engine attached, and says why', async () => {
    const gateway = new AgentGateway(authenticator, credentials, config, logger);
    const call = new FakeCall();
    gateway.serve(call as unknown as ConnectCall, agent);
    call.receive(hello);
    await tick();
    expect(call.status?.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(call.written).toEqual([]);
    expect(gateway.connectedCount()).toBe(0);
  });

  it('accepts one engine only', () => {
    const gateway = new AgentGateway(authenticator, credentials, config, logger);
    const events = {} as AgentEvents;
    gateway.attach(events);
    gateway.attach(events);
    expect(() => gateway.attach({} as AgentEvents)).toThrow(/attach\(\) was called twice/);
  });

  it('keeps the stream when an engine handler throws, and goes on with the next frame', async () => {
    const gateway = new AgentGateway(authenticator, credentials, config, logger);
    const seen: string[] = [];
    gateway.attach({
      agentConnected: () => Promise.resolve(),
      agentDisconnected: () => seen.push('disconnected'),
      heartbeat: () => Promise.reject(new Error('engine bug')),
      stepAccepted: () => {
        seen.push('accepted');
        return Promise.resolve();
      },
      stepLog: () => Promise.resolve(),
      stepProgress: () => Promise.resolve(),
      stepResult: () => Promise.resolve(),
    });
    const call = new FakeCall();
    gateway.serve(call as unknown as ConnectCall, agent);
    call.receive(hello);
    call.receive({ kind: 'heartbeat', heartbeat: { sentAtMs: '5', running: [] } });
    const ref = { stepId: randomUUID(), attemptId: randomUUID(), epoch: '1' };
    call.receive({ kind: 'accepted', accepted: { ref } });
    // A reference that names no attempt is dropped here, not handed on.
    call.receive({ kind: 'accepted', accepted: { ref: { ...ref, attemptId: 'not-a-uuid' } } });
    await tick();
    expect(seen).toEqual(['accepted']);
    expect(call.status).toBeUndefined();
    expect(call.written.map((frame) => Object.keys(frame)[0])).toEqual(['welcome', 'heartbeatAck']);
    expect(gateway.connectedCount()).toBe(1);
    call.push(null);
    await tick();
    expect(seen).toEqual(['accepted', 'disconnected']);
    expect(gateway.connectedCount()).toBe(0);
  });
});
