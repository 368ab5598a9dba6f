import type { AttemptRef } from '../../agents/agent-events.js';
import type { AttemptsRepository } from '../attempts.repository.js';

/** Where an attempt's logs, progress and result belong. */
export interface AttemptOwner {
  taskId: string;
  stepId: string;
  stepName: string;
  /** The agent connection it was sent on (AgentSession.connectionId), when this master sent it. */
  connectionId?: number;
}

/**
 * Which task and step each attempt belongs to: remembered when the attempt is sent, looked up in
 * the registry otherwise (an attempt sent by a master before a restart).
 */
export class AttemptOwners {
  private readonly owners = new Map<string, AttemptOwner>();

  constructor(private readonly attempts: Pick<AttemptsRepository, 'attemptOwner'>) {}

  remember(attemptId: string, owner: AttemptOwner): void {
    this.owners.set(attemptId, owner);
  }

  /** The owner if (server, attempt, epoch) name an attempt of that server; undefined otherwise. */
  async lookup(serverId: string, ref: AttemptRef): Promise<AttemptOwner | undefined> {
    const cached = this.owners.get(ref.attemptId);
    if (cached) return cached;
    const [found] = await this.attempts.attemptOwner(serverId, ref.attemptId, ref.epoch);
    if (!found) return undefined;
    const owner = { taskId: found.taskId, stepId: found.stepId, stepName: found.name };
    this.owners.set(ref.attemptId, owner);
    return owner;
  }

  /** Whether this master sent the attempt on that very connection (after the agent's hello, then). */
  sentOn(attemptId: string, connectionId: number): boolean {
    return this.owners.get(attemptId)?.connectionId === connectionId;
  }

  /** Forgets a settled attempt; returns what was remembered of it. */
  forget(attemptId: string): AttemptOwner | undefined {
    const owner = this.owners.get(attemptId);
    this.owners.delete(attemptId);
    return owner;
  }
}
