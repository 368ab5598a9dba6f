import type { Logger } from 'pino';
import type { Hello } from '../../generated/proto/berth/agent/v1/Hello.js';
import type { ControlHandlers } from './link/connection.js';
import type { StepSupervisor } from './steps/step-supervisor.js';

export interface StepControlOptions {
  supervisor: StepSupervisor;
  /** The server this agent enrolled as: a welcome for another one is logged as an error. */
  serverId: string;
  logger: Logger;
  /** What this agent says about itself in every hello; running and finished come from the supervisor. */
  describe(): Promise<Omit<Hello, 'running' | 'finished'>>;
  /** The master may rename the server; the welcome says the name it knows it by. */
  onServerName(name: string): void;
}

/**
 * What the control connection does with the master's frames: hand steps to the supervisor, and
 * tell a new connection what still runs and what finished while the stream was down. Shared by
 * the agent and the benchmarks' light agents, so both speak the protocol the same way.
 */
export function stepControlHandlers(options: StepControlOptions): ControlHandlers {
  const { supervisor, logger } = options;
  return {
    hello: async () => ({
      ...(await options.describe()),
      running: supervisor.runningRefs(),
      finished: supervisor.unacknowledgedResults(),
    }),
    welcome: (welcome) => {
      if (welcome.serverId && welcome.serverId !== options.serverId) {
        logger.error(
          { welcomedAs: welcome.serverId },
          'the master welcomed this agent as another server than the one it enrolled as',
        );
      }
      if (welcome.serverName) options.onServerName(welcome.serverName);
      supervisor.resendAfterReconnect();
    },
    frame: (frame) => {
      switch (frame.kind) {
        case 'assign':
          if (frame.assign) supervisor.handleAssign(frame.assign);
          return;
        case 'cancel':
          if (frame.cancel) supervisor.handleCancel(frame.cancel);
          return;
        case 'resultAck':
          if (frame.resultAck) supervisor.handleResultAck(frame.resultAck);
          return;
        case 'welcome':
        case 'heartbeatAck':
        case undefined:
          return;
      }
    },
    running: () => supervisor.runningRefs(),
  };
}
