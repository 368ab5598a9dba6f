import type { MasterFrame } from '../../../../shared/src/protocol.js';
import type { AgentEvents, AgentHello, AgentSession } from '../../agents/agent-events.js';
import type { AgentLink } from '../engine/task-engine.js';

/** What a scripted agent answers for a step: its output (it always succeeds). */
export type ScriptedOutput = (step: string, params: Record<string, unknown>) => unknown;

/**
 * A scripted stand-in for the gRPC gateway and the agents, for tests of the engine against a real
 * registry (the cross-process tests in test/e2e use real ones): it receives the frames the engine
 * sends and answers through the engine's AgentEvents.
 */
export class ScriptedAgents implements AgentLink {
  events!: AgentEvents;
  readonly sessions = new Map<string, ScriptedSession>();
  constructor(private readonly output: ScriptedOutput = (step) => ({ step })) {}
  attach(events: AgentEvents) {
    this.events = events;
  }
  session(serverId: string) {
    return this.sessions.get(serverId);
  }
  connectedServerIds() {
    return [...this.sessions.keys()];
  }
  async connect(serverId: string, behaviour: Behaviour, hello: Partial<AgentHello> = {}) {
    const session = new ScriptedSession(serverId, this, behaviour, this.output);
    this.sessions.set(serverId, session);
    await this.events.agentConnected(session, {
      agentVersion: 'test',
      hostname: 'test',
      address: '127.0.0.1',
      roles: ['http', 'db'],
      timeZone: 'UTC',
      services: [],
      running: [],
      finished: [],
      ...hello,
    });
    return session;
  }
  disconnect(serverId: string) {
    const session = this.sessions.get(serverId);
    this.sessions.delete(serverId);
    if (session) {
      session.closed = true;
      this.events.agentDisconnected(session);
    }
  }
}

/** complete: runs each step it is sent; silent: accepts nothing; obey-cancel: runs until cancelled. */
export type Behaviour = 'complete' | 'silent' | 'obey-cancel';

let nextConnection = 1;
export class ScriptedSession implements AgentSession {
  readonly connectionId = nextConnection++;
  readonly serverName: string;
  readonly frames: MasterFrame[] = [];
  closed = false;
  stepMs = 40;
  constructor(
    readonly serverId: string,
    private readonly agents: ScriptedAgents,
    private readonly behaviour: Behaviour,
    private readonly output: ScriptedOutput,
  ) {
    this.serverName = `server-${serverId.slice(0, 4)}`;
  }
  send(frame: MasterFrame): boolean {
    if (this.closed) return false;
    this.frames.push(frame);
    const events = this.agents.events;
    const assign = frame.assign;
    if (assign?.ref && this.behaviour !== 'silent') {
      const ref = refOf(frame);
      void (async () => {
        await events.stepAccepted(this, ref);
        await events.stepLog(this, ref, [
          { seq: '1', stream: 'stdout', text: `running ${assign.step}`, at: new Date() },
        ]);
        if (this.behaviour === 'obey-cancel') return;
        await sleep(this.stepMs);
        const params = JSON.parse(assign.paramsJson ?? '{}') as Record<string, unknown>;
        await events.stepResult(this, {
          ref,
          outcome: { ok: true, output: this.output(assign.step ?? '', params) },
        });
      })();
    }
    if (frame.cancel?.ref && this.behaviour === 'obey-cancel') {
      void events.stepResult(this, {
        ref: refOf(frame),
        outcome: {
          ok: false,
          failure: { code: 'CANCELLED', message: 'stopped by request', retryable: false, exitCode: 143 },
        },
      });
    }
    return true;
  }
  close() {
    this.closed = true;
  }
  assigned() {
    return this.frames.filter((frame) => frame.assign);
  }
}

/** The attempt an assign or cancel frame names. */
export const refOf = (frame: MasterFrame) => {
  const ref = (frame.assign ?? frame.cancel)!.ref!;
  return { stepId: ref.stepId!, attemptId: ref.attemptId!, epoch: ref.epoch! };
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it gives a value, or fails after `timeoutMs` saying what it waited for. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
