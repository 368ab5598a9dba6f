import type { StepResult } from '../../../shared/src/protocol.js';

/**
 * Results the master has not acknowledged yet. A result stays here until a result_ack for its
 * attempt arrives; the unacknowledged ones go into every hello. Acknowledged results are kept a
 * little longer (bounded) so that a repeated assignment gets its result again, not a second run.
 */
export class ResultOutbox {
  private readonly pending = new Map<string, StepResult>();
  private readonly acknowledged = new Map<string, StepResult>();

  constructor(private readonly keepAcknowledged = 1_000) {}

  add(result: StepResult): void {
    const attemptId = result.ref?.attemptId;
    if (!attemptId) throw new Error('a step result needs the attempt it belongs to');
    this.acknowledged.delete(attemptId);
    this.pending.set(attemptId, result);
  }

  /** The result of an attempt that finished here, acknowledged or not. */
  find(attemptId: string): StepResult | undefined {
    return this.pending.get(attemptId) ?? this.acknowledged.get(attemptId);
  }

  /** True when the attempt had a pending result (now acknowledged). */
  acknowledge(attemptId: string): boolean {
    const result = this.pending.get(attemptId);
    if (!result) return false;
    this.pending.delete(attemptId);
    this.acknowledged.set(attemptId, result);
    if (this.acknowledged.size > this.keepAcknowledged) {
      const oldest = this.acknowledged.keys().next();
      if (!oldest.done) this.acknowledged.delete(oldest.value);
    }
    return true;
  }

  unacknowledged(): StepResult[] {
    return [...this.pending.values()];
  }

  get size(): number {
    return this.pending.size;
  }
}
