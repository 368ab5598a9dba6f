import type { Logger } from 'pino';
import { mapWithConcurrency } from '../../../../shared/src/concurrency.js';
import type { AgentDirectory } from '../../agents/agent-events.js';
import type { AttemptsRepository, DispatchableAttempt } from '../attempts.repository.js';
import type { AttemptOwners } from './attempt-owners.js';

/**
 * Supplies the secrets a step needs at the moment it is sent (e.g. a site's database password from
 * the registry, decrypted), so that they are never stored with the step.
 */
export type StepSecretResolver = (attempt: DispatchableAttempt) => Promise<Record<string, string>>;

const DISPATCH_BATCH = 200;
/** Servers whose pending attempts are assigned at once (the registry pool has 10 connections). */
const DISPATCH_CONCURRENCY = 6;

/**
 * Hands pending attempts to their agents when a slot of their server is free: the slot is taken
 * and the attempt assigned in one transaction (AttemptsRepository.assignAttempt), then sent.
 */
export class Dispatcher {
  constructor(
    private readonly attempts: Pick<
      AttemptsRepository,
      'pendingAttempts' | 'assignAttempt' | 'unassignAttempt'
    >,
    private readonly link: AgentDirectory,
    private readonly owners: AttemptOwners,
    private readonly secrets: StepSecretResolver,
    private readonly leaseMs: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Servers are independent (each has its own slots), so several are served at once: one after the
   * other, a burst of steps for hundreds of agents waited on one transaction per attempt. Within a
   * server, oldest first.
   */
  async dispatch(): Promise<void> {
    const byServer = new Map<string, DispatchableAttempt[]>();
    for (const attempt of await this.attempts.pendingAttempts(
      this.link.connectedServerIds(),
      DISPATCH_BATCH,
    )) {
      const queue = byServer.get(attempt.serverId);
      if (queue) queue.push(attempt);
      else byServer.set(attempt.serverId, [attempt]);
    }
    await mapWithConcurrency([...byServer.values()], DISPATCH_CONCURRENCY, async (attempts) => {
      for (const attempt of attempts) await this.send(attempt);
    });
  }

  private async send(attempt: DispatchableAttempt): Promise<void> {
    const session = this.link.session(attempt.serverId);
    if (!session) return;
    if (!(await this.attempts.assignAttempt(attempt, this.leaseMs))) return;
    this.owners.remember(attempt.attemptId, {
      taskId: attempt.taskId,
      stepId: attempt.stepId,
      stepName: attempt.name,
      connectionId: session.connectionId,
    });
    const sent = session.send({
      assign: {
        ref: { stepId: attempt.stepId, attemptId: attempt.attemptId, epoch: attempt.epoch },
        taskId: attempt.taskId,
        step: attempt.name,
        paramsJson: JSON.stringify(attempt.params),
        timeoutMs: attempt.timeoutMs,
        secrets: await this.secrets(attempt),
      },
    });
    if (!sent) {
      await this.attempts.unassignAttempt(attempt.attemptId);
      return;
    }
    this.logger.debug(
      { taskId: attempt.taskId, stepId: attempt.stepId, step: attempt.name },
      'step assigned',
    );
  }
}
