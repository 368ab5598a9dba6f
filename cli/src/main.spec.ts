import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogLine, Task } from './api-types.js';
import { runCli } from './main.js';
import { aLogLine, aServer, aStep, aTask } from './testing/factories.js';
import { useCliHarness } from './testing/cli-harness.js';
import { type FakeRoutes, closedPort, memoryIo } from './testing/fake-master.js';

const TASK_ID = '6f1c2d3e-0000-4000-8000-000000000001';
const MiB = 1024 * 1024;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f]/;

describe('berth (commands against a fake master)', () => {
  const cli = useCliHarness('cli');
  const { run } = cli;

  /**
   * A task that logs five lines over four polls, finishing in `finalState` at the third. The cursor is
   * opaque ("c<id>"), so the test sees that the CLI hands back exactly what the master gave.
   */
  function scriptedTask(finalState: Task['state'], finalFields: Partial<Task> = {}): FakeRoutes {
    const step = aStep();
    const lines: LogLine[] = [1, 2, 3, 4, 5].map((id) => aLogLine(id, `line ${id}`, { stepId: step.id }));
    let logCalls = 0;
    const finished = (): boolean => logCalls >= 3;
    return {
      [`GET /api/tasks/${TASK_ID}`]: () => ({
        body: finished()
          ? aTask({
              state: finalState,
              startedAt: '2025-01-01T10:00:00.000Z',
              finishedAt: '2025-01-01T10:00:03.000Z',
              steps: [{ ...step, state: finalState === 'succeeded' ? 'done' : 'failed' }],
              ...finalFields,
            })
          : aTask({ state: 'running', startedAt: '2025-01-01T10:00:00.000Z', steps: [step] }),
      }),
      [`GET /api/tasks/${TASK_ID}/log`]: (request) => {
        logCalls++;
        const after = Number((request.query.get('after') ?? 'c0').slice(1));
        // The last line is stored after the state changed: the CLI must read on until a page is empty.
        const released = [0, 2, 3, 4][logCalls] ?? 5;
        const page = lines.filter((line) => Number(line.id) > after && Number(line.id) <= released);
        const last = page[page.length - 1];
        return {
          body: {
            lines: page,
            next: last ? `c${last.id}` : `c${after}`,
            taskState: finished() ? finalState : 'running',
          },
        };
      },
    };
  }

  describe('task log --follow', () => {
    it('prints every line once, in order, and stops with 0 when the task succeeds', async () => {
      const { code, stdout, stderr, requests } = await run(scriptedTask('succeeded'), [
        'task',
        'log',
        TASK_ID,
        '--follow',
      ]);
      expect(code).toBe(0);
      const printed = stdout.trimEnd().split('\n');
      expect(printed).toHaveLength(5);
      printed.forEach((line, index) =>
        expect(line).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d \\[server\\.probe\\] line ${index + 1}$`)),
      );
      expect(stderr).toContain(`Task ${TASK_ID} succeeded after 3.0s`);
      const cursors = requests.filter((r) => r.path.endsWith('/log')).map((r) => r.query.get('after'));
      expect(cursors.slice(0, 3)).toEqual([null, 'c2', 'c3']);
      expect(requests.every((r) => r.headers.authorization === 'Bearer test-token')).toBe(true);
    });

    it("exits 1 when the task fails, with the task's error and the failed step's output", async () => {
      const routes = scriptedTask('failed', {
        error: 'probe failed',
        errorCode: 'COMMAND_FAILED',
        rollbackCompleted: true,
        steps: [
          aStep({
            state: 'failed',
            failure: {
              code: 'COMMAND_FAILED',
              message: 'nginx -v exited 127',
              retryable: false,
              exitCode: 127,
              stderrTail: 'nginx: not found',
            },
          }),
        ],
      });
      const { code, stdout, stderr } = await run(routes, ['task', 'log', TASK_ID, '-f']);
      expect(code).toBe(1);
      expect(stdout.trimEnd().split('\n')).toHaveLength(5);
      expect(stderr).toContain('Error: probe failed [COMMAND_FAILED]');
      expect(stderr).toContain('Rollback completed');
      expect(stderr).toContain(
        'Step 1 server.probe on web1 failed (exit code 127): nginx -v exited 127 [COMMAND_FAILED]',
      );
      expect(stderr).toContain('    nginx: not found');
    });

    it('exits 1 for a cancelled task', async () => {
      const { code } = await run(scriptedTask('cancelled'), ['task', 'log', TASK_ID, '--follow']);
      expect(code).toBe(1);
    });

    it('prints NDJSON with --json', async () => {
      const { code, stdout, stderr } = await run(scriptedTask('succeeded'), [
        'task',
        'log',
        TASK_ID,
        '--follow',
        '--json',
      ]);
      expect(code).toBe(0);
      const parsed = stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as LogLine);
      expect(parsed.map((line) => line.text)).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
      expect(stderr).toBe('');
    });
  });

  it('task log without --follow prints what there is and exits 0 while the task runs', async () => {
    const { code, stdout } = await run(
      {
        [`GET /api/tasks/${TASK_ID}`]: () => ({ body: aTask({ state: 'running', steps: [aStep()] }) }),
        [`GET /api/tasks/${TASK_ID}/log`]: () => ({
          body: { lines: [aLogLine(1, 'only \x1b[31mline')], next: 'c1', taskState: 'running' },
        }),
      },
      ['task', 'log', TASK_ID],
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\d\d:\d\d:\d\d \[server\.probe\] only line\n$/);
  });

  describe('--no-wait', () => {
    const verify: FakeRoutes = {
      'POST /api/servers/web1/verify': () => ({ status: 202, body: aTask({ id: TASK_ID }) }),
    };

    it('prints only the task id and does not follow the task', async () => {
      const { code, stdout, stderr, requests } = await run(verify, ['server', 'verify', 'web1', '--no-wait']);
      expect(code).toBe(0);
      expect(stdout).toBe(`${TASK_ID}\n`);
      expect(stderr).toBe('');
      expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/servers/web1/verify']);
    });

    it('prints the task as JSON with --json', async () => {
      const { code, stdout } = await run(verify, ['server', 'verify', 'web1', '--no-wait', '--json']);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual(aTask({ id: TASK_ID }));
    });
  });

  describe('waiting for a task', () => {
    function transferRoutes(final: Partial<Task>): FakeRoutes {
      let polls = 0;
      const progress = (done: number) => ({
        stepName: 'server.transfer',
        phase: 'upload',
        done,
        total: 2 * MiB,
        unit: 'bytes',
      });
      return {
        'POST /api/tasks': () => ({
          status: 202,
          body: aTask({ id: TASK_ID, type: 'server.transfer-check' }),
        }),
        [`GET /api/tasks/${TASK_ID}`]: () => {
          polls++;
          const base: Partial<Task> = {
            id: TASK_ID,
            type: 'server.transfer-check',
            startedAt: '2025-01-01T10:00:00.000Z',
          };
          if (polls <= 3)
            return { body: aTask({ ...base, state: 'running', progress: progress(polls * 0.5 * MiB) }) };
          return { body: aTask({ ...base, finishedAt: '2025-01-01T10:00:02.000Z', ...final }) };
        },
        [`GET /api/tasks/${TASK_ID}/log`]: () => ({
          body: {
            lines:
              polls === 1
                ? [
                    aLogLine(1, '$ head -c 2097152 /dev/urandom', { stream: 'agent' }),
                    aLogLine(2, 'sending 2 MiB'),
                    aLogLine(3, 'warning: the link is slow', { stream: 'agent' }),
                    aLogLine(4, 'transfer phase started', { stream: 'master', stepId: null }),
                  ]
                : [],
            next: 'c1',
            taskState: polls > 3 ? final.state : 'running',
          },
        }),
      };
    }

    it('shows progress and the log on stderr without control characters, and the outcome on stdout', async () => {
      const routes = transferRoutes({ state: 'succeeded', result: { bytes: 2 * MiB, sha256: 'abc' } });
      const { code, stdout, stderr, requests } = await run(routes, [
        'server',
        'transfer-check',
        'web1',
        '--mb',
        '2',
      ]);
      expect(code).toBe(0);
      expect(requests[0]?.body).toEqual({
        type: 'server.transfer-check',
        server: 'web1',
        params: { bytes: 2 * MiB },
      });
      expect(stderr).not.toMatch(CONTROL);
      expect(stderr).toContain(`Task ${TASK_ID}: server.transfer-check on server web1`);
      expect(stderr).toMatch(/\.\.\. server\.transfer \/ upload: 25% {2}512 KiB \/ 2\.00 MiB/);
      // By default the master's lines and the warnings and errors; each command and its output only with --verbose.
      expect(stderr).toContain('transfer phase started');
      expect(stderr).toContain('warning: the link is slow');
      expect(stderr).not.toContain('sending 2 MiB');
      expect(stderr).not.toContain('/dev/urandom');
      expect(stdout).toBe(
        `Task ${TASK_ID} succeeded in 2.0s (server.transfer-check on server web1)\nbytes:   2097152\nsha256:  abc\n`,
      );
    });

    it('shows every log line with --verbose', async () => {
      const routes = transferRoutes({ state: 'succeeded', result: { bytes: 2 * MiB, sha256: 'abc' } });
      const { code, stderr } = await run(routes, [
        'server',
        'transfer-check',
        'web1',
        '--mb',
        '2',
        '--verbose',
      ]);
      expect(code).toBe(0);
      for (const text of ['$ head -c 2097152 /dev/urandom', 'sending 2 MiB', 'warning: the link is slow']) {
        expect(stderr).toContain(text);
      }
    });

    it('exits 1 and prints the error when the task fails', async () => {
      const routes = transferRoutes({
        state: 'failed',
        error: 'checksum mismatch',
        errorCode: 'TRANSFER_FAILED',
      });
      const { code, stdout, stderr } = await run(routes, ['server', 'transfer-check', 'web1']);
      expect(code).toBe(1);
      expect(stdout).toContain(`Task ${TASK_ID} failed after 2.0s`);
      expect(stderr).toContain('Error: checksum mismatch [TRANSFER_FAILED]');
    });

    it('prints only the final task as JSON with --json', async () => {
      const { code, stdout } = await run(transferRoutes({ state: 'succeeded' }), [
        'server',
        'transfer-check',
        'web1',
        '--json',
      ]);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ id: TASK_ID, state: 'succeeded' });
    });

    it('stops waiting on Ctrl-C, says how to go on, and exits 130', async () => {
      const signals = new EventEmitter();
      const routes: FakeRoutes = {
        'POST /api/servers/web1/verify': () => ({ status: 202, body: aTask({ id: TASK_ID }) }),
        [`GET /api/tasks/${TASK_ID}`]: () => {
          setImmediate(() => signals.emit('SIGINT'));
          return { body: aTask({ id: TASK_ID, state: 'running' }) };
        },
        [`GET /api/tasks/${TASK_ID}/log`]: () => ({ body: { lines: [], next: '', taskState: 'running' } }),
      };
      const { code, stderr } = await run(routes, ['server', 'verify', 'web1'], {
        prepare: (io) => (io.signals = signals),
      });
      expect(code).toBe(130);
      expect(stderr).toContain(`berth task log ${TASK_ID} --follow`);
      expect(stderr).toContain(`berth task cancel ${TASK_ID}`);
      expect(signals.listenerCount('SIGINT')).toBe(0);
    });
  });

  describe('server add', () => {
    it('prints the server, the one-time token with its expiry and the agent command', async () => {
      const { code, stdout, requests } = await run(
        {
          'POST /api/servers': () => ({
            status: 201,
            body: {
              server: aServer({ slots: 2 }),
              enrollment: {
                token: 'enroll-secret',
                expiresAt: '2999-01-01T00:00:00.000Z',
                agentCommand: 'BERTH_AGENT_TOKEN=enroll-secret berth agent start --master m:7601',
              },
            },
          }),
        },
        ['server', 'add', 'web1', '--slots', '2'],
      );
      expect(code).toBe(0);
      expect(requests[0]?.body).toEqual({ name: 'web1', slots: 2 });
      expect(stdout).toContain('Server web1 added (id 6f1c2d3e-0000-4000-8000-0000000000aa, 2 slots).');
      expect(stdout).toContain('  enroll-secret\n');
      expect(stdout).toContain('at 2999-01-01T00:00:00.000Z');
      expect(stdout).toContain('  BERTH_AGENT_TOKEN=enroll-secret berth agent start --master m:7601\n');
    });

    it('refuses a name that is not a DNS name before asking the master, with exit 2', async () => {
      const { code, stderr, requests } = await run({}, ['server', 'add', 'Web_1']);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^berth: server name "Web_1" must be lowercase/);
      expect(requests).toHaveLength(0);
    });
  });

  it('server list prints an aligned table', async () => {
    const { code, stdout } = await run(
      {
        'GET /api/servers': () => ({
          body: {
            items: [
              aServer({
                connected: true,
                agentVersion: '0.1.0',
                enrolledAt: '2025-01-01T09:00:00.000Z',
                roles: ['http'],
                address: '10.0.0.11',
                services: [
                  { kind: 'http', name: 'nginx', version: '1.24', running: true, path: '/usr/sbin/nginx' },
                ],
              }),
              aServer({ name: 'db-primary', slots: 4, slotsBusy: 1, roles: [], address: null }),
            ],
          },
        }),
      },
      ['server', 'list'],
    );
    expect(code).toBe(0);
    expect(stdout.split('\n').slice(0, 3)).toEqual([
      'NAME        STATUS        ROLES  ADDRESS    SLOTS  SERVICES    AGENT  LAST SEEN  VERIFIED',
      'web1        connected     http   10.0.0.11    0/1  http:nginx  0.1.0  now        -',
      'db-primary  not enrolled  -      -            1/4  -           -      -          -',
    ]);
  });

  describe('task list', () => {
    const tasks: FakeRoutes = {
      'GET /api/tasks': () => ({ body: { items: [aTask({ state: 'failed' })] } }),
    };

    it('passes the filters and prints JSON only with --json', async () => {
      const { code, stdout, requests } = await run(tasks, [
        'task',
        'list',
        '--state',
        'failed',
        '--server',
        'web1',
        '--limit',
        '3',
        '--json',
      ]);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual([aTask({ state: 'failed' })]);
      expect(Object.fromEntries(requests[0]?.query ?? [])).toEqual({
        state: 'failed',
        server: 'web1',
        limit: '3',
      });
    });

    it('refuses an unknown state and a bad limit with exit 2', async () => {
      const bad = await run(tasks, ['task', 'list', '--state', 'done']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--state must be one of queued, running, succeeded, failed, cancelled');
      const limit = await run(tasks, ['task', 'list', '--limit', 'many']);
      expect(limit.code).toBe(2);
      expect(limit.stderr).toContain("option '--limit <n>' argument 'many' is invalid");
      expect(limit.requests).toHaveLength(0);
    });
  });

  it('reads the URL and token saved in the credentials file', async () => {
    const master = await cli.fakeMaster({ 'GET /api/servers': () => ({ body: { items: [] } }) });
    await writeFile(
      join(cli.dir, 'credentials.json'),
      JSON.stringify({ url: master.url, token: 'saved-token' }),
    );
    const io = memoryIo({ BERTH_CONFIG_DIR: cli.dir });
    expect(await runCli(['server', 'list'], io)).toBe(0);
    expect(io.stdoutText()).toContain('No servers yet');
    expect(master.requests[0]?.headers.authorization).toBe('Bearer saved-token');
  });

  it('exits 3 and names the URL when the master cannot be reached', async () => {
    const port = await closedPort();
    const io = memoryIo({ BERTH_CONFIG_DIR: cli.dir });
    const code = await runCli(['--url', `http://127.0.0.1:${port}`, 'task', 'list'], io);
    expect(code).toBe(3);
    expect(io.stderrText()).toContain(
      `berth: Cannot reach the Berth master at http://127.0.0.1:${port} (connection refused)`,
    );
    expect(io.stderrText()).not.toMatch(/\n\s+at /);
  });

  it('exits 2 for an unknown command or option, and 0 for --help', async () => {
    const io = memoryIo({ BERTH_CONFIG_DIR: cli.dir });
    expect(await runCli(['server', 'frobnicate'], io)).toBe(2);
    expect(await runCli(['task', 'list', '--colour'], io)).toBe(2);
    expect(io.stderrText()).toContain("unknown option '--colour'");
    const help = memoryIo({ BERTH_CONFIG_DIR: cli.dir });
    expect(await runCli(['task', 'log', '--help'], help)).toBe(0);
    expect(help.stdoutText()).toContain('Usage: berth task log [options] <id>');
  });

  it('refuses a bad --master for agent start before loading the agent', async () => {
    const io = memoryIo({ BERTH_CONFIG_DIR: cli.dir });
    expect(await runCli(['agent', 'start', '--slots', '0', '--master', 'm:7601'], io)).toBe(2);
    expect(io.stderrText()).toContain("option '--slots <n>' argument '0' is invalid");
  });
});
