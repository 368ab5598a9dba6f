import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ApiToken, AuditEvent } from '../../shared/src/api.js';
import { startHostingStack, type HostingStack } from '../support/hosting-stack.js';

/** Each try runs the CLI, a process of its own. */
const WAIT = { timeout: 15_000, interval: 250 };

interface Task {
  id: string;
  type: string;
  state: string;
}

/**
 * The audit log across processes: changes made with the `berth` CLI against a running master are
 * each recorded — who, what, target, outcome, address — refused ones too; and a client token
 * revoked with `berth token revoke` is refused on its very next request.
 */
describe('the audit log and API tokens', () => {
  let stack: HostingStack;
  let clientToken: string;
  let installTask: Task;
  const domain = 'audited.example';

  const berth = (...args: string[]) => stack.berth(...args);
  const json = async <T>(...args: string[]) => JSON.parse((await berth(...args, '--json')).stdout) as T;
  const auditList = (...args: string[]) => json<AuditEvent[]>('audit', 'list', ...args);

  beforeAll(async () => {
    stack = await startHostingStack({ label: 'audit', platforms: { 'fixture-10-2': 'fixture-10.2' } });
  });

  afterAll(() => stack?.stop());

  it('holds each change of the test with who, what, target, status and address, refusals too', async () => {
    await berth('client', 'add', 'acme');
    ({ token: clientToken } = await json<{ token: string }>('client', 'token', 'acme'));
    installTask = await json<Task>(
      'site',
      'install',
      domain,
      '--platform',
      'fixture-10-2',
      '--client',
      'acme',
    );
    expect(installTask.state).toBe('succeeded');
    const refused = await berth('site', 'install', 'refused.example', '--platform', 'no-such-platform').then(
      () => null,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(refused?.code).toBe(2);

    // Events are written just after their answer: wait for the last one.
    const raw = await vi.waitFor(async () => {
      const stdout = (await berth('audit', 'list', '--json')).stdout;
      expect(stdout).toContain('refused.example');
      return stdout;
    }, WAIT);
    // The client token was in an answer, never in the log.
    expect(raw).not.toContain(clientToken);
    const events = JSON.parse(raw) as AuditEvent[];
    const find = (route: string, match: (event: AuditEvent) => boolean = () => true) => {
      const found = events.filter((event) => event.route === route && match(event));
      expect(found, route).toHaveLength(1);
      return found[0]!;
    };
    const byAdmin = { tokenName: 'admin', role: 'admin', method: 'POST', address: '127.0.0.1' };
    // The stack's own setup is there too: the platform it added.
    expect(find('/api/platforms')).toMatchObject({
      ...byAdmin,
      summary: { name: 'fixture-10-2' },
      status: 201,
    });
    expect(find('/api/clients')).toMatchObject({
      ...byAdmin,
      path: '/api/clients',
      summary: { name: 'acme' },
      status: 201,
    });
    expect(find('/api/clients/:client/tokens')).toMatchObject({
      ...byAdmin,
      path: '/api/clients/acme/tokens',
      target: { client: 'acme' },
      status: 201,
      taskId: null,
    });
    const install = find('/api/sites', (event) => event.summary?.domain === domain);
    expect(install).toMatchObject({
      ...byAdmin,
      summary: { domain, platform: 'fixture-10-2', client: 'acme' },
      status: 201,
      errorCode: null,
      taskId: installTask.id,
    });
    const refusal = find('/api/sites', (event) => event.summary?.domain === 'refused.example');
    expect(refusal).toMatchObject({ ...byAdmin, summary: { platform: 'no-such-platform' }, taskId: null });
    expect(refusal.status).toBeGreaterThanOrEqual(400);
    expect(refusal.status).toBeLessThan(500);
    expect(refusal.errorCode).toMatch(/NOT_FOUND/);
    // Newest first; the reads of the test (site install's polling) are not there.
    expect(events.map((event) => event.at)).toEqual([...events.map((event) => event.at)].sort().reverse());
    expect(events.every((event) => event.method !== 'GET')).toBe(true);

    // Filtered: by a domain the install named, by its task, by a time.
    expect((await auditList('--target', domain)).map((event) => event.id)).toEqual([install.id]);
    expect((await auditList('--target', installTask.id)).map((event) => event.id)).toEqual([install.id]);
    expect(await auditList('--since', new Date(Date.now() + 60_000).toISOString())).toEqual([]);
    expect(await auditList('--limit', '2')).toHaveLength(2);
    // The table a person reads.
    const table = (await berth('audit', 'list', '--target', 'acme')).stdout;
    expect(table).toMatch(/^WHEN +WHO +WHAT +TARGET +ADDRESS +STATUS +TASK$/m);
    expect(table).toMatch(/admin +POST \/api\/clients\/:client\/tokens +acme +127\.0\.0\.1 +201/);
  });

  it('lists tokens without secrets; a revoked client token is refused at once', async () => {
    const site = () =>
      fetch(`${stack.master.url}/api/sites/${domain}`, {
        headers: { authorization: `Bearer ${clientToken}` },
      });
    expect((await site()).status).toBe(200);

    const raw = (await berth('token', 'list', '--json')).stdout;
    expect(raw).not.toContain(clientToken);
    expect(raw).not.toContain(stack.master.token);
    const tokens = JSON.parse(raw) as ApiToken[];
    const acme = tokens.find((token) => token.name === 'client:acme')!;
    expect(acme).toMatchObject({ role: 'client', client: 'acme', revokedAt: null });
    expect(acme.lastUsedAt).not.toBeNull();
    expect(tokens.find((token) => token.name === 'admin')).toMatchObject({ role: 'admin', client: null });
    expect((await berth('token', 'list')).stdout).toMatch(/client:acme +client +acme/);

    const revoked = await json<ApiToken>('token', 'revoke', acme.id);
    expect(revoked).toMatchObject({ id: acme.id, revokedAt: expect.any(String) as string });
    expect((await site()).status).toBe(401);
    const refused = await berth('--token', clientToken, 'site', 'list').then(
      () => null,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toContain('not valid');
    expect(await json<ApiToken[]>('token', 'list')).toContainEqual(revoked);

    // The revoke is in the log, found by the token's id.
    const revoke = await vi.waitFor(async () => {
      const [found] = await auditList('--target', acme.id);
      expect(found).toBeDefined();
      return found;
    }, WAIT);
    expect(revoke).toMatchObject({
      tokenName: 'admin',
      route: '/api/tokens/:id/revoke',
      target: { id: acme.id },
      status: 200,
      address: '127.0.0.1',
    });
    // A change tried with the revoked token is recorded, with what is known of who asked.
    const tried = await fetch(`${stack.master.url}/api/sites/${domain}/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${clientToken}` },
    });
    expect(tried.status).toBe(401);
    await expect
      .poll(async () => (await auditList('--target', domain))[0], WAIT)
      .toMatchObject({
        tokenId: null,
        route: '/api/sites/:domain/verify',
        status: 401,
        errorCode: 'AUTH_INVALID_TOKEN',
        address: '127.0.0.1',
      });
    const unknown = await berth('token', 'revoke', '00000000-0000-4000-8000-000000000000').then(
      () => null,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(unknown?.code).toBe(2);
    expect(unknown?.stderr).toContain('no API token');
  });

  it('lists the routes in the OpenAPI document', async () => {
    const document = (await (await fetch(`${stack.master.url}/api/docs/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { tags?: string[] }>>;
    };
    expect(document.paths['/api/audit']?.get?.tags).toEqual(['audit']);
    expect(document.paths['/api/tokens']?.get?.tags).toEqual(['auth']);
    expect(document.paths['/api/tokens/{id}/revoke']?.post?.tags).toEqual(['auth']);
  });
});
