import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../shared/src/package-root.js';
import { buildFixturePlatform, type FixturePlatformName } from '../fixtures/platforms.js';
import { startAgent, startMaster, type AgentHandle, type MasterHandle } from './processes.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import { startDbHost, startTestNetwork, type DbHost, type TestHost, type TestNetwork } from './test-hosts.js';
import { startWebStack, type WebStack } from './web-stack.js';

const run = promisify(execFile);

/**
 * Berth on several test hosts (test-hosts.ts): the master in the root namespace on the bridge, web
 * hosts with their own nginx, PHP-FPM and agent, db hosts with their own MariaDB and agent. A web
 * host has no MariaDB and no admin connection to any: its agent's admin defaults name a socket that
 * does not exist, so a database step that ran there would fail instead of finding the machine's
 * MariaDB through the shared filesystem. The sites' own connections go over TCP to the db hosts.
 */
export interface WebHost {
  host: TestHost;
  web: WebStack;
  agent: AgentHandle;
  /** The agent's --root. */
  root: string;
}

export interface DatabaseHost {
  host: TestHost;
  db: DbHost;
  agent: AgentHandle;
}

export interface SeveralHosts {
  network: TestNetwork;
  database: TestDatabase;
  master: MasterHandle;
  webs: Record<string, WebHost>;
  dbs: Record<string, DatabaseHost>;
  berth: (...args: string[]) => Promise<{ stdout: string; stderr: string }>;
  /** nginx's, PHP's and MariaDB's logs of every host, to print when a test fails. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * The CLI as a test calls it: a failure is an Error whose message holds the command, its exit code
 * and its stderr (kept as `code` and `stderr` too, for the tests that expect a refusal).
 */
export function loudCli(
  run: SeveralHosts['berth'],
): (...args: string[]) => Promise<{ stdout: string; stderr: string }> {
  return async (...args) => {
    try {
      return await run(...args);
    } catch (error) {
      const failed = error as { stderr?: string; code?: number };
      throw Object.assign(new Error(`berth ${args.join(' ')} failed (${failed.code}):\n${failed.stderr}`), {
        code: failed.code,
        stderr: failed.stderr,
      });
    }
  };
}

export async function startSeveralHosts(options: {
  label: string;
  /** Web host name → its platforms (registry name → fixture), built under its root and added. */
  webs: Record<string, Record<string, FixturePlatformName>>;
  dbs: string[];
  /** The db hosts (all, or these) whose MariaDB keeps a row-based binary log (a migrate's rollback point). */
  binaryLog?: boolean | readonly string[];
}): Promise<SeveralHosts> {
  const network = await startTestNetwork(options.label);
  try {
    const database = await createTestDatabase('pglite');
    network.onStop(() => database.drop());
    const master = await startMaster(database, {
      label: `${options.label}-master`,
      gateway: network.gateway,
    });
    network.onStop(() => master.stop());
    const berth = (...args: string[]) =>
      run(process.execPath, [join(packageRoot(), 'bin', 'berth.js'), ...args], {
        env: { ...process.env, BERTH_URL: master.url, BERTH_TOKEN: master.token },
        maxBuffer: 16 * 1024 * 1024,
      });

    const webs: Record<string, WebHost> = {};
    for (const [name, platforms] of Object.entries(options.webs)) {
      const host = await network.addHost(name);
      const root = join(host.dir, 'berth');
      mkdirSync(join(root, 'platforms'), { recursive: true });
      for (const [platform, fixture] of Object.entries(platforms))
        buildFixturePlatform(fixture, join(root, 'platforms', platform));
      const web = await startWebStack({ root, host });
      network.onStop(() => web.stop());
      const noAdmin = join(host.dir, 'no-db-admin.cnf');
      writeFileSync(noAdmin, `[client]\nsocket=${join(host.dir, 'no-mariadb-here.sock')}\nuser=root\n`, {
        mode: 0o600,
      });
      const agent = await startAgent(master, {
        name,
        label: `${options.label}-${name}`,
        host,
        args: [
          '--root',
          root,
          '--nginx-conf',
          web.nginxConf,
          '--php-fpm-socket',
          web.phpFpmSocket,
          '--php-fpm-conf',
          web.phpFpmConf,
          '--http-port',
          `${host.address}:80`,
          '--db-admin-defaults',
          noAdmin,
          '--web-user',
          'root',
          // Namespaces share /proc: the MariaDB servers of the db hosts are visible here too.
          '--roles',
          'http',
        ],
      });
      network.onStop(() => agent.stop());
      webs[name] = { host, web, agent, root };
    }

    const dbs: Record<string, DatabaseHost> = {};
    for (const name of options.dbs) {
      const host = await network.addHost(name);
      const binaryLog = Array.isArray(options.binaryLog)
        ? options.binaryLog.includes(name)
        : options.binaryLog === true;
      const db = await startDbHost(host, { binaryLog });
      const agent = await startAgent(master, {
        name,
        label: `${options.label}-${name}`,
        host,
        args: ['--root', join(host.dir, 'berth'), '--db-admin-defaults', db.adminDefaults, '--roles', 'db'],
      });
      network.onStop(() => agent.stop());
      dbs[name] = { host, db, agent };
    }

    for (const name of [...Object.keys(webs), ...Object.keys(dbs)]) {
      await berth('server', 'verify', name);
    }
    for (const [name, platforms] of Object.entries(options.webs)) {
      for (const platform of Object.keys(platforms))
        await berth(
          'platform',
          'add',
          platform,
          '--server',
          name,
          '--path',
          join(webs[name]!.root, 'platforms', platform),
        );
    }
    return {
      network,
      database,
      master,
      webs,
      dbs,
      berth,
      logs: () =>
        [
          ...Object.values(webs).map((web) => web.web.logs()),
          ...Object.values(dbs).map((db) => db.db.logs()),
        ].join('\n'),
      stop: () => network.stop(),
    };
  } catch (error) {
    await network.stop().catch(() => undefined);
    throw error;
  }
}
