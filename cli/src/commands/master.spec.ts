import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, type MasterFlags } from '../../../master/src/infra/config/master-config.js';
import { runCli } from '../main.js';
import type { RunningMaster } from '../runtime-modules.js';
import { memoryIo } from '../testing/fake-master.js';

// startMaster is replaced by a stub: these tests are about what the CLI prints, saves and stops;
// the real master is started by the cross-process tests.
describe('berth master start', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function stubMaster(
    adminToken: string | null,
    ended: Promise<string> = new Promise<string>(() => undefined),
  ) {
    const stop = vi.fn(() => Promise.resolve());
    const running: RunningMaster = {
      httpUrl: 'http://127.0.0.1:7600',
      httpPort: 7600,
      grpcPort: 7601,
      adminToken,
      database: 'pglite',
      ended,
      stop,
    };
    const startMaster = vi.fn((_flags: MasterFlags) => Promise.resolve(running));
    return { startMaster, stop };
  }

  async function runUntilStarted(
    argv: string[],
    startMaster: (flags: MasterFlags) => Promise<RunningMaster>,
  ) {
    const signals = new EventEmitter();
    const io = memoryIo({ BERTH_CONFIG_DIR: join(dir, 'config') });
    io.signals = signals;
    io.modules = { master: () => Promise.resolve({ startMaster }) };
    const exit = runCli(argv, io);
    await vi.waitFor(() => expect(io.stdoutText()).toContain('Press Ctrl-C to stop.'));
    return { io, signals, exit };
  }

  it('passes the flags, prints where it listens, and stops gracefully on SIGTERM', async () => {
    const { startMaster, stop } = stubMaster(null);
    const { io, signals, exit } = await runUntilStarted(
      [
        'master',
        'start',
        '--data-dir',
        join(dir, 'data'),
        '--port',
        '0',
        '--grpc-port',
        '7700',
        '--public-host',
        'm1.example.org,10.0.0.5',
      ],
      startMaster,
    );
    expect(startMaster).toHaveBeenCalledWith({
      dataDir: join(dir, 'data'),
      port: 0,
      grpcPort: 7700,
      publicHost: ['m1.example.org', '10.0.0.5'],
    });
    expect(io.stdoutText()).toContain('  API        http://127.0.0.1:7600\n');
    expect(io.stdoutText()).toContain('  agents     gRPC on port 7601\n');
    expect(io.stdoutText()).toContain(`embedded PostgreSQL (PGlite) in ${join(dir, 'data')}`);
    expect(io.stdoutText()).not.toContain('admin token');
    expect(stop).not.toHaveBeenCalled();
    signals.emit('SIGTERM');
    expect(await exit).toBe(0);
    expect(stop).toHaveBeenCalledOnce();
  });

  it('on the first start prints the admin token once and saves it with the URL, mode 0600', async () => {
    const { startMaster } = stubMaster('bt_first_admin_token');
    const { io, signals, exit } = await runUntilStarted(
      ['master', 'start', '--data-dir', join(dir, 'data')],
      startMaster,
    );
    signals.emit('SIGINT');
    expect(await exit).toBe(0);
    expect(io.stdoutText().split('bt_first_admin_token')).toHaveLength(2);
    expect(io.stdoutText()).toContain('FIRST START');
    const path = join(dir, 'config', 'credentials.json');
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      url: 'http://127.0.0.1:7600',
      token: 'bt_first_admin_token',
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('exits 1 with the reason when the master stops by itself (another process took its name)', async () => {
    let end: (reason: string) => void = () => undefined;
    const ended = new Promise<string>((resolve) => {
      end = resolve;
    });
    const { startMaster, stop } = stubMaster(null, ended);
    const { io, exit } = await runUntilStarted(
      ['master', 'start', '--data-dir', join(dir, 'data')],
      startMaster,
    );
    end('another master process took the name "m1" (BERTH_MASTER_ID): this one stops');
    expect(await exit).toBe(1);
    expect(io.stderrText()).toContain('the master stopped: another master process took the name "m1"');
    // It stopped itself already.
    expect(stop).not.toHaveBeenCalled();
  });

  it('does not save the token with --no-save-token', async () => {
    const { startMaster } = stubMaster('bt_first_admin_token');
    const { io, signals, exit } = await runUntilStarted(
      ['master', 'start', '--data-dir', join(dir, 'data'), '--no-save-token'],
      startMaster,
    );
    signals.emit('SIGINT');
    expect(await exit).toBe(0);
    expect(io.stdoutText()).toContain('bt_first_admin_token');
    expect(io.stdoutText()).toContain('Not saved (--no-save-token)');
    await expect(stat(join(dir, 'config', 'credentials.json'))).rejects.toThrow(/ENOENT/);
  });

  it('exits 2 with the message on a configuration error, before or during the start', async () => {
    const early = memoryIo({ BERTH_CONFIG_DIR: dir, BERTH_LOG_LEVEL: 'loud' });
    expect(await runCli(['master', 'start', '--data-dir', dir], early)).toBe(2);
    expect(early.stderrText()).toContain(
      'berth: BERTH_LOG_LEVEL must be debug, info, warn or error, got "loud"',
    );

    const late = memoryIo({ BERTH_CONFIG_DIR: dir });
    late.modules = {
      master: () => Promise.resolve({ startMaster: () => Promise.reject(new ConfigError('bad thing')) }),
    };
    expect(await runCli(['master', 'start', '--data-dir', dir], late)).toBe(2);
    expect(late.stderrText()).toContain('berth: bad thing');
    expect(late.stderrText()).not.toMatch(/\n\s+at /);
  });

  it('refuses a port that is not a port, with exit 2', async () => {
    const io = memoryIo({ BERTH_CONFIG_DIR: dir });
    expect(await runCli(['master', 'start', '--port', '70000'], io)).toBe(2);
    expect(io.stderrText()).toContain("option '--port <port>' argument '70000' is invalid");
  });
});
