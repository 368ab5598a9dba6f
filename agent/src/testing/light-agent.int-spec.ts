import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../shared/src/errors.js';
import { FakeMaster } from './fake-master.js';
import { type LightAgent, startLightAgent } from './light-agent.js';

const silent = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(master: FakeMaster, onWelcome?: () => void): Promise<LightAgent> {
  const agent = await startLightAgent(
    master.address,
    { name: 'light1', token: master.token() },
    silent,
    onWelcome,
  );
  cleanups.push(() => agent.stop());
  return agent;
}

function assign(attemptId: string, step: string) {
  return {
    assign: {
      ref: { stepId: `step-${attemptId}`, attemptId, epoch: '1' },
      taskId: 'task-1',
      step,
      paramsJson: '{}',
      timeoutMs: 0,
    },
  };
}

describe('light agent (benchmarks)', () => {
  it('enrolls with its token, says hello over mTLS offering only debug.noop, and answers it as the agent does', async () => {
    const master = await FakeMaster.start({ heartbeatIntervalMs: 100 });
    cleanups.push(() => master.stop());
    let welcomes = 0;
    const agent = await start(master, () => welcomes++);
    expect(agent.serverId).toBe(master.serverId);
    expect(master.enrollCalls).toBe(1);
    await master.waitFor(() => master.connections.length === 1 && welcomes === 1, 5000, 'the welcome');
    const connection = master.connections[0]!;
    expect(connection.hello).toMatchObject({
      hostname: 'light1',
      slots: 1,
      steps: ['debug.noop'],
      services: [],
    });

    connection.send(assign('n1', 'debug.noop'));
    await master.waitFor(() => connection.frames.some((frame) => frame.result), 5000, 'a result');
    const kinds = connection.frames
      .filter((frame) => !frame.heartbeat && !frame.hello)
      .map((frame) => frame.kind);
    expect(kinds[0]).toBe('accepted');
    expect(kinds.at(-1)).toBe('result');
    expect(connection.frames.find((frame) => frame.result)?.result?.ok).toBe(true);
    await master.waitFor(() => connection.frames.some((frame) => frame.heartbeat), 2000, 'a heartbeat');
  });

  it('refuses every other step: it has no runners behind them', async () => {
    const master = await FakeMaster.start({ heartbeatIntervalMs: 100 });
    cleanups.push(() => master.stop());
    await start(master);
    await master.waitFor(() => master.connections.length === 1, 5000, 'a connection');
    const connection = master.connections[0]!;
    connection.send(assign('s1', 'debug.sleep'));
    connection.send(assign('p1', 'server.probe'));
    await master.waitFor(
      () => connection.frames.filter((frame) => frame.result).length === 2,
      5000,
      'two results',
    );
    const results = connection.frames.flatMap((frame) => (frame.result ? [frame.result] : []));
    expect(results.map((result) => [result.ref?.attemptId, result.ok, result.error?.code])).toEqual([
      ['s1', false, StepErrorCode.UnknownStep],
      ['p1', false, StepErrorCode.UnknownStep],
    ]);
  });
});
