import type { ServerRole } from '../../../shared/src/server-roles.js';
import type { StepFailure } from '../../../shared/src/errors.js';
import type { MasterFrame } from '../../../shared/src/protocol.js';
import type { ServiceInfo } from '../../../shared/src/steps.js';

/** One connected agent, as the task engine sees it: who it is and a way to send it frames. */
export interface AgentSession {
  readonly serverId: string;
  readonly serverName: string;
  /** A number unique to this connection: a reconnect gets a new one. */
  readonly connectionId: number;
  /** Queues a frame on the control stream; false when the stream is already closed. */
  send(frame: MasterFrame): boolean;
  /** Ends the stream (the agent will reconnect). */
  close(reason: string): void;
}

/** Which attempt of which step a message is about; the epoch fences stale messages. */
export interface AttemptRef {
  stepId: string;
  attemptId: string;
  epoch: string;
}

export type StepOutcome = { ok: true; output: unknown } | { ok: false; failure: StepFailure };

/** How an attempt ended on its agent. */
export interface AttemptResult {
  ref: AttemptRef;
  outcome: StepOutcome;
}

export interface AgentLogLine {
  /** The agent's number for the line within its attempt (a bigint, as a string). */
  seq: string;
  stream: 'stdout' | 'stderr' | 'agent';
  text: string;
  at: Date;
}

export interface AgentProgress {
  phase: string;
  done: number;
  /** 0 when the total is not known. */
  total: number;
  unit: string;
}

/** What an agent says first on each connection. */
export interface AgentHello {
  agentVersion: string;
  hostname: string | null;
  /** The IP address the other servers reach it at; null when it sent none (an older agent). */
  address: string | null;
  /** What it offers to sites. */
  roles: ServerRole[];
  /** Its IANA time zone; null when it sent none (an older agent) or one this master does not know. */
  timeZone: string | null;
  services: ServiceInfo[];
  /** Attempts it is still running. */
  running: AttemptRef[];
  /** Attempts that ended while it was not connected, oldest first. */
  finished: AttemptResult[];
}

/**
 * What the gRPC gateway tells the task engine about agents. The gateway authenticates the agent,
 * keeps the stream and decodes its frames (agent-frames.ts); everything about steps and leases is
 * the engine's business.
 */
export interface AgentEvents {
  /** After the agent's hello: settle the attempts it reports, dispatch work. */
  agentConnected(session: AgentSession, hello: AgentHello): Promise<void>;
  agentDisconnected(session: AgentSession): void;
  heartbeat(session: AgentSession, running: AttemptRef[]): Promise<void>;
  stepAccepted(session: AgentSession, ref: AttemptRef): Promise<void>;
  stepLog(session: AgentSession, ref: AttemptRef, lines: AgentLogLine[]): Promise<void>;
  stepProgress(session: AgentSession, ref: AttemptRef, progress: AgentProgress): Promise<void>;
  stepResult(session: AgentSession, result: AttemptResult): Promise<void>;
}

/**
 * What the gateway tells the registry about agents: what each one found on its server when it said
 * hello, that it was heard from (a heartbeat), and that its stream here ended.
 */
export interface AgentPresence {
  helloFrom(
    serverId: string,
    hello: Pick<AgentHello, 'agentVersion' | 'hostname' | 'address' | 'roles' | 'services' | 'timeZone'>,
  ): Promise<void>;
  heardFrom(serverId: string): void;
  /** Its stream on this master ended (not replaced by a newer one here): it may be on another master. */
  goneFrom?(serverId: string): Promise<void>;
}

/** Which agents are connected now, for the engine's dispatcher and the API's "connected" flag. */
export interface AgentDirectory {
  session(serverId: string): AgentSession | undefined;
  connectedServerIds(): string[];
}
