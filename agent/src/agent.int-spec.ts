import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../shared/src/errors.js';
import { DEBUG_STEP_NAMES, STEP_NAMES } from '../../shared/src/steps.js';
import { AgentError, AgentErrorCode, type RunningAgent, startAgent } from './agent.js';
import { FakeMaster, type FakeMasterOptions } from './testing/fake-master.js';
import { createTestPki } from './testing/test-pki.js';

const silent = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-agent-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'data');
}

async function fakeMaster(options: FakeMasterOptions = {}): Promise<FakeMaster> {
  const master = await FakeMaster.start({ heartbeatIntervalMs: 100, ...options });
  cleanups.push(() => master.stop());
  return master;
}

async function agent(
  master: FakeMaster,
  dataDir: string,
  extra: { token?: string | null; debugSteps?: boolean } = {},
) {
  const running = await startAgent({
    master: master.address,
    token: extra.token === null ? undefined : (extra.token ?? master.token()),
    name: 'web1.example.org',
    dataDir,
    debugSteps: extra.debugSteps ?? true,
    slots: 2,
    log: silent,
  });
  cleanups.push(() => running.stop());
  return running;
}

async function startFailure(promise: Promise<RunningAgent>): Promise<AgentError> {
  try {
    const running = await promise;
    await running.stop();
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    return error as AgentError;
  }
  throw new Error('expected startAgent to fail');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of `sleep <seconds>` processes: how the test sees the step's child. */
async function sleepPids(seconds: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      if (cmdline[0]?.endsWith('sleep') && cmdline[1] === seconds) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

function assign(attemptId: string, step: string, params: unknown, timeoutMs = 0) {
  return {
    assign: {
      ref: { stepId: `step-${attemptId}`, attemptId, epoch: '1' },
      taskId: 'task-1',
      step,
      paramsJson: JSON.stringify(params),
      timeoutMs,
    },
  };
}

describe('agent against a fake master', () => {
  it('enrolls with the token, saves its identity privately, and says hello over mTLS', async () => {
    const master = await fakeMaster();
    const dataDir = await tempDir();
    const running = await agent(master, dataDir);
    expect(running.serverId).toBe(master.serverId);
    expect(running.serverName).toBe('web1');
    await master.waitFor(() => master.connections.length === 1, 5000, 'a connection');
    const [connection] = master.connections;
    expect(connection?.clientCertificateSubject).toBe(`CN=${master.serverId}`);
    expect(connection?.hello).toMatchObject({
      hostname: 'web1.example.org',
      slots: 2,
      running: [],
      finished: [],
    });
    expect(connection?.hello.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(connection?.hello.steps.sort()).toEqual([...STEP_NAMES].sort());
    expect(Array.isArray(connection?.hello.services)).toBe(true);

    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dataDir, 'agent.key'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dataDir, 'agent.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(await readFile(join(dataDir, 'ca.crt'), 'utf8')).toBe(master.pki.caCertificatePem);
    expect(JSON.parse(await readFile(join(dataDir, 'identity.json'), 'utf8'))).toEqual({
      serverId: master.serverId,
      serverName: 'web1',
      master: master.address,
    });
    const saved = (await readdir(dataDir)).join(' ');
    expect(saved).not.toContain(master.secret);
    // Every file, the ledger of running step processes (running/) included.
    for (const entry of await readdir(dataDir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      expect(await readFile(join(entry.parentPath, entry.name), 'utf8')).not.toContain(master.secret);
    }

    // Heartbeats flow at the interval from the welcome.
    await master.waitFor(
      () => (connection?.frames.filter((frame) => frame.heartbeat).length ?? 0) >= 2,
      2000,
      'heartbeats',
    );

    // A restart needs no token: the saved identity is used, the master sees no second enrollment.
    await running.stop();
    const again = await agent(master, dataDir, { token: null });
    expect(again.serverId).toBe(master.serverId);
    await master.waitFor(() => master.connections.length === 2, 5000, 'a second connection');
    expect(master.enrollCalls).toBe(1);
  });

  it('refuses a master whose CA does not match the token, without sending the token', async () => {
    const impostor = await createTestPki();
    const master = await fakeMaster({ impostorCaPem: impostor.caCertificatePem });
    const error = await startFailure(
      startAgent({ master: master.address, token: master.token(), dataDir: await tempDir(), log: silent }),
    );
    expect(error.code).toBe(AgentErrorCode.CaMismatch);
    expect(error.message).toContain('wrong master address or a man in the middle');
    expect(master.enrollCalls).toBe(0);
  });

  it('stops at once when the master refuses the token, and asks for a new one', async () => {
    const master = await fakeMaster();
    await agent(master, await tempDir());
    const started = Date.now();
    const error = await startFailure(
      startAgent({ master: master.address, token: master.token(), dataDir: await tempDir(), log: silent }),
    );
    expect(error.code).toBe(AgentErrorCode.EnrollmentRefused);
    expect(error.message).toContain('berth server add');
    expect(error.message).not.toContain(master.secret);
    expect(master.enrollCalls).toBe(2);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('needs a token when it has no identity', async () => {
    const master = await fakeMaster();
    const error = await startFailure(
      startAgent({ master: master.address, dataDir: await tempDir(), log: silent }),
    );
    expect(error.code).toBe(AgentErrorCode.NotEnrolled);
    expect(error.message).toContain('berth server add');
  });

  it('runs a step: accepted, logs, result; forgets it after the ack', async () => {
    const master = await fakeMaster();
    await agent(master, await tempDir());
    await master.waitFor(() => master.connections.length === 1);
    const connection = master.connections[0]!;
    connection.send(assign('a1', 'debug.sleep', { ms: 150 }));
    await master.waitFor(() => connection.frames.some((frame) => frame.result), 5000, 'a result');
    const kinds = connection.frames
      .filter((frame) => !frame.heartbeat && !frame.hello)
      .map((frame) => frame.kind);
    expect(kinds[0]).toBe('accepted');
    expect(kinds.at(-1)).toBe('result');
    const result = connection.frames.find((frame) => frame.result)?.result;
    expect(result?.ok).toBe(true);
    expect((JSON.parse(result?.outputJson ?? '{}') as { sleptMs: number }).sleptMs).toBeGreaterThanOrEqual(
      150,
    );
    const lines = connection.frames.flatMap((frame) => frame.log?.lines ?? []);
    expect(lines.map((line) => line.seq)).toEqual(lines.map((_, index) => String(index + 1)));
    expect(lines.map((line) => line.text)).toContain('$ sleep 0.150');

    // Running attempts are in heartbeats while they run; none once the result is out.
    const resultIndex = connection.frames.findIndex((frame) => frame.result);
    await master.waitFor(
      () => connection.frames.slice(resultIndex).some((frame) => frame.heartbeat),
      2000,
      'a heartbeat',
    );
    const heartbeats = connection.frames.filter((frame) => frame.heartbeat);
    expect(heartbeats.some((frame) => frame.heartbeat?.running.some((ref) => ref.attemptId === 'a1'))).toBe(
      true,
    );
    expect(connection.frames.slice(resultIndex).find((frame) => frame.heartbeat)?.heartbeat?.running).toEqual(
      [],
    );

    connection.send({ resultAck: { ref: result?.ref } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    connection.kill();
    await master.waitFor(() => master.connections.length === 2, 5000, 'a reconnect');
    expect(master.connections[1]?.hello.finished).toEqual([]);
  });

  it('cancels a real sleep: the child process is gone and the result says CANCELLED', async () => {
    const master = await fakeMaster();
    await agent(master, await tempDir());
    await master.waitFor(() => master.connections.length === 1);
    const connection = master.connections[0]!;
    connection.send(assign('a2', 'debug.sleep', { ms: 61_234 }));
    await master.waitFor(() => connection.frames.some((frame) => frame.accepted));
    let pids: number[] = [];
    await master.waitFor(
      () => {
        void sleepPids('61.234').then((found) => (pids = found));
        return pids.length === 1;
      },
      5000,
      'the sleep child',
    );
    await master.waitFor(
      () => connection.frames.some((frame) => frame.heartbeat?.running.some((ref) => ref.attemptId === 'a2')),
      2000,
      'a heartbeat listing the attempt',
    );
    connection.send({ cancel: { ref: { stepId: 'step-a2', attemptId: 'a2', epoch: '1' }, reason: 'test' } });
    await master.waitFor(() => connection.frames.some((frame) => frame.result), 5000, 'a result');
    const result = connection.frames.find((frame) => frame.result)?.result;
    expect(result?.ok).toBe(false);
    expect(result?.error?.code).toBe(StepErrorCode.Cancelled);
    await master.waitFor(() => !alive(pids[0]!), 2000, 'the child to exit');
  });

  it('times a step out with TIMEOUT, and refuses debug steps when they are off', async () => {
    const master = await fakeMaster();
    await agent(master, await tempDir(), { debugSteps: false });
    await master.waitFor(() => master.connections.length === 1);
    const connection = master.connections[0]!;
    expect(connection.hello.steps.sort()).toEqual(
      STEP_NAMES.filter((name) => !DEBUG_STEP_NAMES.includes(name)).sort(),
    );
    connection.send(assign('a3', 'debug.sleep', { ms: 10 }));
    await master.waitFor(() => connection.frames.some((frame) => frame.result));
    expect(connection.frames.find((frame) => frame.result)?.result?.error?.code).toBe(
      StepErrorCode.UnknownStep,
    );
    expect(connection.frames.some((frame) => frame.accepted)).toBe(false);

    const debugMaster = await fakeMaster();
    await agent(debugMaster, await tempDir());
    await debugMaster.waitFor(() => debugMaster.connections.length === 1);
    const debugConnection = debugMaster.connections[0]!;
    debugConnection.send(assign('a4', 'debug.sleep', { ms: 30_000 }, 200));
    await debugMaster.waitFor(() => debugConnection.frames.some((frame) => frame.result), 5000, 'a result');
    expect(debugConnection.frames.find((frame) => frame.result)?.result?.error).toMatchObject({
      code: StepErrorCode.Timeout,
      retryable: true,
    });
  });

  it('probes the server and checks the archive link both ways', async () => {
    const master = await fakeMaster({ autoAck: true });
    await agent(master, await tempDir());
    await master.waitFor(() => master.connections.length === 1);
    const connection = master.connections[0]!;
    connection.send(assign('p1', 'server.probe', {}));
    const archiveId = '6f1c2a40-8d3e-4b7a-9c55-0a1b2c3d4e5f';
    connection.send(assign('t1', 'link.transfer-check', { archiveId, bytes: 3 * 1024 * 1024 + 7 }));
    await master.waitFor(
      () => connection.frames.filter((frame) => frame.result).length === 2,
      10_000,
      'two results',
    );
    const results = connection.frames.flatMap((frame) => (frame.result ? [frame.result] : []));
    const probe = results.find((result) => result.ref?.attemptId === 'p1');
    expect(probe?.ok).toBe(true);
    const probeOutput = JSON.parse(probe?.outputJson ?? '{}') as Record<string, unknown>;
    expect(probeOutput.hostname).toBe('web1.example.org');
    expect(Array.isArray(probeOutput.services)).toBe(true);
    expect(probeOutput.os).toMatch(/Linux/);

    const transfer = results.find((result) => result.ref?.attemptId === 't1');
    expect(transfer?.error).toBeFalsy();
    const output = JSON.parse(transfer?.outputJson ?? '{}') as { sha256: string; bytes: number };
    expect(output.bytes).toBe(3 * 1024 * 1024 + 7);
    const stored = master.archives.get(archiveId);
    expect(stored?.length).toBe(output.bytes);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(stored!).digest('hex')).toBe(output.sha256);
    const phases = new Set(
      connection.frames.flatMap((frame) => (frame.progress ? [frame.progress.phase] : [])),
    );
    expect(phases).toEqual(new Set(['upload', 'download']));
  });

  it('keeps a step running through a cut, and reports it on the next connection', async () => {
    const master = await fakeMaster();
    await agent(master, await tempDir());
    await master.waitFor(() => master.connections.length === 1);
    const first = master.connections[0]!;
    first.send(assign('r1', 'debug.sleep', { ms: 600 }));
    await master.waitFor(() => first.frames.some((frame) => frame.accepted));
    first.kill();
    await master.waitFor(() => master.connections.length === 2, 5000, 'a reconnect');
    const second = master.connections[1]!;
    const inHello = second.hello.running.map((ref) => ref.attemptId);
    const finishedInHello = second.hello.finished.map((result) => result.ref?.attemptId);
    expect([...inHello, ...finishedInHello]).toContain('r1');
    await master.waitFor(
      () =>
        second.frames.some((frame) => frame.result?.ref?.attemptId === 'r1') ||
        finishedInHello.includes('r1'),
      5000,
      'the result after the reconnect',
    );
    // The log starts again from seq 1 on the new stream (the master drops duplicates).
    await master.waitFor(() => second.frames.some((frame) => frame.log), 2000, 'logs re-sent');
    const resent = second.frames.flatMap((frame) => frame.log?.lines ?? []);
    expect(resent[0]?.seq).toBe('1');
    expect(resent.map((line) => Number(line.seq))).toEqual(resent.map((_, index) => index + 1));
    // Unacknowledged, it is offered again in the next hello.
    second.kill();
    await master.waitFor(() => master.connections.length === 3, 5000, 'a third connection');
    expect(master.connections[2]?.hello.finished.map((result) => result.ref?.attemptId)).toEqual(['r1']);
  });

  it('drops a silent stream after three heartbeat intervals and dials again', async () => {
    const master = await fakeMaster({ silent: true });
    await agent(master, await tempDir());
    await master.waitFor(() => master.connections.length === 1);
    const started = Date.now();
    await master.waitFor(() => master.connections.length === 2, 5000, 'a reconnect after silence');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('reconnects after the master restarts, with the backoff, and without a token', async () => {
    const master = await fakeMaster();
    await agent(master, await tempDir(), { token: master.token() });
    await master.waitFor(() => master.connections.length === 1);
    master.connections[0]!.send(assign('m1', 'debug.sleep', { ms: 400 }));
    await master.waitFor(() => master.connections[0]!.frames.some((frame) => frame.accepted));
    await master.restart(700);
    await master.waitFor(
      () => master.connections.length === 2,
      15_000,
      'a connection to the restarted master',
    );
    const hello = master.connections[1]!.hello;
    // The step finished while the master was down: its result waits in the hello.
    expect(hello.finished.map((result) => result.ref?.attemptId)).toEqual(['m1']);
    expect(hello.finished[0]?.ok).toBe(true);
    expect(master.enrollCalls).toBe(1);
  });
});
