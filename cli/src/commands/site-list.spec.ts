import { describe, expect, it } from 'vitest';
import type { Site } from '../api-types.js';
import { useCliHarness } from '../testing/cli-harness.js';
import type { FakeRoutes, RecordedRequest } from '../testing/fake-master.js';

const site = (domain: string): Site => ({
  id: `id-${domain}`,
  domain,
  status: 'enabled',
  platform: 'p1',
  client: null,
  dbServer: 'db1',
  profile: 'standard',
  url: `http://${domain}/`,
  verifiedAt: null,
  createdAt: '2026-12-01T00:00:00.000Z',
  actions: [],
  code: null,
});

/** Five sites served two at a time, the cursor being the page number. */
const paged: FakeRoutes = {
  'GET /api/sites': (request: RecordedRequest) => {
    const all = ['a.example', 'b.example', 'c.example', 'd.example', 'e.example'];
    const limit = Number(request.query.get('limit'));
    const start = Number(request.query.get('cursor') ?? 0);
    const items = all.slice(start, start + Math.min(limit, 2)).map(site);
    const end = start + items.length;
    return { body: { items, next: end < all.length ? String(end) : null } };
  },
};

describe('berth site list', () => {
  const cli = useCliHarness('site-list');

  it('asks for one page of 100 and says how to see more', async () => {
    const { code, stdout, stderr, requests } = await cli.run(paged, ['site', 'list']);
    expect(code).toBe(0);
    expect(requests[0]!.query.get('limit')).toBe('100');
    expect(stdout).toContain('a.example');
    expect(stdout).not.toContain('c.example');
    expect(stderr).toContain('--all lists every one, or --cursor 2 the next page');
  });

  it('follows every page with --all', async () => {
    const { code, stdout, stderr, requests } = await cli.run(paged, ['site', 'list', '--all', '--json']);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as Site[]).map((item) => item.domain)).toEqual([
      'a.example',
      'b.example',
      'c.example',
      'd.example',
      'e.example',
    ]);
    expect(requests.map((request) => request.query.get('cursor'))).toEqual([null, '2', '4']);
    expect(stderr).toBe('');
  });

  it('passes the filters on', async () => {
    const { requests } = await cli.run(paged, [
      'site',
      'list',
      '--limit',
      '3',
      '--status',
      'disabled',
      '--platform',
      'p1',
      '--server',
      'web1',
      '--client',
      'acme',
      '--search',
      'shop',
    ]);
    expect(Object.fromEntries(requests[0]!.query)).toEqual({
      limit: '3',
      status: 'disabled',
      platform: 'p1',
      server: 'web1',
      client: 'acme',
      q: 'shop',
    });
  });
});
