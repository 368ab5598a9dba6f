import { describe, expect, it } from 'vitest';
import { useCliHarness } from '../testing/cli-harness.js';
import {
  aBackup,
  aClient,
  aDelivery,
  anAuditEvent,
  aPlatform,
  aProject,
  aServer,
  aTask,
  aToken,
} from '../testing/factories.js';
import { type FakeRoutes, pagedList } from '../testing/fake-master.js';

/** Each paged list: its command, its route, six items served two a page (three pages). */
const LISTS = [
  {
    argv: ['task', 'list'],
    route: 'GET /api/tasks',
    noun: 'tasks',
    items: [1, 2, 3, 4, 5, 6].map((n) => aTask({ id: `6f1c2d3e-0000-4000-8000-00000000000${n}` })),
  },
  {
    argv: ['platform', 'list'],
    route: 'GET /api/platforms',
    noun: 'platforms',
    items: [1, 2, 3, 4, 5, 6].map((n) => aPlatform({ name: `p${n}` })),
  },
  {
    argv: ['server', 'list'],
    route: 'GET /api/servers',
    noun: 'servers',
    items: [1, 2, 3, 4, 5, 6].map((n) => aServer({ name: `web${n}` })),
  },
  {
    argv: ['client', 'list'],
    route: 'GET /api/clients',
    noun: 'clients',
    items: [1, 2, 3, 4, 5, 6].map((n) => aClient({ name: `client${n}` })),
  },
  {
    argv: ['project', 'list'],
    route: 'GET /api/projects',
    noun: 'projects',
    items: [1, 2, 3, 4, 5, 6].map((n) => aProject({ name: `project${n}` })),
  },
  {
    argv: ['site', 'backups', 'a.example'],
    route: 'GET /api/sites/a.example/backups',
    noun: 'backups',
    items: [1, 2, 3, 4, 5, 6].map((n) => aBackup({ id: `b${n}` })),
  },
  {
    argv: ['audit', 'list'],
    route: 'GET /api/audit',
    noun: 'events',
    items: [1, 2, 3, 4, 5, 6].map((n) => anAuditEvent({ id: String(n) })),
  },
  {
    argv: ['token', 'list'],
    route: 'GET /api/tokens',
    noun: 'tokens',
    items: [1, 2, 3, 4, 5, 6].map((n) => aToken({ id: `6f1c2d3e-0000-4000-8000-00000000000${n}` })),
  },
  {
    argv: ['notify', 'deliveries'],
    route: 'GET /api/notifications/deliveries',
    noun: 'deliveries',
    items: [1, 2, 3, 4, 5, 6].map((n) => aDelivery({ id: `6f1c2d3e-0000-4000-8000-00000000000${n}` })),
  },
];

describe('paged lists', () => {
  const cli = useCliHarness('paging');

  describe.each(LISTS)('berth $argv', ({ argv, route, noun, items }) => {
    const routes: FakeRoutes = { [route]: pagedList(items, 2) };

    it('follows every page with --all (500 a page), saying nothing more on stderr', async () => {
      const { code, stdout, stderr, requests } = await cli.run(routes, [...argv, '--all', '--json']);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual(items);
      expect(requests.map((request) => request.query.get('cursor'))).toEqual([null, '@2', '@4']);
      expect(requests.map((request) => request.query.get('limit'))).toEqual(['500', '500', '500']);
      expect(stderr).toBe('');
    });

    it('prints one page of 100 without --all, and says on stderr how to get the next', async () => {
      const { code, stdout, stderr, requests } = await cli.run(routes, [...argv, '--json']);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual(items.slice(0, 2));
      expect(requests).toHaveLength(1);
      expect(requests[0]!.query.get('limit')).toBe('100');
      expect(stderr).toBe(`More ${noun} after these: --all lists every one, or --cursor @2 the next page.\n`);
    });

    it('starts at --cursor and takes --limit', async () => {
      const { requests, stderr } = await cli.run(routes, [...argv, '--cursor', '@4', '--limit', '2']);
      expect(Object.fromEntries(requests[0]!.query)).toMatchObject({ cursor: '@4', limit: '2' });
      expect(stderr).toBe('');
    });

    it('refuses a field its items do not have before any request, naming those they have', async () => {
      const { code, stderr, requests } = await cli.run(routes, [...argv, '--fields', 'colour']);
      expect(code).toBe(2);
      expect(stderr).toContain('--fields: no field "colour" here');
      // Every key the API gives an item of the list (a task in a list has no steps).
      const named = /The fields are: (.*)\n/.exec(stderr)?.[1]?.split(', ');
      expect(new Set(named)).toEqual(new Set(Object.keys(items[0]!).filter((key) => key !== 'steps')));
      expect(requests).toHaveLength(0);
    });

    it.each([['0'], ['501'], ['ten'], ['1.5']])(
      'refuses --limit %s before any request, with exit 2',
      async (limit) => {
        const { code, stderr, requests } = await cli.run(routes, [...argv, '--limit', limit]);
        expect(code).toBe(2);
        expect(stderr).toContain('expected a whole number from 1 to 500');
        expect(requests).toHaveLength(0);
      },
    );
  });

  it('site backups: the hint says how many backups there are in all, and what they take', async () => {
    const items = [aBackup({ id: 'b1' }), aBackup({ id: 'b2' }), aBackup({ id: 'b3' })];
    const { stdout, stderr } = await cli.run(
      {
        'GET /api/sites/a.example/backups': pagedList(items, 2, {
          total: { count: 3, bytes: 3 * 1024 * 1024 },
        }),
      },
      ['site', 'backups', 'a.example'],
    );
    expect(stdout).toContain('b2');
    expect(stderr).toBe(
      'More backups after these (3 in all, 3.00 MiB): --all lists every one, or --cursor @2 the next page.\n',
    );
  });

  it('a master from before paging (no next) gives one page, and no hint', async () => {
    const { code, stdout, stderr } = await cli.run(
      { 'GET /api/servers': () => ({ body: { items: [aServer()] } }) },
      ['server', 'list', '--all', '--json'],
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toHaveLength(1);
    expect(stderr).toBe('');
  });

  it('shell completion reads every page of names', async () => {
    const names = [1, 2, 3, 4, 5].map((n) => aServer({ name: `web${n}` }));
    const { code, stdout, requests } = await cli.run({ 'GET /api/servers': pagedList(names, 2) }, [
      'completion',
      '--names',
      'server',
    ]);
    expect(code).toBe(0);
    expect(stdout).toBe('web1\nweb2\nweb3\nweb4\nweb5\n');
    expect(requests.map((request) => request.query.get('cursor'))).toEqual([null, '@2', '@4']);
  });

  it('stops with exit 1 when the master hands out a cursor a second time', async () => {
    const { code, stderr, requests } = await cli.run(
      { 'GET /api/clients': () => ({ body: { items: [aClient()], next: 'same' } }) },
      ['client', 'list', '--all'],
    );
    expect(code).toBe(1);
    expect(stderr).toContain('the master gave the cursor same a second time');
    expect(requests).toHaveLength(2);
  });
});

describe('list filters reach the query string', () => {
  const cli = useCliHarness('filters');
  const query = async (route: string, argv: string[], now?: number) => {
    const { code, stderr, requests } = await cli.run({ [route]: pagedList([], 2) }, argv, {
      prepare: (io) => {
        if (now !== undefined) io.now = () => now;
      },
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    return Object.fromEntries(requests[0]!.query);
  };

  it('task list: state, type, target, server and since', async () => {
    expect(
      await query('GET /api/tasks', [
        'task',
        'list',
        '--state',
        'failed',
        '--type',
        'site.migrate',
        '--target',
        'shop.example',
        '--server',
        'web1',
        '--since',
        '2026-12-01T08:00:00+01:00',
      ]),
    ).toEqual({
      limit: '100',
      state: 'failed',
      type: 'site.migrate',
      target: 'shop.example',
      server: 'web1',
      since: '2026-12-01T07:00:00.000Z',
    });
  });

  it('task list: --since a while ago, from the clock', async () => {
    const now = Date.parse('2026-12-06T12:00:00.000Z');
    expect(await query('GET /api/tasks', ['task', 'list', '--since', '90m'], now)).toEqual({
      limit: '100',
      since: '2026-12-06T10:30:00.000Z',
    });
  });

  it('task list: refuses an unknown type and a since that is no time, before any request', async () => {
    const type = await cli.run({}, ['task', 'list', '--type', 'site.frobnicate']);
    expect(type.code).toBe(2);
    expect(type.stderr).toContain('--type "site.frobnicate" is not a task type');
    expect(type.stderr).toContain('The types are: server.verify, ');
    for (const since of ['yesterday', '0m', '1990']) {
      const refused = await cli.run({}, ['task', 'list', '--since', since]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`--since "${since}"`);
      expect(refused.requests).toHaveLength(0);
    }
  });

  it('platform list: server, status and search (q)', async () => {
    expect(
      await query('GET /api/platforms', [
        'platform',
        'list',
        '--server',
        'web1',
        '--status',
        'verified',
        '--search',
        'd10',
      ]),
    ).toEqual({ limit: '100', server: 'web1', status: 'verified', q: 'd10' });
  });

  it('server list: role, connected or disconnected, and search (q)', async () => {
    expect(
      await query('GET /api/servers', ['server', 'list', '--role', 'db', '--connected', '--search', 'eu']),
    ).toEqual({ limit: '100', role: 'db', connected: 'true', q: 'eu' });
    expect(await query('GET /api/servers', ['server', 'list', '--disconnected'])).toEqual({
      limit: '100',
      connected: 'false',
    });
  });

  it('server list: refuses both --connected and --disconnected, and an unknown role', async () => {
    const both = await cli.run({}, ['server', 'list', '--connected', '--disconnected']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--connected and --disconnected exclude each other');
    expect(both.requests).toHaveLength(0);
    const role = await cli.run({}, ['server', 'list', '--role', 'mail']);
    expect(role.code).toBe(2);
    expect(role.stderr).toContain('Allowed choices are http, db');
  });

  it('client list: search (q)', async () => {
    expect(await query('GET /api/clients', ['client', 'list', '--search', 'ac'])).toEqual({
      limit: '100',
      q: 'ac',
    });
  });

  it('project list: search (q) and client', async () => {
    expect(
      await query('GET /api/projects', ['project', 'list', '--search', 'sh', '--client', 'acme']),
    ).toEqual({ limit: '100', q: 'sh', client: 'acme' });
    const none = await cli.run({ 'GET /api/projects': pagedList([], 2) }, [
      'project',
      'list',
      '--search',
      'x',
    ]);
    expect(none.stdout).toBe('No project matches.\n');
    const empty = await cli.run({ 'GET /api/projects': pagedList([], 2) }, ['project', 'list']);
    expect(empty.stdout).toBe('No projects yet. Add one with: berth project add NAME\n');
  });

  it('project list: a table of the projects and their environments in order', async () => {
    const { code, stdout } = await cli.run(
      {
        'GET /api/projects': pagedList(
          [
            aProject({
              environments: ['dev', 'test', 'live'].map((name, index) => ({
                ...aProject().environments[0]!,
                name,
                position: index + 1,
              })),
            }),
            aProject({ name: 'blog', client: null, environments: [] }),
          ],
          2,
        ),
      },
      ['project', 'list'],
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^NAME\s+CLIENT\s+ENVIRONMENTS\n/);
    expect(stdout).toMatch(/\nshop\s+acme\s+dev -> test -> live\n/);
    expect(stdout).toMatch(/\nblog\s+-\s+-\n/);
  });

  it('audit list: since and target', async () => {
    expect(
      await query('GET /api/audit', [
        'audit',
        'list',
        '--since',
        '2026-12-01T08:00:00Z',
        '--target',
        'shop.example',
      ]),
    ).toEqual({ limit: '100', since: '2026-12-01T08:00:00Z', target: 'shop.example' });
  });

  it('token list: client', async () => {
    expect(await query('GET /api/tokens', ['token', 'list', '--client', 'acme'])).toEqual({
      limit: '100',
      client: 'acme',
    });
    const none = await cli.run({ 'GET /api/tokens': pagedList([], 2) }, ['token', 'list', '--client', 'x']);
    expect(none.stdout).toBe('No token matches.\n');
  });

  it('notify deliveries: only the page', async () => {
    expect(await query('GET /api/notifications/deliveries', ['notify', 'deliveries'])).toEqual({
      limit: '100',
    });
  });

  it('says "No ... matches." for a filtered empty list, and how to start for an empty one', async () => {
    const filtered = await cli.run({ 'GET /api/platforms': pagedList([], 2) }, [
      'platform',
      'list',
      '--search',
      'x',
    ]);
    expect(filtered.stdout).toBe('No platform matches.\n');
    const empty = await cli.run({ 'GET /api/platforms': pagedList([], 2) }, ['platform', 'list']);
    expect(empty.stdout).toContain('No platforms yet.');
  });
});
