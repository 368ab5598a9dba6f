import { describe, expect, it } from 'vitest';
import { answerFacts, isAudited, peerAddress, requestSummary } from './audit-trail.js';

const TASK_ID = '0b6f2a53-6a0c-4a55-9a0e-6f1c2d3e4f50';

describe('what the audit trail keeps of a request', () => {
  it('audits changes to the API only', () => {
    expect(isAudited('POST', '/api/sites')).toBe(true);
    expect(isAudited('DELETE', '/api/backup-policies/global')).toBe(true);
    expect(isAudited('PUT', '/api/sites/a.example/cron')).toBe(true);
    expect(isAudited('GET', '/api/sites')).toBe(false);
    expect(isAudited('HEAD', '/api/sites')).toBe(false);
    expect(isAudited('OPTIONS', '/api/sites')).toBe(false);
    expect(isAudited('POST', '/')).toBe(false);
    expect(isAudited('POST', '/apiary')).toBe(false);
  });

  it('summarises the allow-listed fields of query and body, nothing else', () => {
    expect(
      requestSummary(
        { force: 'true', token: 'bt_query' },
        {
          domain: 'a.example',
          platform: 'd10',
          servers: ['web1', 'web2'],
          concurrency: 2,
          password: 'hunter2',
          email: 'ops@a.example',
          params: { secret: 'x' },
          name: { nested: 'object' },
        },
      ),
    ).toEqual({
      force: 'true',
      domain: 'a.example',
      platform: 'd10',
      servers: ['web1', 'web2'],
      concurrency: 2,
    });
    expect(requestSummary(undefined, { password: 'x' })).toBeNull();
    expect(requestSummary({}, ['domain'])).toBeNull();
    expect((requestSummary({}, { name: 'x'.repeat(1000) })?.name as string).length).toBe(255);
    expect(requestSummary({}, { servers: ['web1', 2] })).toBeNull();
  });

  it('keeps the created task (the answer, or its `task`) and the code of an error, never the rest', () => {
    expect(answerFacts(202, { id: TASK_ID, type: 'site.backup', state: 'queued' })).toEqual({
      taskId: TASK_ID,
      errorCode: null,
    });
    expect(answerFacts(201, { site: { id: 'x' }, task: { id: TASK_ID, type: 'site.install' } })).toEqual({
      taskId: TASK_ID,
      errorCode: null,
    });
    // A client (id, no type) is not a task; a token issue's answer leaves nothing.
    expect(answerFacts(201, { id: TASK_ID, name: 'acme' })).toEqual({ taskId: null, errorCode: null });
    expect(answerFacts(201, { client: 'acme', token: 'bt_secret' })).toEqual({
      taskId: null,
      errorCode: null,
    });
    expect(answerFacts(404, { statusCode: 404, code: 'SITE_NOT_FOUND', message: 'no site' })).toEqual({
      taskId: null,
      errorCode: 'SITE_NOT_FOUND',
    });
    expect(answerFacts(500, 'oops')).toEqual({ taskId: null, errorCode: null });
  });

  it('shows an IPv4 peer as IPv4', () => {
    expect(peerAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(peerAddress('::1')).toBe('::1');
    expect(peerAddress('10.1.2.3')).toBe('10.1.2.3');
    expect(peerAddress(undefined)).toBeNull();
  });
});
