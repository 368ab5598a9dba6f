import type {
  AttemptRef__Output,
  Hello__Output,
  MasterFrame,
  StepResult__Output,
} from '../../../shared/src/protocol.js';
import type { Heartbeat__Output } from '../../../generated/proto/berth/agent/v1/Heartbeat.js';
import type { StepLog__Output } from '../../../generated/proto/berth/agent/v1/StepLog.js';
import type { StepProgress__Output } from '../../../generated/proto/berth/agent/v1/StepProgress.js';

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

/**
 * What the gRPC gateway tells the task engine about agents. The gateway authenticates the agent,
 * keeps the stream and decodes frames; everything about steps and leases is the engine's business.
 */
export interface AgentEvents {
  /** After the agent's hello: record its services, settle the attempts it reports, dispatch work. */
  agentConnected(session: AgentSession, hello: Hello__Output): Promise<void>;
  agentDisconnected(session: AgentSession): void;
  heartbeat(session: AgentSession, heartbeat: Heartbeat__Output): Promise<void>;
  stepAccepted(session: AgentSession, ref: AttemptRef__Output): Promise<void>;
  stepLog(session: AgentSession, log: StepLog__Output): Promise<void>;
  stepProgress(session: AgentSession, progress: StepProgress__Output): Promise<void>;
  stepResult(session: AgentSession, result: StepResult__Output): Promise<void>;
}

/** Which agents are connected now, for the engine's dispatcher and the API's "connected" flag. */
export interface AgentDirectory {
  session(serverId: string): AgentSession | undefined;
  connectedServerIds(): string[];
}
