import { once } from 'node:events';
import type { Command } from 'commander';
import {
  ConfigError,
  DEFAULT_GRPC_PORT,
  DEFAULT_HTTP_PORT,
  type MasterFlags,
  loadMasterConfig,
} from '../../../master/src/infra/config/master-config.js';
import type { CliContext } from '../context.js';
import { credentialsPath, readCredentials, writeCredentials } from '../credentials.js';
import { CliError, ExitCode } from '../errors.js';
import { collect, portNumber } from '../parsers.js';
import { renderTable } from '../output/table.js';
import { loadMaster } from '../runtime-modules.js';

interface MasterStartOptions {
  port?: number;
  grpcPort?: number;
  dataDir?: string;
  host?: string;
  grpcHost?: string;
  publicHost?: string[];
  saveToken: boolean;
  json?: boolean;
}

export function registerMasterCommands(program: Command, ctx: CliContext): void {
  const master = program
    .command('master')
    .description('The master: registry, task engine, REST API and agent gateway');

  master
    .command('start')
    .description('Run the master in the foreground until Ctrl-C or SIGTERM')
    .option('--port <port>', `REST API port (default: BERTH_HTTP_PORT or ${DEFAULT_HTTP_PORT})`, portNumber)
    .option(
      '--grpc-port <port>',
      `port agents dial (default: BERTH_GRPC_PORT or ${DEFAULT_GRPC_PORT})`,
      portNumber,
    )
    .option(
      '--data-dir <dir>',
      'where the embedded database, the CA and the backups live (default: BERTH_DATA_DIR or ~/.berth/master)',
    )
    .option('--host <addr>', 'address the REST API listens on (default: BERTH_HTTP_HOST or 127.0.0.1)')
    .option(
      '--grpc-host <addr>',
      'address the agent gateway listens on (default: BERTH_GRPC_HOST or 0.0.0.0)',
    )
    .option(
      '--public-host <name...>',
      'names or addresses agents dial the master by, put into its certificate (repeatable, or comma-separated; ' +
        'default: BERTH_PUBLIC_HOSTS); localhost and this host name are always included',
    )
    .option('--no-save-token', 'on the first start, do not save the admin token to the CLI credentials file')
    .option(
      '--json',
      'once it runs, print { api, grpcPort, database, dataDir, adminToken, credentialsFile } as JSON ' +
        '(adminToken only on the first start)',
    )
    .addHelpText(
      'after',
      [
        '',
        'With DATABASE_URL set (postgres://...) the master uses that PostgreSQL; without it, an embedded',
        'PostgreSQL (PGlite) in the data directory.',
        '',
        'On the very first start the master creates an admin token and prints it once. Unless',
        '--no-save-token is given, it is saved with the API URL to the CLI credentials file (mode 0600),',
        'so that berth commands on this machine work without --token.',
      ].join('\n'),
    )
    .action(async (options: MasterStartOptions) => {
      const flags: MasterFlags = {
        port: options.port,
        grpcPort: options.grpcPort,
        dataDir: options.dataDir,
        host: options.host,
        grpcHost: options.grpcHost,
        publicHost: options.publicHost?.flatMap((value) => collect(value, [])),
      };
      for (const key of Object.keys(flags) as (keyof MasterFlags)[]) {
        if (flags[key] === undefined) delete flags[key];
      }
      ctx.exitCode = await startMaster(ctx, flags, options.saveToken, options.json === true);
    });

  master
    .command('list')
    .description(
      'List the masters alive on the registry (several on one PostgreSQL): where each listens, the agents ' +
        'whose stream it holds, and which one runs the periodic work (schedules, the lease sweep)',
    )
    .option('--json', 'print the masters as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const api = await ctx.client(command);
      const masters = await api.listMasters();
      if (options.json) return ctx.printData(masters);
      ctx.out(
        renderTable(
          [
            { header: 'MASTER' },
            { header: 'API' },
            { header: 'AGENTS' },
            { header: 'SEEN' },
            { header: 'PERIODIC' },
          ],
          masters.map((item) => [
            item.id,
            item.httpUrl ?? '-',
            String(item.agents),
            item.seenAt.slice(11, 19),
            item.periodic ? 'yes' : '',
          ]),
        ),
      );
    });
}

async function startMaster(
  ctx: CliContext,
  flags: MasterFlags,
  saveToken: boolean,
  json: boolean,
): Promise<number> {
  let dataDir: string;
  try {
    // Validated here first so that a bad flag or variable fails before NestJS loads.
    dataDir = loadMasterConfig(flags, { ...ctx.env }).dataDir;
  } catch (error) {
    throw configError(error) ?? error;
  }

  ctx.err(`Starting the Berth master (data in ${dataDir}) ...`);
  const { startMaster: start } = await (ctx.io.modules?.master ?? loadMaster)();
  let running;
  try {
    running = await start(flags);
  } catch (error) {
    throw configError(error) ?? error;
  }

  if (json) {
    const saved =
      running.adminToken && saveToken
        ? await writeCredentials(ctx.env, { url: running.httpUrl, token: running.adminToken })
        : null;
    ctx.printData({
      api: running.httpUrl,
      grpcPort: running.grpcPort,
      database: running.database,
      dataDir,
      adminToken: running.adminToken ?? null,
      credentialsFile: saved,
    });
  } else {
    ctx.out(`Berth master is running`);
    ctx.out(`  API        ${running.httpUrl}`);
    ctx.out(`  agents     gRPC on port ${running.grpcPort}`);
    ctx.out(
      `  database   ${running.database === 'pglite' ? `embedded PostgreSQL (PGlite) in ${dataDir}` : 'PostgreSQL (DATABASE_URL)'}`,
    );
    if (running.adminToken) await announceAdminToken(ctx, running.httpUrl, running.adminToken, saveToken);
    ctx.out('');
    ctx.out('Press Ctrl-C to stop.');
  }
  // Until Ctrl-C, or until the master stops by itself (another process took its BERTH_MASTER_ID).
  const endedBy = await Promise.race([
    ctx.interrupt.aborted ? Promise.resolve(undefined) : once(ctx.interrupt, 'abort').then(() => undefined),
    running.ended,
  ]);
  if (endedBy !== undefined) {
    throw new CliError(`the master stopped: ${endedBy}`, ExitCode.Failed);
  }
  ctx.err('Stopping the master ...');
  await running.stop();
  ctx.err('Master stopped.');
  return ExitCode.Ok;
}

async function announceAdminToken(ctx: CliContext, url: string, token: string, save: boolean): Promise<void> {
  const rule = '='.repeat(72);
  ctx.out('');
  ctx.out(rule);
  ctx.out('  FIRST START: this is the admin token. It is shown ONCE; keep it safe.');
  ctx.out('');
  ctx.out(`  ${token}`);
  ctx.out('');
  if (save) {
    const previous = await readCredentials(ctx.env).catch(() => null);
    const path = await writeCredentials(ctx.env, { url, token });
    ctx.out(`  Saved with the API URL to ${path} (mode 0600):`);
    ctx.out('  berth commands on this machine use it without --token.');
    if (previous?.url && previous.url !== url) {
      ctx.out(`  (It replaces the saved credentials for ${previous.url}.)`);
    }
  } else {
    ctx.out(`  Not saved (--no-save-token). Give it to the CLI with BERTH_TOKEN or --token,`);
    ctx.out(`  or save it yourself in ${credentialsPath(ctx.env)} as {"url": "...", "token": "..."}.`);
  }
  ctx.out(rule);
}

/** Errors the operator fixes with a flag or a variable: message and exit 2. */
function configError(error: unknown): CliError | undefined {
  if (error instanceof ConfigError || (error instanceof Error && error.name === 'ConfigError')) {
    return new CliError(error.message, ExitCode.Usage);
  }
  if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    return new CliError(error.message, ExitCode.Usage, {
      details: ['Another process listens there: stop it, or choose other ports with --port and --grpc-port.'],
    });
  }
  return undefined;
}
