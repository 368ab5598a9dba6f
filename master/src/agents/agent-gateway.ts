import { status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AgentFrame__Output, MasterFrame } from '../../../shared/src/protocol.js';
import type { MasterConfig } from '../infra/config/master-config.js';
import type { AgentAuthenticator, AuthenticatedAgent, CallWithAuthContext } from './agent-authenticator.js';
import type { AgentCredentialsRepository } from './agent-credentials.repository.js';
import type { AgentDirectory, AgentEvents, AgentPresence, AgentSession } from './agent-events.js';
import {
  decodeHeartbeat,
  decodeHello,
  decodeLogLines,
  decodeProgress,
  decodeRef,
  decodeResult,
} from './agent-frames.js';

export type ConnectCall = ServerDuplexStream<AgentFrame__Output, MasterFrame>;

/** For a gateway whose agents' presence nobody records (tests of the link itself). */
const NO_PRESENCE: AgentPresence = { helloFrom: () => Promise.resolve(), heardFrom: () => undefined };

/** The first frame of a Connect must arrive within this. */
export const HELLO_TIMEOUT_MS = 10_000;
/** Frames read ahead of the one being handled before the stream is paused (gRPC flow control). */
const MAX_QUEUED_FRAMES = 64;

/** The attempt a frame is about, as log fields (the task is the engine's to know). */
function attemptOf(frame: AgentFrame__Output): { stepId?: string; attemptId?: string } {
  const ref = (frame.accepted ?? frame.log ?? frame.progress ?? frame.result)?.ref;
  return ref ? { stepId: ref.stepId, attemptId: ref.attemptId } : {};
}

/**
 * Ends a server call with a status. grpc-js turns an 'error' event on a server stream into the
 * call's final status (and ends it); emitting it ourselves is its documented way to fail a stream.
 */
function endWithStatus(call: ConnectCall, code: GrpcStatus, details: string): void {
  if (call.writableEnded || call.destroyed) return;
  call.emit('error', Object.assign(new Error(details), { code, details }));
}

class GatewaySession implements AgentSession {
  readonly serverId: string;
  readonly serverName: string;
  /** Set once agentDisconnected was called for it, so it is called exactly once. */
  disconnectReported = false;
  private closed = false;

  constructor(
    agent: AuthenticatedAgent,
    readonly connectionId: number,
    private readonly call: ConnectCall,
  ) {
    this.serverId = agent.serverId;
    this.serverName = agent.serverName;
  }

  get isClosed(): boolean {
    return this.closed || this.call.writableEnded || this.call.destroyed;
  }

  markClosed(): void {
    this.closed = true;
  }

  send(frame: MasterFrame): boolean {
    if (this.isClosed) return false;
    // write() returning false only means "buffer full": the frame is queued all the same.
    this.call.write(frame);
    return true;
  }

  close(reason: string): void {
    if (this.isClosed) return;
    this.closed = true;
    endWithStatus(
      this.call,
      GrpcStatus.UNAVAILABLE,
      `the master closed this connection: ${reason}; reconnect`,
    );
  }
}

/**
 * The master's end of the agents' control streams: authenticates each Connect, waits for hello,
 * keeps one session per server (the newest wins), and hands every frame to the task engine in the
 * order it arrived.
 */
export class AgentGateway implements AgentDirectory {
  private readonly sessions = new Map<string, GatewaySession>();
  private events: AgentEvents | undefined;
  private nextConnectionId = 0;

  constructor(
    private readonly authenticator: AgentAuthenticator,
    private readonly credentials: AgentCredentialsRepository,
    private readonly config: Pick<MasterConfig, 'heartbeatIntervalMs' | 'leaseMs'>,
    private readonly logger: Logger,
    private readonly presence: AgentPresence = NO_PRESENCE,
    private readonly helloTimeoutMs: number = HELLO_TIMEOUT_MS,
  ) {}

  /** The task engine registers itself, once, before agents can connect. */
  attach(events: AgentEvents): void {
    if (this.events && this.events !== events) {
      throw new Error(
        'AgentGateway.attach() was called twice: only one task engine may receive agent events',
      );
    }
    this.events = events;
  }

  session(serverId: string): AgentSession | undefined {
    return this.sessions.get(serverId);
  }

  connectedServerIds(): string[] {
    return [...this.sessions.keys()];
  }

  connectedCount(): number {
    return this.sessions.size;
  }

  /** Ends every control stream (at shutdown); agents reconnect to the next master. */
  closeAll(reason: string): void {
    for (const session of [...this.sessions.values()]) session.close(reason);
  }

  /**
   * Authenticates any agent call by its client certificate (the archive transfers use it too);
   * throws a PkiError (UNAUTHENTICATED) otherwise.
   */
  authenticate(call: CallWithAuthContext): Promise<AuthenticatedAgent> {
    return this.authenticator.authenticate(call);
  }

  /** The Connect handler: authenticates, then serves the stream until it ends. */
  handleConnect(call: ConnectCall): void {
    void this.authenticate(call).then(
      (agent) => this.serve(call, agent),
      (error: unknown) => {
        const details = error instanceof Error ? error.message : String(error);
        this.logger.warn({ peer: call.getPeer(), reason: details }, 'refused an agent connection');
        endWithStatus(call, GrpcStatus.UNAUTHENTICATED, details);
      },
    );
  }

  /** Serves the control stream of an authenticated agent. */
  serve(call: ConnectCall, agent: AuthenticatedAgent): void {
    const log = this.logger.child({ serverId: agent.serverId, server: agent.serverName });
    // The agent may have gone while it was being authenticated; its events are not replayed.
    if (call.cancelled || call.destroyed) return;
    let session: GatewaySession | undefined;
    let refused = false;
    let queued = 0;
    let chain: Promise<void> = Promise.resolve();
    let finished = false;

    const helloTimer = setTimeout(() => {
      if (session || refused) return;
      refused = true;
      log.warn('closed a connection that sent no hello within %d ms', this.helloTimeoutMs);
      endWithStatus(
        call,
        GrpcStatus.DEADLINE_EXCEEDED,
        `no hello within ${this.helloTimeoutMs} ms: the first frame on Connect must be hello`,
      );
    }, this.helloTimeoutMs);

    const handle = async (frame: AgentFrame__Output): Promise<void> => {
      if (refused || finished) return;
      if (!session) {
        if (frame.kind !== 'hello' || !frame.hello) {
          refused = true;
          clearTimeout(helloTimer);
          log.warn({ kind: frame.kind }, 'closed a connection whose first frame was not hello');
          endWithStatus(
            call,
            GrpcStatus.INVALID_ARGUMENT,
            `the first frame on Connect must be hello, got ${frame.kind}`,
          );
          return;
        }
        clearTimeout(helloTimer);
        try {
          session = await this.open(call, agent, frame.hello, log);
        } finally {
          if (!session) refused = true;
        }
        return;
      }
      await this.dispatch(session, frame, log);
    };

    const finish = (why: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(helloTimer);
      // Frames already read are still handled, in order, before the engine hears of the disconnect.
      chain = chain.then(() => {
        if (!session) return;
        session.markClosed();
        this.release(session, why, log);
      });
    };

    call.on('data', (frame: AgentFrame__Output) => {
      queued++;
      if (queued >= MAX_QUEUED_FRAMES) call.pause();
      chain = chain
        .then(() => handle(frame))
        .catch((error: unknown) =>
          log.error({ err: error, kind: frame.kind, ...attemptOf(frame) }, 'handling an agent frame failed'),
        )
        .finally(() => {
          queued--;
          if (queued < MAX_QUEUED_FRAMES / 2 && call.isPaused()) call.resume();
        });
    });
    call.on('end', () => {
      // The agent half-closed: close our side with OK.
      finish('the agent closed the stream');
      if (!call.writableEnded) call.end();
    });
    call.on('cancelled', () => finish('the call was cancelled'));
    call.on('error', (error: Error) => finish(`stream error: ${error.message}`));
    call.on('close', () => finish('the stream closed'));
  }

  private async open(
    call: ConnectCall,
    agent: AuthenticatedAgent,
    hello: NonNullable<AgentFrame__Output['hello']>,
    log: Logger,
  ): Promise<GatewaySession> {
    let events: AgentEvents;
    try {
      events = this.requireEvents();
    } catch (error) {
      log.error({ err: error }, 'an agent said hello before the task engine attached to the gateway');
      endWithStatus(call, GrpcStatus.UNAVAILABLE, 'the master is not ready to take agents yet; reconnect');
      throw error;
    }
    const session = new GatewaySession(agent, ++this.nextConnectionId, call);
    session.send({
      welcome: {
        serverId: agent.serverId,
        serverName: agent.serverName,
        heartbeatIntervalMs: this.config.heartbeatIntervalMs,
        leaseMs: this.config.leaseMs,
      },
    });
    this.register(session, log);
    try {
      await this.credentials.markSeen(agent.serverId);
    } catch (error) {
      log.error({ err: error }, 'could not record when the agent was last seen');
    }
    log.info(
      { connectionId: session.connectionId, agentVersion: hello.agentVersion, hostname: hello.hostname },
      'agent connected',
    );
    const decoded = decodeHello(hello);
    try {
      await this.presence.helloFrom(agent.serverId, decoded);
    } catch (error) {
      log.error({ err: error }, 'could not record the services the agent reported');
    }
    try {
      await events.agentConnected(session, decoded);
    } catch (error) {
      log.error({ err: error }, 'the task engine failed to handle an agent hello');
    }
    return session;
  }

  private async dispatch(session: GatewaySession, frame: AgentFrame__Output, log: Logger): Promise<void> {
    const events = this.requireEvents();
    switch (frame.kind) {
      case 'hello':
        log.warn('ignored a second hello on the same stream');
        return;
      case 'heartbeat':
        if (!frame.heartbeat) return;
        session.send({ heartbeatAck: { sentAtMs: frame.heartbeat.sentAtMs } });
        this.presence.heardFrom(session.serverId);
        await events.heartbeat(session, decodeHeartbeat(frame.heartbeat));
        return;
      case 'accepted': {
        const ref = this.refOf(frame.accepted?.ref, frame.kind, log);
        if (ref) await events.stepAccepted(session, ref);
        return;
      }
      case 'log': {
        const ref = this.refOf(frame.log?.ref, frame.kind, log);
        if (ref) await events.stepLog(session, ref, decodeLogLines(frame.log!.lines));
        return;
      }
      case 'progress': {
        const ref = this.refOf(frame.progress?.ref, frame.kind, log);
        if (ref) await events.stepProgress(session, ref, decodeProgress(frame.progress!));
        return;
      }
      case 'result': {
        const result = frame.result ? decodeResult(frame.result) : undefined;
        if (result) await events.stepResult(session, result);
        else log.warn({ kind: frame.kind }, 'dropped a result that names no attempt');
        return;
      }
      case undefined:
        log.warn('ignored an empty frame (an agent newer than this master?)');
        return;
    }
  }

  private refOf(
    ref: Parameters<typeof decodeRef>[0],
    kind: string,
    log: Logger,
  ): ReturnType<typeof decodeRef> {
    const decoded = decodeRef(ref);
    if (!decoded) log.warn({ kind }, 'dropped a frame that names no attempt');
    return decoded;
  }

  /** A newer connection of a server replaces the older one, which is reported gone first. */
  private register(session: GatewaySession, log: Logger): void {
    const older = this.sessions.get(session.serverId);
    if (older) {
      this.reportDisconnected(older, log);
      older.close('a newer connection of the same server replaced it');
      log.info({ connectionId: older.connectionId }, 'replaced an older connection of the agent');
    }
    this.sessions.set(session.serverId, session);
  }

  private release(session: GatewaySession, why: string, log: Logger): void {
    if (this.sessions.get(session.serverId) === session) {
      this.sessions.delete(session.serverId);
      this.presence
        .goneFrom?.(session.serverId)
        .catch((error: unknown) =>
          log.error({ err: error }, 'could not record that the agent left this master'),
        );
    }
    if (!session.disconnectReported)
      log.info({ connectionId: session.connectionId, why }, 'agent disconnected');
    this.reportDisconnected(session, log);
  }

  private reportDisconnected(session: GatewaySession, log: Logger): void {
    if (session.disconnectReported) return;
    session.disconnectReported = true;
    try {
      this.requireEvents().agentDisconnected(session);
    } catch (error) {
      log.error({ err: error }, 'the task engine failed to handle an agent disconnect');
    }
  }

  private requireEvents(): AgentEvents {
    if (!this.events) {
      throw new Error(
        'AgentGateway received an agent frame before attach(events): the task engine must attach to the ' +
          'gateway before the gRPC server starts',
      );
    }
    return this.events;
  }
}
