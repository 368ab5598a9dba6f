/**
 * Loads the gRPC contract from proto/ with @grpc/proto-loader, for the master and the agent alike.
 * The options match those the types in generated/proto were made with (longs and enums as strings,
 * defaults filled in, oneof names set).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import type { ProtoGrpcType } from '../../generated/proto/agent.js';
import { packageRoot } from './package-root.js';

export type { AgentServiceClient } from '../../generated/proto/berth/agent/v1/AgentService.js';
export type { AgentServiceHandlers } from '../../generated/proto/berth/agent/v1/AgentService.js';
export type { AgentFrame, AgentFrame__Output } from '../../generated/proto/berth/agent/v1/AgentFrame.js';
export type { MasterFrame, MasterFrame__Output } from '../../generated/proto/berth/agent/v1/MasterFrame.js';
export type {
  ArchiveChunk,
  ArchiveChunk__Output,
} from '../../generated/proto/berth/agent/v1/ArchiveChunk.js';
export type { AttemptRef, AttemptRef__Output } from '../../generated/proto/berth/agent/v1/AttemptRef.js';
export type { StepResult, StepResult__Output } from '../../generated/proto/berth/agent/v1/StepResult.js';
export type { Hello__Output } from '../../generated/proto/berth/agent/v1/Hello.js';
export type { PutArchiveResult__Output } from '../../generated/proto/berth/agent/v1/PutArchiveResult.js';
export type { EnrollResponse__Output } from '../../generated/proto/berth/agent/v1/EnrollResponse.js';

let loaded: ProtoGrpcType | undefined;

export function loadAgentProtocol(): ProtoGrpcType {
  if (loaded) return loaded;
  const protoDir = join(packageRoot(), 'proto');
  const definition = protoLoader.loadSync(join(protoDir, 'berth', 'agent', 'v1', 'agent.proto'), {
    includeDirs: [protoDir],
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  loaded = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  return loaded;
}

/** The largest chunk a transfer sends; small enough to keep memory flat, large enough to be fast. */
export const ARCHIVE_CHUNK_BYTES = 256 * 1024;

/** gRPC channel options both ends use for the control stream and transfers. */
export const GRPC_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
};

/**
 * The longest an agent waits between two reconnect attempts (its backoff's cap). After a restart
 * the master gives in-flight attempts this much on top of a lease before it declares them lost, so
 * an agent in the middle of its backoff is not punished for the master's absence.
 */
export const AGENT_RECONNECT_MAX_DELAY_MS = 10_000;
