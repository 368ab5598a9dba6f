import type { Logger } from 'pino';
import { StepErrorCode } from '../../../../shared/src/errors.js';
import type { AttemptRef } from '../../agents/agent-events.js';
import type { MasterConfig } from '../../infra/config/master-config.js';
import type { AttemptsRepository, SettledWithoutAgent } from '../attempts.repository.js';

/**
 * Settles the attempts no agent will settle: those whose agent went silent past its lease (lost:
 * whether the step finished there is unknown) and those waiting for an agent that did not come
 * (failed, retryable). Each settled attempt is handed to `settled`.
 */
/** The agents as the reaper needs them: which are connected (to any master), and a way to stop one's attempt. */
export interface ReapedAgents {
  connectedServerIds(): Promise<string[]>;
  cancel(serverId: string, ref: AttemptRef, reason: string): void;
}

export class LeaseReaper {
  constructor(
    private readonly attempts: Pick<AttemptsRepository, 'settleExpiredLeases' | 'failPendingWithoutAgent'>,
    private readonly agents: ReapedAgents,
    private readonly config: Pick<MasterConfig, 'leaseMs' | 'agentWaitMs'>,
    private readonly logger: Logger,
    private readonly settled: (attempt: SettledWithoutAgent, outcome: 'lost' | 'failed') => void,
  ) {}

  async reap(): Promise<void> {
    await this.loseExpiredLeases();
    await this.failStepsWithoutAgent();
  }

  private async loseExpiredLeases(): Promise<void> {
    const lost = await this.attempts.settleExpiredLeases((attempt) => ({
      code: StepErrorCode.AgentLost,
      retryable: false,
      message:
        `the agent on server ${attempt.serverName} stopped answering during step ${attempt.name} ` +
        `(no heartbeat for ${Math.round(this.config.leaseMs / 1000)} s); whether the step finished there is unknown`,
    }));
    for (const attempt of lost) {
      this.warn(attempt);
      // If the agent is back on another connection it must not go on with the lost attempt.
      this.agents.cancel(
        attempt.serverId,
        { stepId: attempt.stepId, attemptId: attempt.attemptId, epoch: attempt.epoch },
        'the master declared this attempt lost (lease expired)',
      );
      this.settled(attempt, 'lost');
    }
  }

  private async failStepsWithoutAgent(): Promise<void> {
    const failed = await this.attempts.failPendingWithoutAgent(
      await this.agents.connectedServerIds(),
      this.config.agentWaitMs,
      (attempt) => ({
        code: StepErrorCode.AgentUnavailable,
        retryable: true,
        message:
          `the agent on server ${attempt.serverName} did not connect within ` +
          `${Math.round(this.config.agentWaitMs / 1000)} s to run step ${attempt.name}; start it ` +
          `(systemctl start berth-agent) and run the task again`,
      }),
    );
    for (const attempt of failed) {
      this.warn(attempt);
      this.settled(attempt, 'failed');
    }
  }

  private warn(attempt: SettledWithoutAgent): void {
    this.logger.warn(
      { taskId: attempt.taskId, stepId: attempt.stepId, step: attempt.name },
      attempt.failure.message,
    );
  }
}
