import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from './api-client.js';
import { CliError, ExitCode } from './errors.js';
import { aTask } from './testing/factories.js';
import { type FakeMaster, closedPort, startFakeMaster } from './testing/fake-master.js';

describe('ApiClient (against a fake master)', () => {
  let master: FakeMaster | undefined;
  afterEach(async () => {
    await master?.close();
    master = undefined;
  });

  async function failure(promise: Promise<unknown>): Promise<CliError> {
    const error = await promise.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }

  it('sends the token as a bearer header and JSON bodies', async () => {
    master = await startFakeMaster({
      'POST /api/tasks': () => ({ status: 202, body: aTask({ id: 't1' }) }),
    });
    const client = new ApiClient({ baseUrl: master.url + '/', token: 'tok-123' });
    const task = await client.createTask({
      type: 'server.transfer-check',
      server: 'web1',
      params: { bytes: 5 },
    });
    expect(task.id).toBe('t1');
    const [request] = master.requests;
    expect(request?.headers.authorization).toBe('Bearer tok-123');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual({ type: 'server.transfer-check', server: 'web1', params: { bytes: 5 } });
  });

  it('does not send the token to the health check, and puts filters in the query', async () => {
    master = await startFakeMaster({
      'GET /api/health': () => ({ body: { status: 'ok', version: '0.1.0', database: 'pglite' } }),
      'GET /api/tasks': () => ({ body: { items: [], next: null } }),
    });
    const client = new ApiClient({ baseUrl: master.url, token: 'tok' });
    expect(await client.health()).toEqual({ status: 'ok', version: '0.1.0', database: 'pglite' });
    expect(await client.pageTasks({ state: 'failed', server: 'web 1', limit: 5, type: undefined })).toEqual({
      items: [],
      next: null,
    });
    expect(master.requests[0]?.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(master.requests[1]?.query ?? [])).toEqual({
      state: 'failed',
      server: 'web 1',
      limit: '5',
    });
  });

  it('encodes names in paths', async () => {
    master = await startFakeMaster({});
    const client = new ApiClient({ baseUrl: master.url, token: 'tok' });
    await failure(client.getServer('../admin'));
    expect(master.requests[0]?.path).toBe('/api/servers/..%2Fadmin');
  });

  it("turns an error body into the master's message and details, exit 2 for a 4xx", async () => {
    master = await startFakeMaster({
      'POST /api/servers': () => ({
        status: 400,
        body: {
          statusCode: 400,
          code: 'INVALID_INPUT',
          message: 'server name "Web_1" is not a valid DNS name',
          details: { field: 'name', message: 'use lowercase letters' },
        },
      }),
    });
    const client = new ApiClient({ baseUrl: master.url, token: 'tok' });
    const error = await failure(client.createServer({ name: 'Web_1' }));
    expect(error.message).toBe('server name "Web_1" is not a valid DNS name');
    expect(error.details).toEqual(['name: use lowercase letters']);
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.exitCode).toBe(ExitCode.Usage);
  });

  it('adds what to do to a 401, and makes a 5xx exit 1', async () => {
    master = await startFakeMaster({
      'GET /api/servers': () => ({
        status: 401,
        body: { statusCode: 401, code: 'UNAUTHORIZED', message: 'bad token' },
      }),
      'GET /api/tasks': () => ({ status: 500, body: { statusCode: 500, code: 'INTERNAL', message: 'boom' } }),
    });
    const client = new ApiClient({ baseUrl: master.url, token: 'wrong' });
    const unauthorized = await failure(client.listServers());
    expect(unauthorized.message).toBe('bad token');
    expect(unauthorized.details.join(' ')).toMatch(/--token or BERTH_TOKEN/);
    const internal = await failure(client.pageTasks({}));
    expect(internal).toMatchObject({ message: 'boom', exitCode: ExitCode.Failed });
  });

  it('says so when the answer is not from a Berth master', async () => {
    master = await startFakeMaster({
      'GET /api/servers': () => ({ status: 502, raw: '<html>Bad Gateway</html>' }),
      'GET /api/tasks': () => ({ status: 200, raw: '<html>hello</html>' }),
    });
    const client = new ApiClient({ baseUrl: master.url, token: 'tok' });
    expect((await failure(client.listServers())).message).toBe(
      'The master answered GET /api/servers with HTTP 502: <html>Bad Gateway</html>',
    );
    expect((await failure(client.pageTasks({}))).message).toMatch(/not JSON .*--url/);
  });

  it('reports an unreachable master with its URL, how to fix it, and exit 3', async () => {
    const port = await closedPort();
    const client = new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'tok' });
    const error = await failure(client.listServers());
    expect(error.exitCode).toBe(ExitCode.Unreachable);
    expect(error.message).toBe(
      `Cannot reach the Berth master at http://127.0.0.1:${port} (connection refused)`,
    );
    expect(error.details.join(' ')).toMatch(/berth master start.*--url URL.*BERTH_URL/);
  });

  it('gives up on a master that does not answer, with exit 3', async () => {
    master = await startFakeMaster({ 'GET /api/servers': () => ({ delayMs: 2_000, body: { items: [] } }) });
    const client = new ApiClient({ baseUrl: master.url, token: 'tok', timeoutMs: 100 });
    const error = await failure(client.listServers());
    expect(error.exitCode).toBe(ExitCode.Unreachable);
    expect(error.message).toMatch(/did not answer GET \/api\/servers/);
  });

  it('refuses a URL that is not http(s), as a usage error', () => {
    expect(() => new ApiClient({ baseUrl: 'ftp://x', token: undefined })).toThrow(/must start with http/);
    expect(() => new ApiClient({ baseUrl: 'nope', token: undefined })).toThrow(/is not a URL/);
  });
});
