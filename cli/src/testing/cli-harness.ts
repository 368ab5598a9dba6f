/**
 * The CLI's unit tests run `berth` in-process against a fake master. Each test gets an empty config
 * directory, which is also HOME, so that no credentials or drush aliases of the person running the
 * tests are read or written; the directory and every fake master are gone after the test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { runCli } from '../main.js';
import {
  type FakeMaster,
  type FakeRoutes,
  type MemoryIo,
  type RecordedRequest,
  memoryIo,
  startFakeMaster,
} from './fake-master.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** What the fake master of this run received. */
  requests: RecordedRequest[];
}

export interface CliRunOptions {
  tty?: boolean;
  /** Adjusts the I/O before the CLI starts (signals, clock). */
  prepare?: (io: MemoryIo) => void;
}

export interface CliHarness {
  /** This test's config directory and HOME. */
  readonly dir: string;
  /** A fake master that is closed after the test. */
  fakeMaster: (routes: FakeRoutes) => Promise<FakeMaster>;
  /** `berth <argv>` against a new fake master with `routes`, as BERTH_URL with BERTH_TOKEN=test-token. */
  run: (routes: FakeRoutes, argv: string[], options?: CliRunOptions) => Promise<CliRun>;
}

/** Registers the per-test setup and cleanup in the calling describe block. */
export function useCliHarness(prefix: string): CliHarness {
  let dir = '';
  let masters: FakeMaster[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), `berth-${prefix}-`));
  });
  afterEach(async () => {
    await Promise.all(masters.map((master) => master.close()));
    masters = [];
    await rm(dir, { recursive: true, force: true });
  });
  const fakeMaster = async (routes: FakeRoutes) => {
    const master = await startFakeMaster(routes);
    masters.push(master);
    return master;
  };
  return {
    get dir() {
      return dir;
    },
    fakeMaster,
    run: async (routes, argv, options = {}) => {
      const master = await fakeMaster(routes);
      const io = memoryIo(
        { BERTH_CONFIG_DIR: dir, BERTH_URL: master.url, BERTH_TOKEN: 'test-token', HOME: dir },
        { tty: options.tty },
      );
      options.prepare?.(io);
      const code = await runCli(argv, io);
      return { code, stdout: io.stdoutText(), stderr: io.stderrText(), requests: master.requests };
    },
  };
}
