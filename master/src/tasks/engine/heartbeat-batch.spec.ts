import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { HeartbeatBatch, type HeartbeatWrite } from './heartbeat-batch.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('HeartbeatBatch', () => {
  it("writes the heartbeats of a short spell in one go, a server's latest one", async () => {
    const writes: HeartbeatWrite[][] = [];
    const batch = new HeartbeatBatch(
      (heartbeats) => Promise.resolve(void writes.push(heartbeats)),
      20,
      pino({ level: 'silent' }),
    );
    batch.add({ serverId: 'a', running: ['1'] });
    batch.add({ serverId: 'b', running: [] });
    batch.add({ serverId: 'a', running: [] });
    expect(writes).toEqual([]);
    await sleep(60);
    expect(writes).toEqual([
      [
        { serverId: 'a', running: [] },
        { serverId: 'b', running: [] },
      ],
    ]);
  });

  it('gathers what arrives during a write into the next one, and goes on after a failed write', async () => {
    const writes: string[][] = [];
    let release: () => void = () => undefined;
    let calls = 0;
    const batch = new HeartbeatBatch(
      async (heartbeats) => {
        calls++;
        writes.push(heartbeats.map((heartbeat) => heartbeat.serverId));
        if (calls === 1) await new Promise<void>((resolve) => (release = resolve));
        if (calls === 2) throw new Error('the database is away');
      },
      5,
      pino({ level: 'silent' }),
    );
    batch.add({ serverId: 'a', running: [] });
    await sleep(20);
    batch.add({ serverId: 'b', running: [] });
    batch.add({ serverId: 'c', running: [] });
    await sleep(20);
    expect(writes).toEqual([['a']]);
    release();
    await sleep(30);
    batch.add({ serverId: 'd', running: [] });
    await batch.flush();
    expect(writes).toEqual([['a'], ['b', 'c'], ['d']]);
  });
});
