import * as grpc from '@grpc/grpc-js';
import {
  type AgentServiceClient,
  GRPC_CHANNEL_OPTIONS,
  loadAgentProtocol,
} from '../../../shared/src/protocol.js';

/**
 * A name with several addresses (one A record per master) is dialled at one of them picked at random,
 * and the next is tried when it fails (gRPC's pick_first with a shuffled list), so that agents given
 * one name for several masters spread over them too.
 */
const SPREAD_OVER_ADDRESSES = JSON.stringify({
  loadBalancingConfig: [{ pick_first: { shuffleAddressList: true } }],
});

/** A client of the master's AgentService at HOST:PORT. */
export function agentServiceClient(
  address: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ChannelOptions = {},
): AgentServiceClient {
  const { AgentService } = loadAgentProtocol().berth.agent.v1;
  return new AgentService(address, credentials, {
    ...GRPC_CHANNEL_OPTIONS,
    'grpc.service_config': SPREAD_OVER_ADDRESSES,
    ...options,
  });
}

/** Calls a unary method with a deadline and returns its answer as a promise. */
export function unary<T>(
  call: (options: grpc.CallOptions, callback: grpc.requestCallback<T>) => unknown,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    call({ deadline: new Date(Date.now() + timeoutMs) }, (error, response) => {
      if (error) reject(error);
      else if (response) resolve(response);
      else reject(new Error('the master sent an empty answer'));
    });
  });
}
