import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeHeartbeat,
  decodeHello,
  decodeLogLines,
  decodeProgress,
  decodeRef,
  decodeResult,
} from './agent-frames.js';

const ref = () => ({ stepId: randomUUID(), attemptId: randomUUID(), epoch: '42' });

describe('agent frames', () => {
  it('keeps only references that can name an attempt: UUIDs and a numeric epoch', () => {
    const good = ref();
    expect(decodeRef(good)).toEqual(good);
    expect(decodeRef({ ...good, attemptId: 'not-a-uuid' })).toBeUndefined();
    expect(decodeRef({ ...good, stepId: '' })).toBeUndefined();
    expect(decodeRef({ ...good, epoch: '1; DROP TABLE tasks' })).toBeUndefined();
    expect(decodeRef(null)).toBeUndefined();
  });

  it("drops a heartbeat's malformed ids, so they never reach the statement that renews every agent's leases", () => {
    const good = ref();
    expect(
      decodeHeartbeat({
        sentAtMs: '1',
        running: [good, { stepId: 'x', attemptId: 'not-a-uuid', epoch: '1' }],
      }),
    ).toEqual([good]);
  });

  it("decodes a result's output, and output that is not JSON as the step's failure", () => {
    const good = ref();
    expect(decodeResult({ ref: good, ok: true, outputJson: '{"n":1}', error: null })).toEqual({
      ref: good,
      outcome: { ok: true, output: { n: 1 } },
    });
    expect(decodeResult({ ref: good, ok: true, outputJson: '{', error: null })?.outcome).toMatchObject({
      ok: false,
      failure: { code: 'INTERNAL', message: 'the agent sent output that is not JSON' },
    });
    expect(
      decodeResult({
        ref: good,
        ok: false,
        outputJson: '',
        error: { code: 'TIMEOUT', message: '', retryable: true, exitCode: 0, stderrTail: 'tail' },
      })?.outcome,
    ).toEqual({
      ok: false,
      failure: {
        code: 'TIMEOUT',
        message: 'the step failed without a message',
        retryable: true,
        exitCode: undefined,
        stderrTail: 'tail',
      },
    });
  });

  it("decodes log lines (unknown streams are the agent's own), progress and hello", () => {
    expect(
      decodeLogLines([{ seq: '3', stream: 'weird', text: 'x', atMs: '1700000000000' }]).map((line) => ({
        ...line,
        at: line.at.toISOString(),
      })),
    ).toEqual([{ seq: '3', stream: 'agent', text: 'x', at: '2023-11-14T22:13:20.000Z' }]);
    expect(decodeProgress({ ref: null, phase: 'upload', done: '10', total: '', unit: 'bytes' })).toEqual({
      phase: 'upload',
      done: 10,
      total: 0,
      unit: 'bytes',
    });
    const running = ref();
    expect(
      decodeHello({
        agentVersion: '0.1.0',
        hostname: '',
        address: '',
        roles: [],
        timeZone: '',
        services: [{ kind: 'http', name: 'nginx', version: '1.26', running: true, path: '/usr/sbin/nginx' }],
        slots: 1,
        running: [running, { stepId: 'bad', attemptId: 'bad', epoch: 'x' }],
        finished: [],
        steps: [],
      }),
    ).toEqual({
      agentVersion: '0.1.0',
      hostname: null,
      // An agent from before addresses and roles: no address, the roles its running services give.
      address: null,
      roles: ['http'],
      // An agent from before time zones sends none: the server's stays UTC.
      timeZone: null,
      services: [{ kind: 'http', name: 'nginx', version: '1.26', running: true, path: '/usr/sbin/nginx' }],
      running: [running],
      finished: [],
    });
  });

  it('keeps an address only when it is an IP address, and only the roles Berth knows', () => {
    const hello = (address: string, roles: string[]) =>
      decodeHello({
        agentVersion: '1',
        hostname: 'db1',
        address,
        roles,
        timeZone: 'Europe/Paris',
        services: [],
        slots: 1,
        running: [],
        finished: [],
        steps: [],
      });
    expect(hello('10.231.4.21', ['db', 'mail'])).toMatchObject({ address: '10.231.4.21', roles: ['db'] });
    expect(hello("10.0.0.1' OR 1", ['db']).address).toBeNull();
    expect(hello('fd00::21', ['http', 'db'])).toMatchObject({ address: 'fd00::21', roles: ['http', 'db'] });
  });
});
