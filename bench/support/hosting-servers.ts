import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../shared/src/package-root.js';
import { buildFixturePlatform, type FixturePlatformName } from '../../test/fixtures/platforms.js';
import { startHostingAgent } from '../../test/support/hosting-stack.js';
import { startMaster, type AgentHandle, type MasterHandle } from '../../test/support/processes.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/test-database.js';
import { startWebStack, type WebStack } from '../../test/support/web-stack.js';

const run = promisify(execFile);

/**
 * Several web servers on this one machine, for the benchmarks: a master on PostgreSQL and, per
 * server, an agent with its own root, its own private nginx + PHP-FPM (own conf dir, own loopback
 * HTTP port) and its fixture platforms; MariaDB is the machine's, shared as a database server would
 * be. The test suite's hosting stack (test/support/hosting-stack.ts) is the one-server version.
 */

export interface HostingServerSpec {
  name: string;
  slots: number;
  /** Registry name → fixture; registry names are global, so each server's platforms need their own. */
  platforms: Record<string, FixturePlatformName>;
}

export interface HostingServer {
  name: string;
  agent: AgentHandle;
  web: WebStack;
  root: string;
}

export interface HostingServers {
  database: TestDatabase;
  master: MasterHandle;
  servers: HostingServer[];
  /** Runs the `berth` CLI against the master; rejects (with code and stderr) on a non-zero exit. */
  berth(...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** One SQL statement as MariaDB's root; tab-separated rows, no headers. */
  mariadb(sql: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startHostingServers(options: {
  label: string;
  servers: HostingServerSpec[];
  masterEnv?: NodeJS.ProcessEnv;
}): Promise<HostingServers> {
  const database = await createTestDatabase('postgres');
  const servers: HostingServer[] = [];
  const stops: Array<() => Promise<void>> = [() => database.drop()];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const master = await startMaster(database, { label: `${options.label}-master`, env: options.masterEnv });
    stops.push(() => master.stop());
    const berth = (...args: string[]) =>
      run(process.execPath, [join(packageRoot(), 'bin', 'berth.js'), ...args], {
        env: { ...process.env, BERTH_URL: master.url, BERTH_TOKEN: master.token },
        maxBuffer: 64 * 1024 * 1024,
      });
    for (const spec of options.servers) {
      const root = mkdtempSync(join(tmpdir(), `berth-root-${spec.name}-`));
      stops.push(() => Promise.resolve(rmSync(root, { recursive: true, force: true })));
      mkdirSync(join(root, 'platforms'), { recursive: true });
      for (const [name, fixture] of Object.entries(spec.platforms)) {
        buildFixturePlatform(fixture, join(root, 'platforms', name));
      }
      const web = await startWebStack({ root });
      stops.push(() => web.stop());
      const agent = await startHostingAgent(master, {
        name: spec.name,
        slots: spec.slots,
        label: `${options.label}-${spec.name}`,
        root,
        web,
      });
      stops.push(() => agent.stop());
      servers.push({ name: spec.name, agent, web, root });
      for (const name of Object.keys(spec.platforms)) {
        await berth('platform', 'add', name, '--server', spec.name, '--path', join(root, 'platforms', name));
      }
    }
    return {
      database,
      master,
      servers,
      berth,
      mariadb: async (sql) =>
        (
          await run('mariadb', ['--protocol=tcp', '-h', '127.0.0.1', '-u', 'root', '-N', '-B', '-e', sql])
        ).stdout.trim(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
