import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthProcess, eventually, startMaster, type MasterHandle } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * A master told to stop (SIGTERM, as systemd does) while followers watch a running task's log:
 * it closes their streams and stops the engine and the registry, instead of waiting for them until
 * systemd kills it.
 */
describe('master shutdown', () => {
  let database: TestDatabase;
  let master: MasterHandle;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    master = await startMaster(database, { label: 'shutdown-master' });
  });

  afterAll(async () => {
    await master?.stop();
    await database?.drop();
  });

  it('exits within a few seconds, cleanly, with an event stream and a `task log --follow` attached', async () => {
    // A task that stays running: its server's agent never connects.
    await master.api.post('/api/servers', { name: 'lonely' });
    const task = await master.api.post<{ id: string }>('/api/tasks', {
      type: 'debug.sleep',
      server: 'lonely',
      params: { ms: 60_000 },
    });
    await eventually('the task to run', async () => {
      const current = await master.api.get<{ state: string }>(`/api/tasks/${task.id}`);
      return current.state === 'running';
    });

    const stream = await fetch(`${master.url}/api/tasks/${task.id}/events`, {
      headers: { authorization: `Bearer ${master.token}` },
    });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('event: state');
    const follower = new BerthProcess('shutdown-follower', ['task', 'log', task.id, '--follow'], {
      BERTH_URL: master.url,
      BERTH_TOKEN: master.token,
    });
    try {
      await eventually('the CLI follower to attach', () =>
        Promise.resolve(follower.text().length > 0 || follower.running),
      );
      // Let both followers be attached and idle.
      await new Promise((resolve) => setTimeout(resolve, 500));

      const asked = Date.now();
      master.process.child.kill('SIGTERM');
      // A master that hangs is killed after 10 s, so that this test fails instead of waiting.
      const code = await Promise.race([
        master.process.exited,
        new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000)),
      ]);
      const tookMs = Date.now() - asked;
      if (code === 'hung') await master.process.kill9();

      expect(code, master.process.text().slice(-2000)).toBe(0);
      expect(tookMs).toBeLessThan(5_000);
      expect(master.process.text()).toContain('Master stopped.');
      expect(master.process.text()).not.toMatch(/error while stopping/);
      // The stream is ended by the master, not left hanging.
      const ended = await (async () => {
        try {
          for (;;) if ((await reader.read()).done) return 'ended';
        } catch {
          return 'ended'; // closed under it
        }
      })();
      expect(ended).toBe('ended');
    } finally {
      await reader.cancel().catch(() => undefined);
      await follower.stop();
    }
  });
});
