import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { type CommandNode, describeCommandTree } from './completion.js';
import { CliContext } from './context.js';
import { buildProgram, runCli } from './main.js';
import type { RunningAgent, RunningMaster } from './runtime-modules.js';
import { useCliHarness } from './testing/cli-harness.js';
import { closedPort, memoryIo } from './testing/fake-master.js';

function leaves(node: CommandNode): CommandNode[] {
  return node.subcommands.length === 0 ? [node] : node.subcommands.flatMap(leaves);
}

/** The last line on stderr, which with --json is the error as JSON. */
function lastJsonLine(stderr: string): unknown {
  return JSON.parse(stderr.trimEnd().split('\n').at(-1) ?? '');
}

describe('--json', () => {
  const cli = useCliHarness('json');
  const { run } = cli;

  it('is an option of every command', () => {
    const tree = describeCommandTree(
      buildProgram(new CliContext(memoryIo({}), new AbortController().signal)),
    );
    const without = leaves(tree)
      .filter((node) => !node.options.some((option) => option.flags.includes('--json')))
      .map((node) => node.path.join(' '));
    expect(without).toEqual([]);
  });

  it("reports the master's refusal as one JSON line on stderr, nothing on stdout, exit 2", async () => {
    const { code, stdout, stderr } = await run(
      {
        'GET /api/sites/nope.example': () => ({
          status: 404,
          body: { statusCode: 404, code: 'SITE_NOT_FOUND', message: 'no site nope.example' },
        }),
      },
      ['site', 'show', 'nope.example', '--json'],
    );
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(lastJsonLine(stderr)).toEqual({
      error: { message: 'no site nope.example', exitCode: 2, code: 'SITE_NOT_FOUND', details: [] },
    });
  });

  it('reports bad arguments as JSON instead of the usage text', async () => {
    const { code, stdout, stderr } = await run({}, ['task', 'list', '--colour', '--json']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(lastJsonLine(stderr)).toEqual({
      error: { message: "unknown option '--colour'", exitCode: 2, code: 'commander.unknownOption' },
    });
  });

  it('reports an unreachable master with exit 3', async () => {
    const port = await closedPort();
    const io = memoryIo({ BERTH_CONFIG_DIR: cli.dir });
    const code = await runCli(['--url', `http://127.0.0.1:${port}`, 'server', 'list', '--json'], io);
    expect(code).toBe(3);
    expect(io.stdoutText()).toBe('');
    expect(lastJsonLine(io.stderrText())).toMatchObject({
      error: { message: expect.stringContaining('connection refused') as unknown, exitCode: 3 },
    });
  });

  it('leaves the text form alone for arguments after "--"', async () => {
    const { code, stderr } = await run({}, ['task', 'list', '--colour', '--', '--json']);
    expect(code).toBe(2);
    expect(stderr).toContain("error: unknown option '--colour'");
  });

  it('site migrate --check --json exits 1 when the check has errors, as without --json', async () => {
    const check = { platform: 'd9', rows: [], errors: 1, warnings: 0, upgrades: 0 };
    const { code, stdout } = await run(
      { 'GET /api/sites/a.example/migrate-check': () => ({ body: check }) },
      ['site', 'migrate', 'a.example', '--platform', 'd9', '--check', '--json'],
    );
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual(check);
  });

  it('master start --json prints one JSON object once it runs, with the first admin token, and saves it', async () => {
    const running: RunningMaster = {
      httpUrl: 'http://127.0.0.1:7600',
      httpPort: 7600,
      grpcPort: 7601,
      adminToken: 'first-token',
      database: 'pglite',
      // A master that runs until it is stopped.
      ended: new Promise<string>(() => undefined),
      stop: () => Promise.resolve(),
    };
    const signals = new EventEmitter();
    const io = memoryIo({ BERTH_CONFIG_DIR: join(cli.dir, 'config') });
    io.signals = signals;
    io.modules = { master: () => Promise.resolve({ startMaster: () => Promise.resolve(running) }) };
    const exit = runCli(['master', 'start', '--data-dir', join(cli.dir, 'data'), '--json'], io);
    await vi.waitFor(() => expect(io.stdoutText()).toContain('}'));
    signals.emit('SIGTERM');
    expect(await exit).toBe(0);
    const credentialsFile = join(cli.dir, 'config', 'credentials.json');
    expect(JSON.parse(io.stdoutText())).toEqual({
      api: 'http://127.0.0.1:7600',
      grpcPort: 7601,
      database: 'pglite',
      dataDir: join(cli.dir, 'data'),
      adminToken: 'first-token',
      credentialsFile,
    });
    expect(JSON.parse(await readFile(credentialsFile, 'utf8'))).toEqual({
      url: 'http://127.0.0.1:7600',
      token: 'first-token',
    });
  });

  it('agent start --json prints the server it runs for', async () => {
    const running: RunningAgent = { serverId: 'srv-1', serverName: 'web1', stop: () => Promise.resolve() };
    const signals = new EventEmitter();
    const io = memoryIo({ BERTH_CONFIG_DIR: cli.dir, HOME: cli.dir });
    io.signals = signals;
    io.modules = { agent: () => Promise.resolve({ startAgent: () => Promise.resolve(running) }) };
    const exit = runCli(['agent', 'start', '--master', 'm.example.org:7601', '--json'], io);
    await vi.waitFor(() => expect(io.stdoutText()).toContain('}'));
    signals.emit('SIGTERM');
    expect(await exit).toBe(0);
    expect(JSON.parse(io.stdoutText())).toEqual({ serverName: 'web1', serverId: 'srv-1' });
  });
});
