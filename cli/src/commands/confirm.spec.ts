import { describe, expect, it } from 'vitest';
import { useCliHarness } from '../testing/cli-harness.js';
import { aTask } from '../testing/factories.js';
import type { FakeRoutes, MemoryIo } from '../testing/fake-master.js';

const TASK_ID = '6f1c2d3e-0000-4000-8000-0000000000d1';
const deleted = aTask({ id: TASK_ID, type: 'site.delete', targetKind: 'site', targetName: 'a.example' });
const routes: FakeRoutes = {
  'POST /api/sites/a.example/delete': () => ({ status: 202, body: deleted }),
  'POST /api/platforms/p1/delete': () => ({
    body: { deleted: { name: 'p1', path: '/srv/p1', serverName: 'web1' }, message: 'gone' },
  }),
};

/** Destructive commands: asked at a terminal, refused off one without --yes. */
describe('confirmation before a destructive command', () => {
  const cli = useCliHarness('confirm');

  it.each([
    [['site', 'delete', 'a.example']],
    [['site', 'backup-delete', 'a.example', '--backup', 'b1']],
    [['site', 'restore', 'a.example', '--backup', 'b1']],
    [['platform', 'delete', 'p1']],
  ])('berth %j off a terminal without --yes: exit 2, nothing sent to the master', async (argv) => {
    const { code, stderr, requests } = await cli.run(routes, argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(/not done without --yes when nobody can be asked \(stdin is not a terminal\)/);
    expect(requests).toEqual([]);
  });

  it('goes on with --yes (or -y)', async () => {
    const site = await cli.run(routes, ['site', 'delete', 'a.example', '--yes', '--no-wait']);
    expect(site.code).toBe(0);
    expect(site.requests.map((request) => `${request.method} ${request.path}`)).toContain(
      'POST /api/sites/a.example/delete',
    );
    const platform = await cli.run(routes, ['platform', 'delete', 'p1', '-y']);
    expect(platform.code).toBe(0);
    expect(platform.stdout).toContain('Platform p1 deleted from the registry.');
  });

  it('at a terminal asks, and does it only on y or yes', async () => {
    const asked: string[] = [];
    const answering = (answer: string) => ({
      prepare: (io: MemoryIo) => {
        io.terminal = {
          ask: (question: string) => {
            asked.push(question);
            return Promise.resolve(answer);
          },
        };
      },
    });
    const declined = await cli.run(routes, ['site', 'delete', 'a.example', '--no-wait'], answering('n'));
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain('Not confirmed: nothing was done.');
    expect(declined.requests).toEqual([]);
    expect(asked[0]).toBe(
      'Delete a.example: its vhost, directory, database and user (a last backup is kept). Go on? [y/N] ',
    );
    const accepted = await cli.run(routes, ['site', 'delete', 'a.example', '--no-wait'], answering(' Yes '));
    expect(accepted.code).toBe(0);
    expect(accepted.requests.some((request) => request.path === '/api/sites/a.example/delete')).toBe(true);
  });
});
