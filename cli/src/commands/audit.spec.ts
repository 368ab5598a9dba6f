import { describe, expect, it } from 'vitest';
import type { ApiToken, AuditEvent } from '../api-types.js';
import { useCliHarness } from '../testing/cli-harness.js';
import { anAuditEvent } from '../testing/factories.js';

const TASK_ID = '0b6f2a53-6a0c-4a55-9a0e-6f1c2d3e4f50';
const base = anAuditEvent({ id: '2', at: '2025-01-31T12:00:05.123Z', taskId: TASK_ID });
const refused: AuditEvent = {
  ...base,
  id: '1',
  tokenId: null,
  tokenName: null,
  role: null,
  route: '/api/sites',
  path: '/api/sites',
  target: {},
  summary: { domain: 'b.example', platform: 'nope' },
  status: 401,
  errorCode: 'AUTH_INVALID_TOKEN',
  taskId: null,
};
const token: ApiToken = {
  id: '6f1c2d3e-0000-4000-8000-0000000000c1',
  name: 'client:acme',
  role: 'client',
  client: 'acme',
  createdAt: '2025-01-30T09:00:00.000Z',
  lastUsedAt: '2025-01-31T11:59:00.000Z',
  revokedAt: null,
};

describe('berth audit and berth token', () => {
  const cli = useCliHarness('audit');

  it('audit list passes the filters on and prints when, who, what, target, address and outcome', async () => {
    const { code, stdout, requests } = await cli.run(
      { 'GET /api/audit': () => ({ body: { items: [base, refused] } }) },
      ['audit', 'list', '--since', '2025-01-31T00:00:00Z', '--target', 'a.example', '--limit', '5'],
    );
    expect(code).toBe(0);
    expect(Object.fromEntries(requests[0]!.query)).toEqual({
      since: '2025-01-31T00:00:00Z',
      target: 'a.example',
      limit: '5',
    });
    expect(stdout.split('\n')).toEqual([
      expect.stringMatching(/^WHEN +WHO +WHAT +TARGET +ADDRESS +STATUS +TASK$/) as string,
      `2025-01-31 12:00:05Z  admin            POST /api/sites/:domain/backup  a.example  127.0.0.1  202                     ${TASK_ID}`,
      '2025-01-31 12:00:05Z  (invalid token)  POST /api/sites                 b.example  127.0.0.1  401 AUTH_INVALID_TOKEN  -',
      '',
    ]);
  });

  it('audit list refuses a --since that is not a time, without asking the master', async () => {
    const { code, stderr, requests } = await cli.run({}, ['audit', 'list', '--since', 'yesterday']);
    expect(code).toBe(2);
    expect(stderr).toContain('--since "yesterday" is not a time');
    expect(requests).toEqual([]);
  });

  it('token list and token revoke', async () => {
    const revoked = { ...token, revokedAt: '2025-01-31T12:01:00.000Z' };
    const routes = {
      'GET /api/tokens': () => ({ body: { items: [token] } }),
      [`POST /api/tokens/${token.id}/revoke`]: () => ({ body: revoked }),
    };
    const listed = await cli.run(routes, ['token', 'list']);
    expect(listed.stdout).toContain('client:acme');
    expect(listed.stdout).toContain('2025-01-31 11:59Z');
    const json = await cli.run(routes, ['token', 'revoke', token.id, '--json']);
    expect(JSON.parse(json.stdout)).toEqual(revoked);
    const text = await cli.run(routes, ['token', 'revoke', token.id]);
    expect(text.stdout).toBe(`Token client:acme (${token.id}) revoked at 2025-01-31 12:01Z.\n`);
  });
});
