import { once } from 'node:events';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { positiveInteger } from '../parsers.js';
import { readSecretFile } from '../secret-file.js';
import { type AgentStartOptions as AgentModuleOptions, loadAgent } from '../runtime-modules.js';

/** Where the agent finds platforms, sites and its services; each falls back to a BERTH_AGENT_* variable. */
interface AgentHostFlags {
  root?: string;
  nginxConf?: string;
  phpFpmSocket?: string;
  phpFpmConf?: string;
  httpPort?: string;
  httpsPort?: string;
  dbAdminDefaults?: string;
  webUser?: string;
  address?: string;
  roles?: string;
}

interface AgentStartOptions extends AgentHostFlags {
  master: string;
  tokenFile?: string;
  name?: string;
  dataDir?: string;
  debugSteps?: boolean;
  slots?: number;
  timeZone?: string;
  json?: boolean;
}

export function registerAgentCommands(program: Command, ctx: CliContext): void {
  const agent = program.command('agent').description('The agent that runs steps on a server for the master');

  agent
    .command('start')
    .description('Run the agent in the foreground until Ctrl-C or SIGTERM, enrolling it on first start')
    .requiredOption(
      '--master <host:port,...>',
      "the master's agent (gRPC) address, e.g. master.example.com:7601; several masters separated by " +
        'commas (m1:7601,m2:7601): the agent keeps one stream and moves to the next master when it loses it',
    )
    // Declared for --help; commander hands the value to the global --token, which is read below.
    .option(
      '--token <token>',
      'the one-time enrollment token from `berth server add` (visible in ps: prefer the two below)',
    )
    .option('--token-file <file>', 'read the enrollment token from this file')
    .option('--name <name>', 'the server name registered on the master (default: this host name)')
    .option('--data-dir <dir>', 'where the agent keeps its key and certificates (default: ~/.berth/agent)')
    .option('--debug-steps', 'offer the debug.* steps (tests and benchmarks only)')
    .option('--slots <n>', 'how many steps the master may run here at once (default: 1)', positiveInteger)
    .option(
      '--time-zone <zone>',
      "the server's IANA time zone, as its sites' backup windows are read (default: this host's)",
    )
    .option('--root <dir>', 'where platforms, sites and their config live (default: /var/berth)')
    .option(
      '--nginx-conf <file>',
      'the nginx configuration tested and reloaded (default: /etc/nginx/nginx.conf)',
    )
    .option(
      '--php-fpm-socket <path>',
      'the PHP-FPM socket of the vhosts (default: the newest /run/php/php*-fpm.sock)',
    )
    .option(
      '--php-fpm-conf <file>',
      "the PHP-FPM main configuration tested and reloaded for the sites' own pools; it must include " +
        '<root>/config/php-fpm/*.conf (default: the newest /etc/php/X.Y/fpm/php-fpm.conf)',
    )
    .option(
      '--http-port <port>',
      'the port vhosts listen on and probes use, or ADDRESS:PORT for one address (default: 80)',
    )
    .option(
      '--https-port <port>',
      "the port sites' HTTPS listens on, or ADDRESS:PORT (default: 443, on --http-port's address when it has one)",
    )
    .option(
      '--db-admin-defaults <file>',
      'a 0600 my.cnf with a [client] section for the MariaDB admin connection (default: the local socket as root)',
    )
    .option(
      '--web-user <user>',
      'the user PHP runs as, owner of files/ and private/ (default: www-data if it exists)',
    )
    .option(
      '--address <ip>',
      "the address other servers reach this one at: database grants and sites' db host (default: the first non-loopback IPv4)",
    )
    .option(
      '--roles <roles>',
      'what this server offers to sites: http, db or http,db (default: what its running services give)',
    )
    .option('--json', 'once it runs, print { serverName, serverId } as JSON')
    .addHelpText(
      'after',
      [
        '',
        'The enrollment token is only needed the first time; after that the agent authenticates with the',
        'certificate in its data directory. To keep the token out of `ps` and shell history, pass it in the',
        'BERTH_AGENT_TOKEN environment variable or with --token-file. Order: --token, --token-file,',
        'BERTH_AGENT_TOKEN.',
        '',
        'Each of --root, --nginx-conf, --php-fpm-socket, --http-port, --https-port, --db-admin-defaults and',
        '--web-user can also be given in the environment: BERTH_AGENT_ROOT, BERTH_AGENT_NGINX_CONF,',
        'BERTH_AGENT_PHP_FPM_SOCKET, BERTH_AGENT_HTTP_PORT, BERTH_AGENT_HTTPS_PORT, BERTH_AGENT_DB_ADMIN_DEFAULTS,',
        'BERTH_AGENT_WEB_USER',
        '(a flag wins over its variable). Site layout under the root: platforms/<platform>, sites/<domain>,',
        'config/nginx/<domain>.conf (include it from nginx), config/sites/<domain>/ (database credentials).',
        "--php-fpm-conf is BERTH_AGENT_PHP_FPM_CONF; the sites' own pools are config/php-fpm/<domain>.conf",
        '(include=<root>/config/php-fpm/*.conf in PHP-FPM: ops/web-services.sh adds it).',
      ].join('\n'),
    )
    .action(async (options: AgentStartOptions, command: Command) => {
      const token = await enrollmentToken(
        ctx,
        command.optsWithGlobals<{ token?: string }>().token,
        options.tokenFile,
      );
      const dataDir = options.dataDir ?? defaultDataDir(ctx.env.HOME);
      ctx.err(`Starting the Berth agent (data in ${dataDir}), master ${options.master} ...`);
      const { startAgent } = await (ctx.io.modules?.agent ?? loadAgent)();
      // The host flags are passed only when given, so that the agent's loader can fall back to its
      // BERTH_AGENT_* variables.
      const hostFlags: AgentHostFlags = Object.fromEntries(
        (
          [
            'root',
            'nginxConf',
            'phpFpmSocket',
            'phpFpmConf',
            'httpPort',
            'httpsPort',
            'dbAdminDefaults',
            'webUser',
            'address',
            'roles',
          ] as const
        )
          .filter((key) => options[key] !== undefined)
          .map((key) => [key, options[key]]),
      );
      const startOptions: AgentModuleOptions & AgentHostFlags = {
        master: options.master,
        token,
        name: options.name,
        dataDir,
        debugSteps: options.debugSteps,
        slots: options.slots,
        timeZone: options.timeZone,
        ...hostFlags,
      };
      let running;
      try {
        running = await startAgent(startOptions);
      } catch (error) {
        throw agentError(error) ?? error;
      }
      if (options.json) {
        ctx.printData({ serverName: running.serverName, serverId: running.serverId });
      } else {
        ctx.out(`Berth agent is running for server ${running.serverName} (${running.serverId}).`);
        ctx.out('Press Ctrl-C to stop.');
      }
      if (!ctx.interrupt.aborted) await once(ctx.interrupt, 'abort');
      ctx.err('Stopping the agent ...');
      await running.stop();
      ctx.err('Agent stopped.');
    });
}

async function enrollmentToken(
  ctx: CliContext,
  flag: string | undefined,
  file: string | undefined,
): Promise<string | undefined> {
  if (flag) return flag;
  if (file) return readSecretFile(file, 'token');
  return ctx.env.BERTH_AGENT_TOKEN?.trim() || undefined;
}

function defaultDataDir(home: string | undefined): string {
  return home ? join(home, '.berth', 'agent') : '/var/lib/berth/agent';
}

/**
 * The agent's start errors (AgentError: bad options, token refused, no identity) are for the
 * operator: message and exit 2, or 3 when the master could not be reached.
 */
function agentError(error: unknown): CliError | undefined {
  if (!(error instanceof Error) || error.name !== 'AgentError') return undefined;
  const code = (error as Error & { code?: unknown }).code;
  const exitCode = code === 'MASTER_UNREACHABLE' ? ExitCode.Unreachable : ExitCode.Usage;
  return new CliError(error.message, exitCode, { code: typeof code === 'string' ? code : undefined });
}
