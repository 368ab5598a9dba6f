import { describe, expect, it } from 'vitest';
import type { AgentServiceClient } from '../../../shared/src/protocol.js';
import { MasterRing } from './master-ring.js';

function ring(addresses: string[], random = 0) {
  const closed: string[] = [];
  const opened: string[] = [];
  const client = (address: string, kind: string) =>
    ({ close: () => closed.push(`${kind} ${address}`) }) as unknown as AgentServiceClient;
  const masters = new MasterRing(
    addresses,
    (address) => {
      opened.push(address);
      return { control: client(address, 'control'), transfer: client(address, 'transfer') };
    },
    () => random,
  );
  return { masters, opened, closed };
}

describe('MasterRing', () => {
  it('starts where the random pick says, so that agents spread over the masters', () => {
    expect(ring(['a:1', 'b:1', 'c:1'], 0).masters.current().address).toBe('a:1');
    expect(ring(['a:1', 'b:1', 'c:1'], 0.5).masters.current().address).toBe('b:1');
    expect(ring(['a:1', 'b:1', 'c:1'], 0.99).masters.current().address).toBe('c:1');
  });

  it('moves to the next master at once until every one was tried, then backs off', () => {
    const { masters } = ring(['a:1', 'b:1', 'c:1']);
    // The stream to a was up, then lost: b at once, then c at once; a again only after a backoff.
    expect(masters.moveOn(true)).toBe(true);
    expect(masters.current().address).toBe('b:1');
    expect(masters.moveOn(false)).toBe(true);
    expect(masters.current().address).toBe('c:1');
    expect(masters.moveOn(false)).toBe(false);
    expect(masters.current().address).toBe('a:1');
    expect(masters.moveOn(false)).toBe(false);
    // A master that took it starts a new round.
    expect(masters.moveOn(true)).toBe(true);
  });

  it('with one master, always backs off', () => {
    const { masters } = ring(['a:1']);
    expect(masters.moveOn(true)).toBe(false);
    expect(masters.current().address).toBe('a:1');
  });

  it('opens each master once and closes all of them', () => {
    const { masters, opened, closed } = ring(['a:1', 'b:1']);
    masters.current();
    masters.moveOn(true);
    masters.current();
    masters.moveOn(true);
    masters.current();
    expect(opened).toEqual(['a:1', 'b:1']);
    masters.close();
    expect(closed.sort()).toEqual(['control a:1', 'control b:1', 'transfer a:1', 'transfer b:1']);
  });
});
