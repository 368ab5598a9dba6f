import { describe, expect, it } from 'vitest';
import { AttemptLog } from './attempt-log.js';

const limits = { batchLines: 3, retainLines: 5, retainChars: 1000 };

function fill(log: AttemptLog, count: number, from = 1): void {
  for (let i = from; i < from + count; i += 1) log.append(i % 2 ? 'stdout' : 'stderr', `line ${i}`, 1000 + i);
}

describe('AttemptLog', () => {
  it('numbers lines from 1 without gaps and hands them out in batches', () => {
    const log = new AttemptLog(limits);
    fill(log, 4);
    expect(log.unsent()).toBe(4);
    const first = log.takeBatch();
    expect(first).toEqual([
      { seq: '1', stream: 'stdout', text: 'line 1', atMs: '1001' },
      { seq: '2', stream: 'stderr', text: 'line 2', atMs: '1002' },
      { seq: '3', stream: 'stdout', text: 'line 3', atMs: '1003' },
    ]);
    expect(log.unsent()).toBe(1);
    expect(log.takeBatch()?.map((line) => line.seq)).toEqual(['4']);
    expect(log.takeBatch()).toBeUndefined();
    expect(log.unsent()).toBe(0);
    fill(log, 1, 5);
    expect(log.takeBatch()?.map((line) => line.seq)).toEqual(['5']);
  });

  it('sends the kept lines again after a rewind (a reconnect)', () => {
    const log = new AttemptLog(limits);
    fill(log, 4);
    log.takeBatch();
    log.takeBatch();
    log.rewind();
    expect(log.unsent()).toBe(4);
    expect(log.takeBatch()?.map((line) => line.seq)).toEqual(['1', '2', '3']);
    expect(log.takeBatch()?.map((line) => line.seq)).toEqual(['4']);
  });

  it('keeps a bounded number of lines and counts those lost before being sent', () => {
    const log = new AttemptLog(limits);
    fill(log, 2);
    log.takeBatch(); // 1 and 2 sent
    fill(log, 6, 3); // 8 lines in all, 5 kept: 4..8; 3 was never sent
    expect(log.takeDroppedCount()).toBe(1);
    expect(log.takeDroppedCount()).toBe(0);
    expect(log.unsent()).toBe(5);
    expect(log.takeBatch()?.map((line) => line.seq)).toEqual(['4', '5', '6']);
    log.rewind();
    expect(log.takeBatch()?.map((line) => line.seq)).toEqual(['4', '5', '6']);
    expect(log.lastSeq).toBe(8);
  });

  it('bounds the characters it keeps too', () => {
    const log = new AttemptLog({ batchLines: 10, retainLines: 100, retainChars: 10 });
    log.append('stdout', 'aaaaaa', 1);
    log.append('stdout', 'bbbbbb', 2);
    expect(log.takeBatch()?.map((line) => line.text)).toEqual(['bbbbbb']);
    expect(log.takeDroppedCount()).toBe(1);
  });
});
