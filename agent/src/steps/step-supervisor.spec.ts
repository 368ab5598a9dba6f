import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import type { AgentFrame } from '../../../shared/src/protocol.js';
import type { CommandRunner, RunOptions, RunResult } from '../adapters/process-runner.js';
import type { ArchiveTransfers } from '../link/archive-client.js';
import { loadHostSettings } from '../config.js';
import { StepRegistry } from './registry.js';
import { type FrameSink, StepSupervisor } from './step-supervisor.js';

/** A runner whose programs "run" until their time is up or their signal aborts, like the real one. */
class FakeRunner implements CommandRunner {
  readonly calls: RunOptions[] = [];
  run(options: RunOptions): Promise<RunResult> {
    this.calls.push(options);
    const seconds = Number(options.args[0] ?? '0');
    options.onLine?.('stdout', `running ${options.file}`);
    options.onLine?.('stderr', 'a warning');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => resolve({ exitCode: 0, durationMs: seconds * 1000, stdout: '', stderrTail: '' }),
        seconds * 1000,
      );
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(options.signal?.reason as Error);
      });
    });
  }
}

class FakeSink implements FrameSink {
  connected = true;
  readonly frames: AgentFrame[] = [];
  send(frame: AgentFrame): boolean {
    if (!this.connected) return false;
    this.frames.push(frame);
    return true;
  }
  kinds(): string[] {
    return this.frames.map((frame) => Object.keys(frame)[0] ?? '');
  }
  results() {
    return this.frames.flatMap((frame) => (frame.result ? [frame.result] : []));
  }
  logLines() {
    return this.frames.flatMap((frame) => frame.log?.lines ?? []);
  }
}

const unusedArchives: ArchiveTransfers = {
  putArchive: () => Promise.reject(new Error('not in this test')),
  getArchive: () => Promise.reject(new Error('not in this test')),
};

interface SetupOptions {
  debugSteps?: boolean;
  batchLines?: number;
  runner?: CommandRunner;
  registry?: StepRegistry;
  logger?: pino.Logger;
}

function setup(options: SetupOptions = {}) {
  const sink = new FakeSink();
  const runner = new FakeRunner();
  const supervisor = new StepSupervisor({
    registry: options.registry ?? new StepRegistry({ debugSteps: options.debugSteps ?? true }),
    sink,
    runtime: {
      hostname: 'web1',
      agentVersion: '0.1.0',
      runner: options.runner ?? runner,
      services: { cached: () => Promise.resolve([]), detect: () => Promise.resolve([]) },
      archives: unusedArchives,
      host: loadHostSettings({ root: '/var/berth-test' }),
    },
    logger: options.logger ?? pino({ level: 'silent' }),
    killGraceMs: 50,
    flushIntervalMs: 10,
    logLimits: { batchLines: options.batchLines ?? 64, retainLines: 1000, retainChars: 100_000 },
  });
  return { sink, runner, supervisor };
}

function assign(
  attemptId: string,
  step: string,
  params: unknown,
  extra: { epoch?: string; timeoutMs?: number } = {},
) {
  return {
    ref: { stepId: `step-${attemptId}`, attemptId, epoch: extra.epoch ?? '1' },
    taskId: 'task-1',
    step,
    paramsJson: typeof params === 'string' ? params : JSON.stringify(params),
    timeoutMs: extra.timeoutMs ?? 0,
    secrets: {},
  };
}

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('StepSupervisor', () => {
  it('logs every line about an attempt with its task and step ids', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const { sink, runner, supervisor } = setup({ logger });
    supervisor.handleAssign(assign('a1', 'debug.noop', {}));
    supervisor.handleAssign(assign('a2', 'debug.sleep', { ms: 'soon' }));
    supervisor.handleAssign(assign('a3', 'debug.sleep', { ms: 60_000 }));
    await until(() => runner.calls.length === 1);
    supervisor.handleCancel({ ref: { stepId: 'step-a3', attemptId: 'a3', epoch: '1' }, reason: 'operator' });
    supervisor.handleAssign({
      ...assign('a4', 'debug.noop', {}),
      ref: { stepId: 'step-a4', attemptId: '', epoch: '1' },
    });
    await until(() => sink.results().length === 3);

    const messages = lines.map((line) => String(line.msg));
    expect(messages).toEqual(
      expect.arrayContaining([
        'step started',
        'step succeeded',
        expect.stringMatching(/invalid parameters/),
        'cancelling step',
        expect.stringMatching(/step failed: cancelled/),
        'ignored an assignment without an attempt id',
      ]),
    );
    for (const line of lines) {
      expect(line.taskId, String(line.msg)).toBe('task-1');
      expect(line.stepId, String(line.msg)).toMatch(/^step-a/);
    }
  });

  it('accepts, runs and reports a step, with its logs before its result', async () => {
    const { sink, supervisor } = setup();
    supervisor.handleAssign(assign('a1', 'debug.noop', {}));
    await until(() => sink.results().length === 1);
    expect(sink.kinds()[0]).toBe('accepted');
    expect(sink.kinds().at(-1)).toBe('result');
    const [result] = sink.results();
    expect(result?.ok).toBe(true);
    expect(result?.ref).toEqual({ stepId: 'step-a1', attemptId: 'a1', epoch: '1' });
    const output = JSON.parse(result?.outputJson ?? '') as { at: unknown };
    expect(Object.keys(output)).toEqual(['at']);
    expect(typeof output.at).toBe('number');
    const lines = sink.logLines();
    expect(lines.map((line) => line.seq)).toEqual(lines.map((_, index) => String(index + 1)));
    expect(lines.map((line) => line.text)).toEqual([
      'debug.noop started on web1',
      expect.stringMatching(/succeeded in/),
    ]);
    expect(supervisor.unacknowledgedResults()).toHaveLength(1);
    expect(supervisor.runningRefs()).toEqual([]);
  });

  it('refuses an unknown step and a debug step when debug steps are off, without accepting', () => {
    const { sink, supervisor } = setup({ debugSteps: false });
    supervisor.handleAssign(assign('a1', 'site.teleport', {}));
    supervisor.handleAssign(assign('a2', 'debug.sleep', { ms: 10 }));
    expect(sink.kinds()).toEqual(['result', 'result']);
    const [unknown, debug] = sink.results();
    expect(unknown?.error).toMatchObject({ code: StepErrorCode.UnknownStep, retryable: false });
    expect(unknown?.error?.message).toContain('site.teleport');
    expect(debug?.error?.code).toBe(StepErrorCode.UnknownStep);
    expect(debug?.error?.message).toContain('without debug steps');
  });

  it.each([
    ['not JSON', '{ms: 5'],
    ['an array', [1]],
    ['a missing field', {}],
    ['an unknown field', { ms: 5, shell: 'rm -rf /' }],
    ['a string number', { ms: '5' }],
    ['a negative number', { ms: -1 }],
    ['a fraction', { ms: 1.5 }],
  ])('refuses parameters with %s as INVALID_PARAMS', (_case, params) => {
    const { sink, runner, supervisor } = setup();
    supervisor.handleAssign(assign('a1', 'debug.sleep', params));
    expect(sink.kinds()).toEqual(['result']);
    expect(sink.results()[0]?.error?.code).toBe(StepErrorCode.InvalidParams);
    expect(runner.calls).toHaveLength(0);
  });

  it('is idempotent: a repeated assignment is accepted again, or gets its result again, never run twice', async () => {
    const { sink, runner, supervisor } = setup();
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 50 }));
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 50 }));
    expect(sink.kinds().filter((kind) => kind === 'accepted')).toHaveLength(2);
    await until(() => sink.results().length === 1);
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 50 }));
    expect(sink.results()).toHaveLength(2);
    expect(sink.results()[1]).toEqual(sink.results()[0]);
    expect(runner.calls).toHaveLength(1);
    expect(runner.calls[0]?.args).toEqual(['0.050']);
  });

  it('adopts a newer epoch from a repeated assignment for what it sends next', async () => {
    const { sink, supervisor } = setup();
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 50 }, { epoch: '9' }));
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 50 }, { epoch: '10' }));
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 50 }, { epoch: '8' }));
    expect(supervisor.runningRefs()[0]?.epoch).toBe('10');
    await until(() => sink.results().length === 1);
    expect(sink.results()[0]?.ref?.epoch).toBe('10');
  });

  it('keeps a result until its ack, then forgets it', async () => {
    const { sink, supervisor } = setup();
    supervisor.handleAssign(assign('a1', 'debug.noop', {}));
    supervisor.handleAssign(assign('a2', 'debug.noop', {}));
    await until(() => sink.results().length === 2);
    supervisor.handleResultAck({ ref: { stepId: 'step-a1', attemptId: 'a1', epoch: '1' } });
    expect(supervisor.unacknowledgedResults().map((result) => result.ref?.attemptId)).toEqual(['a2']);
  });

  it('cancels a running step: CANCELLED, with the reason', async () => {
    const { sink, runner, supervisor } = setup();
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 60_000 }));
    await until(() => runner.calls.length === 1);
    expect(supervisor.runningRefs().map((ref) => ref.attemptId)).toEqual(['a1']);
    supervisor.handleCancel({
      ref: { stepId: 'step-a1', attemptId: 'a1', epoch: '1' },
      reason: 'operator asked',
    });
    await until(() => sink.results().length === 1);
    expect(sink.results()[0]?.error).toMatchObject({
      code: StepErrorCode.Cancelled,
      message: 'cancelled: operator asked',
    });
    expect(runner.calls[0]?.signal?.aborted).toBe(true);
  });

  it('ignores a cancel for an older epoch', async () => {
    const { sink, runner, supervisor } = setup();
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 100 }, { epoch: '5' }));
    await until(() => runner.calls.length === 1);
    supervisor.handleCancel({ ref: { stepId: 'step-a1', attemptId: 'a1', epoch: '4' }, reason: 'stale' });
    await until(() => sink.results().length === 1);
    expect(sink.results()[0]?.ok).toBe(true);
  });

  it('stops a step past its timeout: TIMEOUT', async () => {
    const { sink, supervisor } = setup();
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 60_000 }, { timeoutMs: 30 }));
    await until(() => sink.results().length === 1);
    expect(sink.results()[0]?.error).toMatchObject({ code: StepErrorCode.Timeout, retryable: true });
    expect(sink.logLines().map((line) => line.text)).toContain('timed out after 30 ms; stopping the step');
  });

  it('reports a step that ignores its cancel once the kill grace is over', async () => {
    const { sink, supervisor } = setup({ runner: { run: () => new Promise<RunResult>(() => undefined) } });
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 10 }));
    supervisor.handleCancel({ ref: { stepId: 'step-a1', attemptId: 'a1', epoch: '1' }, reason: 'now' });
    await until(() => sink.results().length === 1, 4000);
    expect(sink.results()[0]?.error?.code).toBe(StepErrorCode.Cancelled);
    expect(sink.results()[0]?.error?.message).toMatch(/did not stop within/);
  });

  it('keeps logs while the stream is down and sends them again, from seq 1, after a reconnect', async () => {
    const { sink, supervisor } = setup({ batchLines: 2 });
    sink.connected = false;
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 0 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sink.frames).toEqual([]);
    expect(supervisor.unacknowledgedResults()).toHaveLength(1);
    sink.connected = true;
    supervisor.resendAfterReconnect();
    const frames = sink.frames.filter((frame) => frame.log);
    expect(frames.every((frame) => (frame.log?.lines?.length ?? 0) <= 2)).toBe(true);
    const seqs = sink.logLines().map((line) => Number(line.seq));
    expect(seqs).toEqual(seqs.map((_, index) => index + 1));
    expect(sink.logLines().map((line) => `${line.stream}:${line.text}`)).toEqual([
      'agent:debug.sleep started on web1',
      'agent:sleeping 0 ms',
      'agent:$ sleep 0.000',
      'stdout:running sleep',
      'stderr:a warning',
      expect.stringMatching(/^agent:debug.sleep succeeded in/),
    ]);
    // Acknowledged: its logs are no longer kept for a resend.
    supervisor.handleResultAck({ ref: { stepId: 'step-a1', attemptId: 'a1', epoch: '1' } });
    sink.frames.length = 0;
    supervisor.resendAfterReconnect();
    expect(sink.frames).toEqual([]);
  });

  it('sends the latest progress, and again after a reconnect', async () => {
    let report: ((done: number) => void) | undefined;
    let finish: (() => void) | undefined;
    const registry = new StepRegistry({ debugSteps: true });
    const original = registry.get.bind(registry);
    registry.get = (name: string) =>
      name === 'test.progress'
        ? {
            name: 'debug.noop',
            prepare: () => ({
              ok: true,
              value: (context) => {
                report = (done) => context.progress('upload', done, 100, 'bytes');
                return new Promise((resolve) => {
                  finish = () => resolve({});
                });
              },
            }),
          }
        : original(name);
    const { sink, supervisor } = setup({ registry });
    supervisor.handleAssign(assign('a1', 'test.progress', {}));
    report?.(10);
    report?.(20);
    await until(() => sink.frames.some((frame) => frame.progress));
    const progress = sink.frames.flatMap((frame) => (frame.progress ? [frame.progress] : []));
    expect(progress).toEqual([
      {
        ref: { stepId: 'step-a1', attemptId: 'a1', epoch: '1' },
        phase: 'upload',
        done: '20',
        total: '100',
        unit: 'bytes',
      },
    ]);
    sink.frames.length = 0;
    supervisor.resendAfterReconnect();
    expect(sink.frames.filter((frame) => frame.progress)).toHaveLength(1);
    finish?.();
    await until(() => sink.results().length === 1);
  });

  it('cancels everything when the agent stops', async () => {
    const { sink, runner, supervisor } = setup();
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 60_000 }));
    supervisor.handleAssign(assign('a2', 'debug.sleep', { ms: 60_000 }));
    await until(() => runner.calls.length === 2);
    await supervisor.stop('the agent is stopping');
    expect(sink.results().map((result) => result.error?.code)).toEqual([
      StepErrorCode.Cancelled,
      StepErrorCode.Cancelled,
    ]);
    expect(supervisor.runningRefs()).toEqual([]);
  });

  it('maps a thrown StepError to its failure, keeping exit code and stderr tail', async () => {
    const { sink, supervisor } = setup({
      runner: {
        run: () =>
          Promise.reject(
            new StepError({
              code: StepErrorCode.CommandFailed,
              message: '`sleep` exited with status 2',
              retryable: false,
              exitCode: 2,
              stderrTail: 'bad interval\n',
            }),
          ),
      },
    });
    supervisor.handleAssign(assign('a1', 'debug.sleep', { ms: 1 }));
    await until(() => sink.results().length === 1);
    expect(sink.results()[0]?.error).toEqual({
      code: StepErrorCode.CommandFailed,
      message: '`sleep` exited with status 2',
      retryable: false,
      exitCode: 2,
      stderrTail: 'bad interval\n',
    });
  });
});
