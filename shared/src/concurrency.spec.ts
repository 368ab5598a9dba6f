import { describe, expect, it } from 'vitest';
import { mapWithConcurrency } from './concurrency.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mapWithConcurrency', () => {
  it('keeps the order of the items and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const results = await mapWithConcurrency([30, 5, 20, 1, 10, 2], 3, async (ms, index) => {
      running++;
      most = Math.max(most, running);
      await sleep(ms);
      running--;
      return index * 10;
    });
    expect(results).toEqual([0, 10, 20, 30, 40, 50]);
    expect(most).toBe(3);
  });

  it('rejects with the first error after the calls in flight settled, and starts no more', async () => {
    const started: number[] = [];
    let settled = 0;
    const outcome = mapWithConcurrency([1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      await sleep(item === 1 ? 5 : 20);
      settled++;
      if (item === 1) throw new Error('one failed');
      return item;
    });
    await expect(outcome).rejects.toThrow('one failed');
    expect(started).toEqual([1, 2]);
    expect(settled).toBe(2);
  });
});
