import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import { ProcessRunner, STDERR_TAIL_BYTES } from './process-runner.js';

const runner = new ProcessRunner();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function rejection(promise: Promise<unknown>): Promise<StepError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StepError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/**
 * A shell that starts a grandchild `sleep` in the background (same process group), prints the
 * grandchild's pid and then waits: killing only the leader would leave the grandchild running.
 */
async function withGroupScript<T>(body: (script: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-runner-'));
  try {
    const script = join(dir, 'group.sh');
    await writeFile(script, '#!/bin/sh\nsleep 30 &\necho "child $!"\nwait\n', { mode: 0o755 });
    return await body(script);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('ProcessRunner', () => {
  it('streams stdout and stderr line by line and returns the exit code', async () => {
    const lines: string[] = [];
    const result = await runner.run({
      file: 'sh',
      args: ['-c', 'echo one; echo two >&2; printf "three"'],
      onLine: (stream, line) => lines.push(`${stream}:${line}`),
      captureStdoutBytes: 1024,
    });
    expect(result.exitCode).toBe(0);
    expect(lines).toContain('stdout:one');
    expect(lines).toContain('stderr:two');
    expect(lines).toContain('stdout:three');
    expect(result.stdout).toBe('one\nthree');
    expect(result.stderrTail).toBe('two\n');
  });

  it('gives the child only the environment it is told to, and stdin from input', async () => {
    const result = await runner.run({
      file: 'sh',
      args: ['-c', 'read secret; echo "$secret|${BERTH_TEST:-}|${HOME:-unset}"'],
      env: { BERTH_TEST: 'yes' },
      input: 'from-stdin\n',
      captureStdoutBytes: 1024,
    });
    expect(result.stdout.trim()).toBe('from-stdin|yes|unset');
  });

  it('reports a non-zero exit as COMMAND_FAILED with the exit code and the stderr tail', async () => {
    const error = await rejection(
      runner.run({
        file: 'sh',
        args: [
          '-c',
          `head -c ${STDERR_TAIL_BYTES * 3} /dev/zero | tr '\\0' x >&2; echo >&2; echo last words >&2; exit 7`,
        ],
      }),
    );
    expect(error.code).toBe(StepErrorCode.CommandFailed);
    expect(error.exitCode).toBe(7);
    expect(error.message).toContain('exited with status 7: last words');
    expect(error.stderrTail?.endsWith('last words\n')).toBe(true);
    expect(Buffer.byteLength(error.stderrTail ?? '')).toBeLessThanOrEqual(STDERR_TAIL_BYTES);
    expect(Buffer.byteLength(error.stderrTail ?? '')).toBeGreaterThan(STDERR_TAIL_BYTES - 10);
  });

  it('reports a missing program as MISSING_DEPENDENCY with the package to install', async () => {
    const error = await rejection(
      runner.run({ file: 'berth-no-such-program', args: [], debianPackage: 'berth-tools' }),
    );
    expect(error.code).toBe(StepErrorCode.MissingDependency);
    expect(error.message).toContain('apt-get install berth-tools');
    const known = await rejection(runner.run({ file: '/nonexistent/nginx', args: ['-t'] }));
    expect(known.code).toBe(StepErrorCode.MissingDependency);
    expect(known.message).toContain('apt-get install nginx');
  });

  it('kills the whole process group on cancel: a real sleep and its grandchild', async () => {
    await withGroupScript(async (script) => {
      const controller = new AbortController();
      let grandchild = 0;
      const started = Date.now();
      const run = runner.run({
        file: script,
        args: [],
        signal: controller.signal,
        onLine: (_stream, line) => {
          const match = /^child (\d+)$/.exec(line);
          if (match) grandchild = Number(match[1]);
        },
      });
      await waitFor(() => grandchild > 0);
      expect(alive(grandchild)).toBe(true);
      controller.abort(
        new StepError({ code: StepErrorCode.Cancelled, message: 'cancelled by test', retryable: false }),
      );
      const error = await rejection(run);
      expect(error.code).toBe(StepErrorCode.Cancelled);
      expect(error.message).toBe('cancelled by test');
      expect(Date.now() - started).toBeLessThan(4000);
      await waitFor(() => !alive(grandchild));
    });
  });

  it('stops a step past its timeout with TIMEOUT, group included', async () => {
    await withGroupScript(async (script) => {
      let grandchild = 0;
      const started = Date.now();
      const error = await rejection(
        runner.run({
          file: script,
          args: [],
          timeoutMs: 300,
          onLine: (_stream, line) => {
            const match = /^child (\d+)$/.exec(line);
            if (match) grandchild = Number(match[1]);
          },
        }),
      );
      expect(error.code).toBe(StepErrorCode.Timeout);
      expect(error.retryable).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(grandchild).toBeGreaterThan(0);
      await waitFor(() => !alive(grandchild));
    });
  });

  it('sends SIGKILL after the grace period when SIGTERM is ignored', async () => {
    const controller = new AbortController();
    let ready = false;
    const started = Date.now();
    const run = runner.run({
      file: 'sh',
      args: ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'],
      signal: controller.signal,
      killGraceMs: 400,
      onLine: (_stream, line) => {
        if (line === 'ready') ready = true;
      },
    });
    await waitFor(() => ready);
    controller.abort();
    const error = await rejection(run);
    expect(error.code).toBe(StepErrorCode.Cancelled);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('refuses to start when the signal is already aborted, and checks the working directory', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await rejection(runner.run({ file: 'true', args: [], signal: controller.signal }))).code).toBe(
      StepErrorCode.Cancelled,
    );
    const error = await rejection(runner.run({ file: 'true', args: [], cwd: '/nonexistent-berth-dir' }));
    expect(error.message).toContain('/nonexistent-berth-dir does not exist');
  });
});
