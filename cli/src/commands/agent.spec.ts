import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../main.js';
import type { AgentStartOptions, RunningAgent } from '../runtime-modules.js';
import { memoryIo } from '../testing/fake-master.js';

// startAgent is replaced by a stub: these tests are about the options the CLI passes and how it
// reports and stops; the real agent runs in the cross-process tests.
describe('berth agent start', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function stubAgent() {
    const stop = vi.fn(() => Promise.resolve());
    const startAgent = vi.fn((_options: AgentStartOptions): Promise<RunningAgent> =>
      Promise.resolve({ serverId: 'srv-1', serverName: 'web1', stop }),
    );
    return { startAgent, stop };
  }

  async function start(argv: string[], env: Record<string, string> = {}) {
    const { startAgent, stop } = stubAgent();
    const signals = new EventEmitter();
    const io = memoryIo({ BERTH_CONFIG_DIR: dir, HOME: dir, ...env });
    io.signals = signals;
    io.modules = { agent: () => Promise.resolve({ startAgent }) };
    const exit = runCli(['agent', 'start', '--master', 'm.example.org:7601', ...argv], io);
    await vi.waitFor(() => expect(io.stdoutText()).toContain('Press Ctrl-C to stop.'));
    signals.emit('SIGTERM');
    const code = await exit;
    return { code, io, startAgent, stop };
  }

  it('passes its options, runs until SIGTERM and stops the agent', async () => {
    const { code, io, startAgent, stop } = await start(
      ['--name', 'web1', '--data-dir', join(dir, 'agent'), '--slots', '4', '--debug-steps'],
      { BERTH_AGENT_TOKEN: 'env-token' },
    );
    expect(code).toBe(0);
    expect(startAgent).toHaveBeenCalledWith({
      master: 'm.example.org:7601',
      token: 'env-token',
      name: 'web1',
      dataDir: join(dir, 'agent'),
      debugSteps: true,
      slots: 4,
    });
    expect(io.stdoutText()).toContain('Berth agent is running for server web1 (srv-1).');
    expect(stop).toHaveBeenCalledOnce();
  });

  it('takes the token from --token, then --token-file, then BERTH_AGENT_TOKEN', async () => {
    const file = join(dir, 'token');
    await writeFile(file, 'file-token\n');
    const env = { BERTH_AGENT_TOKEN: 'env-token' };
    const fromFlag = await start(['--token', 'flag-token', '--token-file', file], env);
    expect(fromFlag.startAgent.mock.calls[0]?.[0].token).toBe('flag-token');
    const fromFile = await start(['--token-file', file], env);
    expect(fromFile.startAgent.mock.calls[0]?.[0].token).toBe('file-token');
    const none = await start([]);
    expect(none.startAgent.mock.calls[0]?.[0]).toMatchObject({
      token: undefined,
      dataDir: join(dir, '.berth', 'agent'),
    });
  });

  it('does not take the API token (BERTH_TOKEN) as an enrollment token', async () => {
    const { startAgent } = await start([], { BERTH_TOKEN: 'api-token' });
    expect(startAgent.mock.calls[0]?.[0].token).toBeUndefined();
  });

  it('exits 2 with the message when the master refuses the enrollment', async () => {
    const refused = Object.assign(new Error('the master refused the enrollment token: it was already used'), {
      name: 'AgentError',
      code: 'ENROLLMENT_REFUSED',
    });
    const io = memoryIo({ BERTH_CONFIG_DIR: dir, HOME: dir });
    io.modules = { agent: () => Promise.resolve({ startAgent: () => Promise.reject(refused) }) };
    expect(await runCli(['agent', 'start', '--master', 'm:7601', '--token', 'used'], io)).toBe(2);
    expect(io.stderrText()).toContain('berth: the master refused the enrollment token: it was already used');
    expect(io.stderrText()).not.toMatch(/\n\s+at /);
  });

  it('exits 2 for an unreadable token file and a missing --master', async () => {
    const io = memoryIo({ BERTH_CONFIG_DIR: dir });
    expect(
      await runCli(['agent', 'start', '--master', 'm:7601', '--token-file', join(dir, 'nope')], io),
    ).toBe(2);
    expect(io.stderrText()).toContain(`Cannot read the token file ${join(dir, 'nope')}`);
    expect(await runCli(['agent', 'start'], io)).toBe(2);
    expect(io.stderrText()).toContain("required option '--master <host:port,...>' not specified");
  });
});
