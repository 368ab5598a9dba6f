import { describe, expect, it } from 'vitest';
import type { StepResult } from '../../../shared/src/protocol.js';
import { ResultOutbox } from './result-outbox.js';

function result(attemptId: string, ok = true): StepResult {
  return { ref: { stepId: 's', attemptId, epoch: '1' }, ok, outputJson: ok ? '{}' : '' };
}

describe('ResultOutbox', () => {
  it('keeps results until their ack and lists the unacknowledged ones', () => {
    const outbox = new ResultOutbox();
    outbox.add(result('a'));
    outbox.add(result('b', false));
    expect(outbox.unacknowledged().map((r) => r.ref?.attemptId)).toEqual(['a', 'b']);
    expect(outbox.acknowledge('a')).toBe(true);
    expect(outbox.unacknowledged().map((r) => r.ref?.attemptId)).toEqual(['b']);
    expect(outbox.size).toBe(1);
  });

  it('ignores an ack for an unknown or already acknowledged attempt', () => {
    const outbox = new ResultOutbox();
    outbox.add(result('a'));
    expect(outbox.acknowledge('zzz')).toBe(false);
    expect(outbox.acknowledge('a')).toBe(true);
    expect(outbox.acknowledge('a')).toBe(false);
    expect(outbox.unacknowledged()).toEqual([]);
  });

  it('still finds an acknowledged result (a repeated assignment), within a bound', () => {
    const outbox = new ResultOutbox(2);
    for (const id of ['a', 'b', 'c']) {
      outbox.add(result(id));
      outbox.acknowledge(id);
    }
    expect(outbox.find('a')).toBeUndefined();
    expect(outbox.find('b')?.ref?.attemptId).toBe('b');
    expect(outbox.find('c')?.ok).toBe(true);
  });

  it('refuses a result without an attempt', () => {
    expect(() => new ResultOutbox().add({ ok: true })).toThrow(/attempt/);
  });
});
