import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../shared/src/package-root.js';
import { buildFixturePlatform, type FixturePlatformName } from '../fixtures/platforms.js';
import { startAgent, startMaster, type AgentHandle, type MasterHandle } from './processes.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import { startWebStack, type WebStack } from './web-stack.js';

const run = promisify(execFile);

/**
 * What the site tests run against: a master (PGlite), one agent `web1` whose root is a temp dir,
 * a private nginx + PHP-FPM serving that root, MariaDB as root over loopback, and the given fixture
 * platforms built under <root>/platforms and added (verified) on the master.
 */
export interface HostingStack {
  database: TestDatabase;
  master: MasterHandle;
  agent: AgentHandle;
  web: WebStack;
  root: string;
  /** Runs the `berth` CLI against the master; rejects (with code and stderr) on a non-zero exit. */
  berth(...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** One SQL statement as MariaDB's root; tab-separated rows, no headers. */
  mariadb(sql: string): Promise<string>;
  /** The name of a site's database, as its credentials file on web1 says. */
  siteDatabase(domain: string): string;
  stop(): Promise<void>;
}

export async function startHostingStack(options: {
  label: string;
  /** Registry name → fixture. */
  platforms: Record<string, FixturePlatformName>;
  /** More environment for the master (e.g. BERTH_METRICS_TOKEN). */
  masterEnv?: NodeJS.ProcessEnv;
  /** The loopback port web1's nginx listens on (an ACME test server validates there). */
  webPort?: number;
}): Promise<HostingStack> {
  const database = await createTestDatabase('pglite');
  const root = mkdtempSync(join(tmpdir(), 'berth-root-'));
  mkdirSync(join(root, 'platforms'), { recursive: true });
  for (const [name, fixture] of Object.entries(options.platforms)) {
    buildFixturePlatform(fixture, join(root, 'platforms', name));
  }
  const web = await startWebStack({ root, ...(options.webPort ? { port: options.webPort } : {}) });
  const master = await startMaster(database, { label: `${options.label}-master`, env: options.masterEnv });
  const agent = await startHostingAgent(master, { name: 'web1', label: `${options.label}-web1`, root, web });
  const berth = (...args: string[]) =>
    run(process.execPath, [join(packageRoot(), 'bin', 'berth.js'), ...args], {
      env: { ...process.env, BERTH_URL: master.url, BERTH_TOKEN: master.token },
      maxBuffer: 16 * 1024 * 1024,
    });
  for (const name of Object.keys(options.platforms)) {
    await berth('platform', 'add', name, '--server', 'web1', '--path', join(root, 'platforms', name));
  }
  return {
    database,
    master,
    agent,
    web,
    root,
    berth,
    mariadb: async (sql) =>
      (
        await run('mariadb', ['--protocol=tcp', '-h', '127.0.0.1', '-u', 'root', '-N', '-B', '-e', sql])
      ).stdout.trim(),
    siteDatabase: (domain) => {
      const credentials = readFileSync(join(root, 'config', 'sites', domain, 'credentials.php'), 'utf8');
      const found = /'database' => '([a-z0-9_]+)'/.exec(credentials);
      if (!found) throw new Error(`no database name in the credentials of ${domain}`);
      return found[1]!;
    },
    stop: async () => {
      await agent.stop();
      await master.stop();
      await web.stop();
      await database.drop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * An agent for a server whose root and private web stack live in `root`: MariaDB as root over
 * loopback through a 0600 defaults file in that root, PHP-FPM as root (see web-stack.ts).
 */
export async function startHostingAgent(
  master: MasterHandle,
  options: {
    name: string;
    label: string;
    root: string;
    web: WebStack;
    slots?: number;
    /** Every master it may dial (several on one registry). */
    masters?: string[];
  },
): Promise<AgentHandle> {
  const { root, web } = options;
  const adminDefaults = join(root, 'db-admin.cnf');
  writeFileSync(adminDefaults, '[client]\nhost=127.0.0.1\nport=3306\nuser=root\npassword=\n', {
    mode: 0o600,
  });
  return startAgent(master, {
    name: options.name,
    label: options.label,
    ...(options.slots !== undefined ? { slots: options.slots } : {}),
    ...(options.masters ? { masters: options.masters } : {}),
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
      `127.0.0.1:${web.port}`,
      '--https-port',
      `127.0.0.1:${web.httpsPort}`,
      '--db-admin-defaults',
      adminDefaults,
      // The test web stack runs PHP-FPM as root in a root-only temp dir (see web-stack.ts).
      '--web-user',
      'root',
    ],
  });
}
